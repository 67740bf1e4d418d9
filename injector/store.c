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

/* Copy the ELF beside the logs under a temporary name, then rename it into place (a QEMU
 * still running from an earlier copy keeps its file). */
static int copy_kernel(struct store *st, const char *kernel, char *err, size_t errlen)
{
	char tmp[3200], buf[65536];
	int in, out, ok = 1;
	ssize_t n;

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
	while (ok && (n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0 && write(out, buf, (size_t)n) == n;
	}
	close(in);
	if (close(out) < 0 || !ok || rename(tmp, st->kernel) < 0) {
		snprintf(err, errlen, "copying %s to %s: %s", kernel, st->kernel, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int store_open(struct store *st, const char *db_path, const char *kernel, const char *src_root,
	       char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if ((size_t)snprintf(st->path, sizeof st->path, "%s", db_path) >= sizeof st->path ||
	    (size_t)snprintf(st->logs, sizeof st->logs, "%s.logs", db_path) >= sizeof st->logs) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	if (mkdir(st->logs, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", st->logs, strerror(errno));
		return -1;
	}
	if (ft_db_open(db_path, &st->db, err, errlen) < 0)
		return -1;
	if (ft_db_add_kernel(st->db, kernel, src_root, &st->build, err, errlen) < 0 ||
	    copy_kernel(st, kernel, err, errlen) < 0) {
		ft_db_close(st->db);
		st->db = NULL;
		return -1;
	}
	return 0;
}

void store_close(struct store *st)
{
	if (st->db)
		ft_db_close(st->db);
	st->db = NULL;
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
	    put_name(buf, len, &pos, key->exec_mode) || put_raw(buf, len, &pos, ".") ||
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
