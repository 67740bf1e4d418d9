/*
 * qemu.h - find the QEMU binary, then start, stop and reap QEMU processes running a kernel
 * under test.
 *
 * The console is one end of a socketpair inherited by QEMU as `-chardev socket,fd=3`; the
 * other end stays with the host. Every other fd is closed in the child, and the child dies
 * with the host (PR_SET_PDEATHSIG), so no QEMU outlives the injector.
 *
 * Every QEMU runs confined: seccomp (`-sandbox on,elevateprivileges=deny,spawn=deny,
 * resourcecontrol=deny`) unless the caller turns it off, and rlimits set between fork and
 * exec: no core files, the address space QEMU needs and some room (QEMU_AS_MAX), CPU time
 * bounded by the run timeout (QEMU_CPU_*), and every file it writes (UART log, stderr) at
 * most file_max bytes; past that a write fails (SIGXFSZ is ignored) and the UART drops the
 * bytes, so a kernel that prints forever cannot fill the disk and its run is still judged.
 */
#ifndef FAULTLINE_INJECTOR_QEMU_H
#define FAULTLINE_INJECTOR_QEMU_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Address space of one QEMU with 128 MiB of guest RAM: VmPeak measured 1.43 GiB (1 GiB of
 * it the TCG code buffer); a machine with more RAM gets the difference on top. */
#define QEMU_AS_MAX (2ULL << 30)
/* CPU seconds of a QEMU that serves one run (fresh): the run's timeout twice, plus boot. */
#define QEMU_CPU_RUN_S(timeout_s) (2 * (timeout_s) + 30)
/* CPU seconds of a QEMU that serves run after run (reset, warm, `boot`): a lifetime bound. */
#define QEMU_CPU_MACHINE_S 3600
/* Default bound on each file QEMU writes: a reset-mode UART log gains ~40 bytes a boot. */
#define QEMU_FILE_MAX_DEFAULT (64LL << 20)

/* A byte that QEMU or its guest sent (untrusted), as a message may show it: itself when it is
 * printable ASCII, else '?'. */
static inline char qemu_shown_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x7f ? (char)c : '?';
}

/* The QEMU binary, resolved once: its absolute path and the first line of `-version`. */
struct qemu_bin {
	char path[PATH_MAX];
	char version[160];
};

/* QEMU's limits on what a kernel profile adds to the machine. */
#define QEMU_SLOTS 8
#define QEMU_DRIVES_MAX 8
#define QEMU_ARGS_MAX 32
#define QEMU_DEVICE_MAX 200

/*
 * The machine a kernel runs on (docs/profile.md, [qemu]): the values of -machine, -m, -smp,
 * -bios; the virtio-mmio slots from slot 0 ("console" = the injector's console, "none" = an
 * empty slot, else a -device value without bus=), the -drive values and extra arguments.
 */
struct qemu_machine {
	const char *machine, *memory, *smp, *bios;
	const char *slot[QEMU_SLOTS];
	const char *drive[QEMU_DRIVES_MAX];
	const char *arg[QEMU_ARGS_MAX];
	int nslots, ndrives, nargs;
};

/* The machine without a profile: virt, 128M, one hart, no firmware, the console in slot 0
 * and a 1 MiB null disk in slot 1. */
extern const struct qemu_machine qemu_default_machine;

struct qemu_cfg {
	const char *qemu;      /* absolute path (struct qemu_bin) */
	const char *kernel;    /* ELF passed to -kernel */
	const struct qemu_machine *machine;
	int reset_mode;        /* 1: guest reset restarts the machine (reset, warm); 0: -no-reboot */
	int icount;            /* 1: -icount shift=0,sleep=off (deterministic guest time) */
	int sandbox;           /* 1: -sandbox on,... (seccomp) */
	double timeout_s;      /* the per-run timeout, which bounds a one-run QEMU's CPU time */
	double boot_timeout_s; /* QEMU start (or reset) to hello */
	long long file_max;    /* RLIMIT_FSIZE: the largest UART log or stderr QEMU may write */
	int overlay_fd;        /* snapshot mode: the scratch qcow2 (qmp.h); 0 (stdin) for none */
};

/*
 * Find name (a path, or a command looked up on PATH) and ask it for `-version`, with the
 * sandbox option when sandbox is set, so a QEMU built without seccomp is named before any
 * machine starts. 0 and *out filled, or -1 with a one-line reason in err.
 */
int qemu_resolve(const char *name, int sandbox, struct qemu_bin *out, char *err,
		 size_t errlen);

struct qemu_proc {
	pid_t pid;   /* 0 when no process */
	int fd;      /* host end of the console socketpair, nonblocking; -1 when closed */
	int pidfd;   /* readable once the process has exited; -1 if unavailable */
	int qmp;     /* host end of the monitor socketpair (snapshot mode); -1 when none */
};

/*
 * Start QEMU with its UART written to uart_log and its stderr to err_log (both truncated).
 * Returns 0 and fills *out, or -1 with a reason in err (nothing left running).
 */
int qemu_spawn(const struct qemu_cfg *cfg, const char *uart_log, const char *err_log,
	       struct qemu_proc *out, char *err, size_t errlen);

/*
 * Replace this process with QEMU, started exactly as qemu_spawn() starts it, the console on
 * console_fd (moved to fd 3) and the UART on the chardev `serial` ("stdio", "null",
 * "file:PATH"). For callers that drive the console themselves (`injector boot`), so there is
 * one way to start the machine. Returns only on failure: -1 with a reason in err.
 */
int qemu_exec(const struct qemu_cfg *cfg, const char *serial, int console_fd,
	      char *err, size_t errlen);

/* Write all of buf to the console (blocking briefly if the socket is full). 0 or -1. */
int qemu_send(struct qemu_proc *q, const char *buf, size_t len);

/* Close the host end of the console (the guest sees its host go away). */
void qemu_close_console(struct qemu_proc *q);

/* Non-blocking reap: 1 and *status if the process has exited, 0 if still running. */
int qemu_try_reap(struct qemu_proc *q, int *status);

/* SIGKILL the process and reap it; returns its wait status. Idempotent. */
int qemu_kill(struct qemu_proc *q);

#endif
