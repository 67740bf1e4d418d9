/*
 * qemu.c - the QEMU runner: argv array, socketpair console, fds closed on exec, death with
 * the parent, kill and reap. No shell anywhere.
 */
#define _GNU_SOURCE
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONSOLE_FD 3
#define ARGV_MAX 48

/* Fill argv (NULL-terminated); serial must hold "file:<uart_log>". Returns argc. */
static int build_argv(const struct qemu_cfg *cfg, const char *serial, const char **argv)
{
	int n = 0;

	argv[n++] = cfg->qemu;
	argv[n++] = "-machine";
	argv[n++] = "virt,memory-backend=ram0";
	/*
	 * Guest RAM on a memfd: shmem is not backed by transparent huge pages here, so the
	 * first touch of a page costs a 4 KiB clear instead of a 2 MiB one. A kernel that
	 * writes free-list links into every free block otherwise makes the host zero most of
	 * the 128 MiB on every boot (measured: ~20% of a fresh run's CPU).
	 */
	argv[n++] = "-object";
	argv[n++] = "memory-backend-memfd,id=ram0,size=128M";
	argv[n++] = "-bios";
	argv[n++] = "none";
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
	argv[n++] = "128M";
	argv[n++] = "-smp";
	argv[n++] = "1";
	if (cfg->icount) {
		argv[n++] = "-icount";
		argv[n++] = "shift=0,sleep=off";
	}
	argv[n++] = "-global";
	argv[n++] = "virtio-mmio.force-legacy=false";
	argv[n++] = "-device";
	argv[n++] = "virtio-serial-device";
	argv[n++] = "-chardev";
	argv[n++] = "socket,id=c0,fd=3";
	argv[n++] = "-device";
	argv[n++] = "virtserialport,chardev=c0";
	argv[n++] = "-drive";
	argv[n++] = "driver=null-co,size=1M,if=none,id=d0";
	argv[n++] = "-device";
	argv[n++] = "virtio-blk-device,drive=d0";
	argv[n++] = "-serial";
	argv[n++] = serial;
	argv[n++] = "-kernel";
	argv[n++] = cfg->kernel;
	argv[n] = NULL;
	return n;
}

/* In the child, between fork and exec: only async-signal-safe calls. Never returns. */
static void child_exec(const char **argv, int sock, int errfd, pid_t parent)
{
	sigset_t none;
	int devnull;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(errfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	if (sock == CONSOLE_FD) {
		if (fcntl(sock, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(sock, CONSOLE_FD) < 0) {
		_exit(127);
	}
	/* Everything above the console is closed, whatever the host forgot to mark CLOEXEC. */
	syscall(SYS_close_range, CONSOLE_FD + 1, ~0U, 0);
	execvp(argv[0], (char *const *)argv);
	{
		static const char msg[] = "faultline: cannot execute qemu\n";
		ssize_t r = write(2, msg, sizeof msg - 1);
		(void)r;
	}
	_exit(127);
}

int qemu_spawn(const struct qemu_cfg *cfg, const char *uart_log, const char *err_log,
	       struct qemu_proc *out, char *err, size_t errlen)
{
	const char *argv[ARGV_MAX];
	char serial[4200];
	int sv[2], errfd;
	pid_t parent = getpid(), pid;

	if ((size_t)snprintf(serial, sizeof serial, "file:%s", uart_log) >= sizeof serial) {
		snprintf(err, errlen, "uart log path too long");
		return -1;
	}
	build_argv(cfg, serial, argv);
	errfd = open(err_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (errfd < 0) {
		snprintf(err, errlen, "%s: %s", err_log, strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		close(errfd);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(errfd);
		return -1;
	}
	if (pid == 0)
		child_exec(argv, sv[1], errfd, parent);
	close(sv[1]);
	close(errfd);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(sv[0]);
		out->pid = pid;
		out->fd = -1;
		out->pidfd = -1;
		qemu_kill(out);
		return -1;
	}
	out->pid = pid;
	out->fd = sv[0];
	out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

int qemu_exec(const struct qemu_cfg *cfg, const char *serial, int console_fd,
	      char *err, size_t errlen)
{
	const char *argv[ARGV_MAX];

	build_argv(cfg, serial, argv);
	if (console_fd != CONSOLE_FD && dup2(console_fd, CONSOLE_FD) < 0) {
		snprintf(err, errlen, "console fd %d: %s", console_fd, strerror(errno));
		return -1;
	}
	if (fcntl(CONSOLE_FD, F_SETFD, 0) < 0) {
		snprintf(err, errlen, "console fd %d: %s", console_fd, strerror(errno));
		return -1;
	}
	syscall(SYS_close_range, CONSOLE_FD + 1, ~0U, 0);
	execvp(argv[0], (char *const *)argv);
	snprintf(err, errlen, "cannot execute %s: %s", argv[0], strerror(errno));
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
	q->pidfd = -1;
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
