/*
 * store.c - database and raw-log glue for the injector (see store.h).
 */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Write all n bytes of buf to fd; 0, or -1 with errno set (ENOSPC on a full disk). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy the file at fd in to fd out; 0, or -1 with errno set. */
static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

/* Copy the ELF beside the logs under a temporary name, then rename it into place (a QEMU
 * still running from an earlier copy keeps its file). */
static int copy_kernel(struct store *st, const char *kernel, char *err, size_t errlen)
{
	char tmp[3200];
	int in, out, e;

	snprintf(st->kernel, sizeof st->kernel, "%s/kernel.elf", st->logs);
	snprintf(tmp, sizeof tmp, "%s/kernel.elf.%d", st->logs, (int)getpid());
	in = open(kernel, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "%s: %s", kernel, strerror(errno));
		return -1;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(in);
		return -1;
	}
	e = copy_fd(in, out) < 0 ? errno : 0;
	close(in);
	if (close(out) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, st->kernel) < 0)
		e = errno;
	if (e) {
		snprintf(err, errlen, "copying %s to %s: %s", kernel, st->kernel, strerror(e));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Hold <logs>/lock for as long as the process lives (a POSIX record lock: the kernel drops
 * it when the process ends, even by SIGKILL, and a child never inherits it). Nothing else in
 * this process opens that file, so no close() can drop the lock early. */
static int lock_db(struct store *st, char *err, size_t errlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[3100];

	snprintf(path, sizeof path, "%s/lock", st->logs);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fcntl(st->lock_fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno != EACCES && errno != EAGAIN) {
		snprintf(err, errlen, "locking %s: %s", path, strerror(errno));
		return -1;
	}
	if (fcntl(st->lock_fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
		snprintf(err, errlen, "%s is in use by another injector (pid %ld); wait for it to "
			 "end or use another --db", st->path, (long)fl.l_pid);
	else
		snprintf(err, errlen, "%s is in use by another injector; wait for it to end or "
			 "use another --db", st->path);
	return -1;
}

int store_open(struct store *st, const char *db_path, const char *kernel, const char *src_root,
	       char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	st->lock_fd = -1;
	if ((size_t)snprintf(st->path, sizeof st->path, "%s", db_path) >= sizeof st->path ||
	    (size_t)snprintf(st->logs, sizeof st->logs, "%s.logs", db_path) >= sizeof st->logs) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	/* the database first: a file that is not ours is refused before anything is made */
	if (ft_db_open(db_path, &st->db, err, errlen) < 0)
		return -1;
	if (mkdir(st->logs, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", st->logs, strerror(errno));
		goto out_close;
	}
	if (lock_db(st, err, errlen) < 0 ||
	    ft_db_add_kernel(st->db, kernel, src_root, &st->build, err, errlen) < 0 ||
	    copy_kernel(st, kernel, err, errlen) < 0)
		goto out_close;
	return 0;

out_close:
	store_close(st);
	return -1;
}

void store_close(struct store *st)
{
	if (st->db)
		ft_db_close(st->db);
	st->db = NULL;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
}

/* Append s to buf at *pos with unsafe characters replaced; -1 if it does not fit. */
static int put_name(char *buf, size_t len, size_t *pos, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (*pos + 1 >= len)
			return -1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			c = '_';
		buf[(*pos)++] = c;
	}
	buf[*pos] = 0;
	return 0;
}

static int put_raw(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n + 1 > len)
		return -1;
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
	return 0;
}

int store_run_log(const struct store *st, const struct ft_run_key *key, const char *ext,
		  char *buf, size_t len)
{
	char num[32];
	size_t pos = 0;

	buf[0] = 0;
	snprintf(num, sizeof num, ".%ld.", key->n);
	if (put_raw(buf, len, &pos, st->logs) || put_raw(buf, len, &pos, "/") ||
	    put_name(buf, len, &pos, key->scenario) || put_raw(buf, len, &pos, ".") ||
	    put_name(buf, len, &pos, key->exec_mode) ||
	    put_raw(buf, len, &pos, key->guard ? ".guard." : ".") ||
	    put_name(buf, len, &pos, key->fault_mode))
		return -1;
	if (key->class_filter[0] &&
	    (put_raw(buf, len, &pos, ".") || put_name(buf, len, &pos, key->class_filter)))
		return -1;
	if (key->site[0] && (put_raw(buf, len, &pos, ".") || put_name(buf, len, &pos, key->site)))
		return -1;
	if (put_raw(buf, len, &pos, num) || put_name(buf, len, &pos, ext))
		return -1;
	return 0;
}

void store_describe_pc(const struct store *st, uint64_t pc, const char *func, char *buf,
		       size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *q = NULL;
	int found = 0;

	if (sqlite3_open_v2(st->path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT func, file, line FROM frames WHERE build = ? AND pc = ?",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, st->build);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)pc);
		if (sqlite3_step(q) == SQLITE_ROW) {
			const char *f = (const char *)sqlite3_column_text(q, 0);
			const char *file = (const char *)sqlite3_column_text(q, 1);
			int line = sqlite3_column_int(q, 2);

			if (!f || !*f)
				f = func && *func ? func : "?";
			if (file && *file)
				snprintf(buf, len, "%s (%s:%d) pc %llx", f, file, line,
					 (unsigned long long)pc);
			else
				snprintf(buf, len, "%s pc %llx", f, (unsigned long long)pc);
			found = 1;
		}
	}
	sqlite3_finalize(q);
	sqlite3_close(h);
	if (!found) {
		if (func && *func)
			snprintf(buf, len, "%s pc %llx", func, (unsigned long long)pc);
		else
			snprintf(buf, len, "pc %llx", (unsigned long long)pc);
	}
}
