/*
 * count.c - asking the analysis library for the unique findings (see count.h).
 */
#define _GNU_SOURCE
#include "count.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESULT_PREFIX "result: "   /* the last line `analysis findings` prints */

/* The directory holding the analysis package: the checkout this injector was built in. */
static int analysis_root(char *root, size_t len, char *why, size_t whylen)
{
	char exe[PATH_MAX], main_py[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n < 0) {
		snprintf(why, whylen, "cannot find this injector's path: %s", strerror(errno));
		return -1;
	}
	exe[n] = 0;
	snprintf(root, len, "%s", dirname(dirname(exe)));
	snprintf(main_py, sizeof main_py, "%s/analysis/__main__.py", root);
	if (access(main_py, R_OK) < 0) {
		snprintf(why, whylen, "no analysis package beside this injector (%s)", main_py);
		return -1;
	}
	return 0;
}

static void exec_analysis(const char *python, const char *const *argv, const char *root,
			  int outfd)
{
	const char *old = getenv("PYTHONPATH");
	char path[2 * PATH_MAX];
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* the injector blocks and ignores signals the analysis must keep */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	snprintf(path, sizeof path, "%s%s%s", root, old && *old ? ":" : "", old ? old : "");
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 ||
	    setenv("PYTHONPATH", path, 1) < 0)
		_exit(127);
	syscall(SYS_close_range, 3, ~0U, 0);
	execv(python, (char *const *)argv);
	_exit(127);
}

/* Copy fd to out until EOF; keep the last line (cut to last_len - 1 bytes) in last. */
static void relay(int fd, FILE *out, char *last, size_t last_len)
{
	char buf[4096], line[512];
	size_t pos = 0;
	ssize_t n;

	last[0] = 0;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		fwrite(buf, 1, (size_t)n, out);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[pos] = 0;
				snprintf(last, last_len, "%s", line);
				pos = 0;
			} else if (pos < sizeof line - 1) {
				line[pos++] = buf[i];
			}
		}
	}
	fflush(out);
}

int count_findings(const struct count_args *a, FILE *out, char *why, size_t whylen)
{
	const char *python = getenv("FAULTLINE_PYTHON") ? getenv("FAULTLINE_PYTHON") :
			     "/usr/bin/python3";
	const char *argv[12];
	char root[PATH_MAX], last[512];
	int fds[2], status, k = 0;
	pid_t pid;

	if (analysis_root(root, sizeof root, why, whylen) < 0)
		return -1;
	argv[k++] = python;
	argv[k++] = "-m";
	argv[k++] = "analysis";
	argv[k++] = "findings";
	argv[k++] = "--db";
	argv[k++] = a->db;
	if (a->suppressions) {
		argv[k++] = "--suppressions";
		argv[k++] = a->suppressions;
	}
	if (a->profile) {
		argv[k++] = "--profile";
		argv[k++] = a->profile;
	}
	argv[k] = NULL;
	fflush(out);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		exec_analysis(python, argv, root, fds[1]);
	close(fds[1]);
	relay(fds[0], out, last, sizeof last);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !last[0]) {
		snprintf(why, whylen, "cannot run %s", python);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1 ||
	    strncmp(last, RESULT_PREFIX, strlen(RESULT_PREFIX))) {
		snprintf(why, whylen, "%s -m analysis findings gave no result (%s %d)", python,
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}
