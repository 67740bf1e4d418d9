/*
 * qemu.h - start, stop and reap one QEMU process running a kernel under test.
 *
 * The console is one end of a socketpair inherited by QEMU as `-chardev socket,fd=3`; the
 * other end stays with the host. Every other fd is closed in the child, and the child dies
 * with the host (PR_SET_PDEATHSIG), so no QEMU outlives the injector.
 */
#ifndef FAULTLINE_INJECTOR_QEMU_H
#define FAULTLINE_INJECTOR_QEMU_H

#include <stddef.h>
#include <sys/types.h>

struct qemu_cfg {
	const char *qemu;      /* binary, looked up on PATH */
	const char *kernel;    /* ELF passed to -kernel */
	int reset_mode;        /* 1: guest reset restarts the machine (reset, warm); 0: -no-reboot */
	int icount;            /* 1: -icount shift=0,sleep=off (deterministic guest time) */
};

struct qemu_proc {
	pid_t pid;   /* 0 when no process */
	int fd;      /* host end of the console socketpair, nonblocking; -1 when closed */
	int pidfd;   /* readable once the process has exited; -1 if unavailable */
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
