/*
 * qemu.c - the QEMU runner: the binary found once, argv array, socketpair console, fds closed
 * on exec, seccomp and rlimits, death with the parent, kill and reap. No shell anywhere.
 */
#define _GNU_SOURCE
#include "qemu.h"
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONSOLE_FD 3
#define STR2(x) #x
#define STR(x) STR2(x)
/* the fixed arguments (6 of them snapshot mode's), 6 for each slot and 2 for each drive, the extra ones */
#define ARGV_MAX (46 + 6 * QEMU_SLOTS + 2 * QEMU_DRIVES_MAX + QEMU_ARGS_MAX)
#define SANDBOX "on,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
#define PROBE_TIMEOUT_MS 10000
#define PROBE_OUT_MAX 4096

/* The rlimits of one QEMU, worked out before fork (see qemu.h). */
struct bounds {
	struct rlimit core, as, cpu, fsize;
};

/* QEMU's command line: the argv array and the strings it points to that are built. */
struct qemu_argv {
	const char *argv[ARGV_MAX];
	char device[QEMU_SLOTS][QEMU_DEVICE_MAX + 64];
};

/*
 * The machine's virtio slots from slot 0, each device on the bus of its slot: the console
 * (a virtio-serial device whose port is the socketpair on fd 3) where the profile puts it.
 */
static int add_slots(const struct qemu_machine *m, struct qemu_argv *a, int n)
{
	for (int i = 0; i < m->nslots; i++) {
		bool console = !strcmp(m->slot[i], "console");

		if (!strcmp(m->slot[i], "none"))
			continue;
		snprintf(a->device[i], sizeof a->device[i], "%s,bus=virtio-mmio-bus.%d",
			 console ? "virtio-serial-device" : m->slot[i], i);
		a->argv[n++] = "-device";
		a->argv[n++] = a->device[i];
		if (console) {
			a->argv[n++] = "-chardev";
			a->argv[n++] = "socket,id=c0,fd=3";
			a->argv[n++] = "-device";
			a->argv[n++] = "virtserialport,chardev=c0";
		}
	}
	return n;
}

/* Snapshot mode: the monitor on its socketpair and the scratch overlay (qmp.h). */
static int add_monitor(struct qemu_argv *a, int n)
{
	a->argv[n++] = "-chardev";
	a->argv[n++] = "socket,id=qmp,fd=" STR(QMP_FD);
	a->argv[n++] = "-mon";
	a->argv[n++] = "chardev=qmp,mode=control";
	a->argv[n++] = "-blockdev";
	a->argv[n++] = "driver=qcow2,node-name=" QMP_NODE ",file.driver=file,"
		       "file.filename=/proc/self/fd/" STR(QMP_OVERLAY_FD);
	return n;
}

/* Fill a->argv (NULL-terminated); serial must hold "file:<uart_log>". Returns argc. */
static int build_argv(const struct qemu_cfg *cfg, const char *serial, struct qemu_argv *a)
{
	const struct qemu_machine *m = cfg->machine ? cfg->machine : &qemu_default_machine;
	const char **argv = a->argv;
	int n = 0;

	argv[n++] = cfg->qemu;
	if (cfg->sandbox) {
		argv[n++] = "-sandbox";
		argv[n++] = SANDBOX;
	}
	argv[n++] = "-machine";
	argv[n++] = m->machine;
	argv[n++] = "-bios";
	argv[n++] = m->bios;
	argv[n++] = "-nodefaults";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-monitor";
	argv[n++] = "none";
	argv[n++] = "-nic";
	argv[n++] = "none";
	if (!cfg->reset_mode)
		argv[n++] = "-no-reboot";
	argv[n++] = "-m";
	argv[n++] = m->memory;
	argv[n++] = "-smp";
	argv[n++] = m->smp;
	if (cfg->icount) {
		argv[n++] = "-icount";
		argv[n++] = "shift=0,sleep=off";
	}
	argv[n++] = "-global";
	argv[n++] = "virtio-mmio.force-legacy=false";
	for (int i = 0; i < m->ndrives; i++) {
		argv[n++] = "-drive";
		argv[n++] = m->drive[i];
	}
	n = add_slots(m, a, n);
	for (int i = 0; i < m->nargs; i++)
		argv[n++] = m->arg[i];
	if (cfg->overlay_fd > 0)
		n = add_monitor(a, n);
	argv[n++] = "-serial";
	argv[n++] = serial;
	argv[n++] = "-kernel";
	argv[n++] = cfg->kernel;
	argv[n] = NULL;
	return n;
}

/* want, or the most this process may grant when its own hard limit is lower */
static struct rlimit clamp(int resource, rlim_t want, rlim_t hard_want)
{
	struct rlimit have, r = { want, hard_want };

	if (getrlimit(resource, &have) == 0 && have.rlim_max != RLIM_INFINITY) {
		if (r.rlim_max > have.rlim_max)
			r.rlim_max = have.rlim_max;
		if (r.rlim_cur > r.rlim_max)
			r.rlim_cur = r.rlim_max;
	}
	return r;
}

/* Guest RAM in bytes: memory is a number with the suffix M or G (profile.c checks it). */
static rlim_t guest_ram(const char *memory)
{
	char *end;
	rlim_t n = strtoull(memory, &end, 10);

	return n << (*end == 'G' ? 30 : 20);
}

static void bounds_of(const struct qemu_cfg *cfg, struct bounds *b)
{
	const struct qemu_machine *m = cfg->machine ? cfg->machine : &qemu_default_machine;
	rlim_t ram = guest_ram(m->memory), as = QEMU_AS_MAX;
	double cpu = QEMU_CPU_RUN_S(cfg->timeout_s);
	rlim_t cpu_s;

	if (ram > (128 << 20))
		as += ram - (128 << 20);

	if (cfg->reset_mode && cpu < QEMU_CPU_MACHINE_S)
		cpu = QEMU_CPU_MACHINE_S;
	cpu_s = (rlim_t)cpu;
	cpu_s += (double)cpu_s < cpu;           /* whole seconds, rounded up */
	b->core = clamp(RLIMIT_CORE, 0, 0);
	b->as = clamp(RLIMIT_AS, as, as);
	/* SIGXCPU at the bound, SIGKILL a second later should QEMU ignore it */
	b->cpu = clamp(RLIMIT_CPU, cpu_s, cpu_s + 1);
	b->fsize = clamp(RLIMIT_FSIZE, (rlim_t)cfg->file_max, (rlim_t)cfg->file_max);
}

/*
 * Put this process under b and replace it with argv, every fd above keep_fd closed.
 * Async-signal-safe (it runs between fork and exec); returns only on failure.
 */
static void exec_confined(const char **argv, const struct bounds *b, int keep_fd)
{
	if (b) {
		if (setrlimit(RLIMIT_CORE, &b->core) < 0 || setrlimit(RLIMIT_AS, &b->as) < 0 ||
		    setrlimit(RLIMIT_CPU, &b->cpu) < 0 || setrlimit(RLIMIT_FSIZE, &b->fsize) < 0)
			return;
		/* past the file bound a write fails instead of killing QEMU: the UART drops it */
		signal(SIGXFSZ, SIG_IGN);
		/*
		 * Guest RAM in 4 KiB pages: with transparent huge pages the first touch of a
		 * page clears 2 MiB, and a kernel that writes free-list links into every free
		 * block makes the host zero most of the 128 MiB on every boot.
		 */
		if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
			return;
	}
	/* Everything above the last fd QEMU needs is closed, whatever the host forgot to
	 * mark CLOEXEC. */
	syscall(SYS_close_range, keep_fd + 1, ~0U, 0);
	execv(argv[0], (char *const *)argv);
}

/*
 * Move fds[i] to fd CONSOLE_FD + i, inherited by the exec, whatever numbers they had
 * (through copies above them, which exec_confined closes). Async-signal-safe.
 */
static int place_fds(const int *fds, int nfds)
{
	int high[3];

	for (int i = 0; i < nfds; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD, CONSOLE_FD + nfds)) < 0)
			return -1;
	for (int i = 0; i < nfds; i++)
		if (dup2(high[i], CONSOLE_FD + i) < 0)
			return -1;
	return 0;
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. stdout and stderr go
 * to out_fd, the console, monitor and overlay (fds, at most 3) to fd 3, 4, 5. Never returns.
 */
static void child_exec(const char **argv, const struct bounds *b, const int *fds, int nfds,
		       int out_fd, pid_t parent)
{
	static const char msg[] = "faultline: cannot execute qemu\n";
	sigset_t none;
	int devnull;
	ssize_t r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	if (place_fds(fds, nfds) < 0)
		_exit(127);
	exec_confined(argv, b, nfds ? CONSOLE_FD + nfds - 1 : 2);
	r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(127);
}

/* Fork a child that becomes argv (see child_exec): its pid, or -1 with a reason in err. */
static pid_t spawn(const char **argv, const struct bounds *b, const int *fds, int nfds,
		   int out_fd, char *err, size_t errlen)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		child_exec(argv, b, fds, nfds, out_fd, parent);
	if (pid < 0)
		snprintf(err, errlen, "fork: %s", strerror(errno));
	return pid;
}

/* An executable regular file at path: 0, or -1 with errno set. */
static int executable(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return -1;
	if (!S_ISREG(sb.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return access(path, X_OK);
}

/* name as an absolute path: itself if it holds a '/', else the first match on PATH. */
static int find_binary(const char *name, char *out, char *err, size_t errlen)
{
	const char *dirs = getenv("PATH");
	char cand[PATH_MAX];

	if (strchr(name, '/')) {
		if (executable(name) < 0 || !realpath(name, out)) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!dirs || !*dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		int w = snprintf(cand, sizeof cand, "%.*s/%s", (int)(n ? n : 1), n ? dirs : ".",
				 name);

		if (w > 0 && (size_t)w < sizeof cand && executable(cand) == 0 &&
		    realpath(cand, out))
			return 0;
		dirs += n + (dirs[n] == ':');
	}
	snprintf(err, errlen, "%s: not found on PATH (Debian: apt-get install qemu-system-misc; "
		 "or name it with --qemu or FAULTLINE_QEMU)", name);
	return -1;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Read fd into buf until EOF (returns 1), or a full buffer or PROBE_TIMEOUT_MS (0). */
static int read_to_eof(int fd, char *buf, size_t cap, size_t *len)
{
	double deadline = now_ms() + PROBE_TIMEOUT_MS;

	*len = 0;
	while (*len < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left + 1) == 0)
			return 0;
		r = read(fd, buf + *len, cap - *len);
		if (r == 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0)
			*len += (size_t)r;
	}
	return 0;
}

/* The first line of s, control characters shown as '?', in out. */
static void first_line_of(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; s[n] && s[n] != '\n' && n + 1 < outlen; n++)
		out[n] = qemu_shown_byte((unsigned char)s[n]);
	out[n] = 0;
}

/* Run `path [-sandbox ...] -version`; its first line in line. 0, or -1 with a reason. */
static int probe(const char *path, int sandbox, char *line, size_t linelen, char *err,
		 size_t errlen)
{
	const char *argv[] = { path, "-sandbox", SANDBOX, "-version", NULL };
	const char *plain[] = { path, "-version", NULL };
	char out[PROBE_OUT_MAX + 1];
	pid_t pid;
	int p[2], st = -1, eof;
	size_t len;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = spawn(sandbox ? argv : plain, NULL, NULL, 0, p[1], err, errlen);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	eof = read_to_eof(p[0], out, PROBE_OUT_MAX, &len);
	close(p[0]);
	if (!eof)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[len] = 0;
	first_line_of(out, line, linelen);
	if (eof && WIFEXITED(st) && WEXITSTATUS(st) == 0 && line[0])
		return 0;
	if (!line[0])
		snprintf(line, linelen, "%s", eof ? "no output" : "no answer");
	if (sandbox)
		snprintf(err, errlen, "%s cannot run sandboxed: %s (--no-sandbox runs QEMU "
			 "without its seccomp sandbox)", path, line);
	else
		snprintf(err, errlen, "%s -version failed: %s", path, line);
	return -1;
}

int qemu_resolve(const char *name, int sandbox, struct qemu_bin *out, char *err,
		 size_t errlen)
{
	if (find_binary(name, out->path, err, errlen) < 0)
		return -1;
	return probe(out->path, sandbox, out->version, sizeof out->version, err, errlen);
}

int qemu_spawn(const struct qemu_cfg *cfg, const char *uart_log, const char *err_log,
	       struct qemu_proc *out, char *err, size_t errlen)
{
	struct qemu_argv a;
	struct bounds b;
	char serial[4200];
	/* [0] the console, [1] the monitor, [2] the overlay (snapshot mode) */
	int host[3] = { -1, -1, -1 }, guest[3] = { -1, -1, cfg->overlay_fd }, errfd;
	int npairs = cfg->overlay_fd > 0 ? 2 : 1, nfds = cfg->overlay_fd > 0 ? 3 : 1;
	pid_t pid = -1;

	*out = (struct qemu_proc){ .fd = -1, .qmp = -1, .pidfd = -1 };
	if ((size_t)snprintf(serial, sizeof serial, "file:%s", uart_log) >= sizeof serial) {
		snprintf(err, errlen, "uart log path too long");
		return -1;
	}
	build_argv(cfg, serial, &a);
	bounds_of(cfg, &b);
	errfd = open(err_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (errfd < 0) {
		snprintf(err, errlen, "%s: %s", err_log, strerror(errno));
		return -1;
	}
	for (int i = 0; i < npairs; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			snprintf(err, errlen, "socketpair: %s", strerror(errno));
			break;
		}
		host[i] = sv[0];
		guest[i] = sv[1];
	}
	if (guest[npairs - 1] >= 0)
		pid = spawn(a.argv, &b, guest, nfds, errfd, err, errlen);
	for (int i = 0; i < npairs; i++)
		if (guest[i] >= 0)
			close(guest[i]);
	close(errfd);
	*out = (struct qemu_proc){ .pid = pid > 0 ? pid : 0, .fd = host[0], .qmp = host[1],
				   .pidfd = -1 };
	if (pid < 0) {
		qemu_kill(out);
		return -1;
	}
	if (fcntl(host[0], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		qemu_kill(out);
		return -1;
	}
	out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

int qemu_exec(const struct qemu_cfg *cfg, const char *serial, int console_fd,
	      char *err, size_t errlen)
{
	struct qemu_argv a;
	struct bounds b;

	build_argv(cfg, serial, &a);
	bounds_of(cfg, &b);
	if (console_fd != CONSOLE_FD && dup2(console_fd, CONSOLE_FD) < 0) {
		snprintf(err, errlen, "console fd %d: %s", console_fd, strerror(errno));
		return -1;
	}
	if (fcntl(CONSOLE_FD, F_SETFD, 0) < 0) {
		snprintf(err, errlen, "console fd %d: %s", console_fd, strerror(errno));
		return -1;
	}
	exec_confined(a.argv, &b, CONSOLE_FD);
	snprintf(err, errlen, "cannot start %s: %s", a.argv[0], strerror(errno));
	return -1;
}

int qemu_send(struct qemu_proc *q, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w;

		if (q->fd < 0)
			return -1;
		w = send(q->fd, buf, len, MSG_NOSIGNAL);
		if (w < 0) {
			struct pollfd p = { .fd = q->fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			/* The guest reads commands promptly; a full socket for a second is a dead one. */
			if (poll(&p, 1, 1000) <= 0)
				return -1;
			continue;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

void qemu_close_console(struct qemu_proc *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static void forget(struct qemu_proc *q)
{
	qemu_close_console(q);
	if (q->pidfd >= 0)
		close(q->pidfd);
	if (q->qmp >= 0)
		close(q->qmp);
	q->pidfd = -1;
	q->qmp = -1;
	q->pid = 0;
}

int qemu_try_reap(struct qemu_proc *q, int *status)
{
	pid_t r;

	if (q->pid <= 0)
		return 1;
	do
		r = waitpid(q->pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0)
		*status = -1;
	forget(q);
	return 1;
}

int qemu_kill(struct qemu_proc *q)
{
	int status = -1;
	pid_t r;

	if (q->pid <= 0) {
		forget(q);
		return -1;
	}
	kill(q->pid, SIGKILL);
	do
		r = waitpid(q->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		status = -1;
	forget(q);
	return status;
}
