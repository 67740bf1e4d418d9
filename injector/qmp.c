/*
 * qmp.c - QMP client for snapshot mode (see qmp.h): one line per message, parsed with
 * json-c; snapshot-save and snapshot-load run as QEMU jobs, awaited through their
 * JOB_STATUS_CHANGE events.
 */
#define _GNU_SOURCE
#include "qmp.h"
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "progress.h"

#define IMG_SIZE "1M"            /* the overlay's disk; the snapshot's RAM goes past it */
#define IMG_TIMEOUT_S 30.0
#define IMG_OUT_MAX 512

extern char **environ;

/* s (untrusted) as one printable line of at most len - 1 bytes in out. */
static void printable(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; s && s[n] && n + 1 < len; n++)
		out[n] = qemu_shown_byte((unsigned char)s[n]);
	out[n] = 0;
}

/* Wait until fd is readable or the deadline passes: 1 readable, 0 timed out, -1 error. */
static int wait_readable(int fd, double deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now_s();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left * 1e3) + 1);
		if (r > 0)
			return 1;
		if (r == 0)
			continue;
		if (errno != EINTR)
			return -1;
	}
}

/* Run qemu-img to make the memfd fd an empty qcow2 (the memfd is its fd 3). 0 or -1. */
static int qemu_img_create(int fd, char *err, size_t errlen)
{
	char *const argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "/proc/self/fd/3",
			       IMG_SIZE, NULL };
	posix_spawn_file_actions_t fa;
	char out[IMG_OUT_MAX + 1];
	size_t len = 0;
	int p[2], st = -1, rc;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 3);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawnp(&pid, "qemu-img", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		snprintf(err, errlen, "qemu-img: %s (Debian: apt-get install qemu-utils)",
			 strerror(rc));
		return -1;
	}
	for (double deadline = now_s() + IMG_TIMEOUT_S; len < IMG_OUT_MAX;) {
		ssize_t r;

		if (wait_readable(p[0], deadline) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		r = read(p[0], out + len, IMG_OUT_MAX - len);
		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		len += r > 0 ? (size_t)r : 0;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[len] = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	printable(out, out, sizeof out);
	snprintf(err, errlen, "qemu-img create failed: %s", out[0] ? out : "no output");
	return -1;
}

int qmp_overlay_create(char *err, size_t errlen)
{
	int fd = memfd_create("faultline-snapshot", MFD_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (qemu_img_create(fd, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_line(struct qmp *m, const char *cmd, char *err, size_t errlen)
{
	size_t n = strlen(cmd);
	ssize_t w = send(m->fd, cmd, n, MSG_NOSIGNAL);

	if (w == (ssize_t)n)
		return 0;
	snprintf(err, errlen, "QMP: cannot send: %s", w < 0 ? strerror(errno) : "short write");
	return -1;
}

/*
 * The next message from QEMU as a JSON object (the caller puts it), or NULL and err: no
 * line before the deadline, a line longer than QMP_LINE_MAX, EOF, or not a JSON object.
 */
static json_object *next_message(struct qmp *m, double deadline, char *err, size_t errlen)
{
	for (;;) {
		char *nl = memchr(m->buf, '\n', m->len);
		ssize_t r;
		int ready;

		if (nl) {
			size_t take = (size_t)(nl - m->buf) + 1;
			json_object *o;

			*nl = 0;
			o = json_tokener_parse(m->buf);
			memmove(m->buf, m->buf + take, m->len - take);
			m->len -= take;
			if (o && json_object_is_type(o, json_type_object))
				return o;
			json_object_put(o);
			snprintf(err, errlen, "QMP: a reply that is not a JSON object");
			return NULL;
		}
		if (m->len == sizeof m->buf) {
			snprintf(err, errlen, "QMP: a reply longer than %d bytes", QMP_LINE_MAX);
			return NULL;
		}
		ready = wait_readable(m->fd, deadline);
		if (ready <= 0) {
			snprintf(err, errlen, "QMP: %s", ready ? strerror(errno) : "no answer in time");
			return NULL;
		}
		r = read(m->fd, m->buf + m->len, sizeof m->buf - m->len);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
			snprintf(err, errlen, "QMP: %s", r ? strerror(errno) : "QEMU closed it");
			return NULL;
		}
		m->len += r > 0 ? (size_t)r : 0;
	}
}

/* o[key] if it is a string, else NULL. */
static const char *string_at(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Note o if it is a JOB_STATUS_CHANGE of the awaited job (it may come before the command's
 * own answer). */
static void note_job_event(struct qmp *m, json_object *o)
{
	const char *ev = string_at(o, "event"), *st, *id;
	json_object *data;

	if (!m->job || !ev || strcmp(ev, "JOB_STATUS_CHANGE") ||
	    !json_object_object_get_ex(o, "data", &data) ||
	    !json_object_is_type(data, json_type_object) ||
	    !(st = string_at(data, "status")) || !(id = string_at(data, "id")) ||
	    strcmp(id, m->job))
		return;
	m->job_aborted |= !strcmp(st, "aborting");
	m->job_concluded |= !strcmp(st, "concluded");
}

/* Send cmd and wait for its answer, noting events. 0 on `return`, else -1 and err. */
static int execute(struct qmp *m, const char *cmd, double deadline, char *err, size_t errlen)
{
	if (send_line(m, cmd, err, errlen) < 0)
		return -1;
	for (;;) {
		json_object *o = next_message(m, deadline, err, errlen), *e;
		int ok = 0, failed = 0;
		char desc[200];

		if (!o)
			return -1;
		ok = json_object_object_get_ex(o, "return", NULL);
		failed = json_object_object_get_ex(o, "error", &e);
		if (failed) {
			printable(json_object_is_type(e, json_type_object) ?
				  string_at(e, "desc") : NULL, desc, sizeof desc);
			snprintf(err, errlen, "QMP: %s", desc[0] ? desc : "error without a reason");
		}
		if (!ok && !failed)
			note_job_event(m, o);
		json_object_put(o);
		if (ok || failed)
			return ok ? 0 : -1;
	}
}

/*
 * Wait for the awaited job to conclude (its events may have come already). A job that
 * passed through `aborting` failed: its reason is in query-jobs. Either way it is dismissed.
 */
static int await_job(struct qmp *m, double deadline, char *err, size_t errlen)
{
	char cmd[160];

	while (!m->job_concluded) {
		json_object *o = next_message(m, deadline, err, errlen);

		if (!o)
			return -1;
		note_job_event(m, o);
		json_object_put(o);
	}
	if (m->job_aborted)
		snprintf(err, errlen, "QMP: job %s failed (see QEMU's query-jobs)", m->job);
	snprintf(cmd, sizeof cmd, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"%s\"}}\n",
		 m->job);
	if (execute(m, cmd, deadline, m->job_aborted ? NULL : err, m->job_aborted ? 0 : errlen) < 0 &&
	    !m->job_aborted)
		return -1;
	return m->job_aborted ? -1 : 0;
}

int qmp_start(struct qmp *m, double timeout_s, char *err, size_t errlen)
{
	double deadline = now_s() + timeout_s;
	json_object *greeting = next_message(m, deadline, err, errlen);
	int ok = greeting && json_object_object_get_ex(greeting, "QMP", NULL);

	json_object_put(greeting);
	if (greeting && !ok)
		snprintf(err, errlen, "QMP: no greeting");
	if (!ok)
		return -1;
	return execute(m, "{\"execute\":\"qmp_capabilities\"}\n", deadline, err, errlen);
}

/* snapshot-save or snapshot-load of tag, the overlay node holding RAM and its own disk. */
static int snapshot_job(struct qmp *m, const char *verb, const char *tag, double timeout_s,
			char *err, size_t errlen)
{
	double deadline = now_s() + timeout_s;
	char cmd[400];

	snprintf(cmd, sizeof cmd, "{\"execute\":\"snapshot-%s\",\"arguments\":{\"job-id\":\"%s\","
		 "\"tag\":\"%s\",\"vmstate\":\"" QMP_NODE "\",\"devices\":[\"" QMP_NODE "\"]}}\n",
		 verb, verb, tag);
	m->job = verb;
	m->job_aborted = m->job_concluded = 0;
	if (execute(m, cmd, deadline, err, errlen) < 0)
		return -1;
	return await_job(m, deadline, err, errlen);
}

int qmp_save(struct qmp *m, const char *tag, double timeout_s, char *err, size_t errlen)
{
	return snapshot_job(m, "save", tag, timeout_s, err, errlen);
}

int qmp_load(struct qmp *m, const char *tag, double timeout_s, char *err, size_t errlen)
{
	return snapshot_job(m, "load", tag, timeout_s, err, errlen);
}
