/*
 * cli.c - `tracer ingest` and `tracer check`: audit saved console logs (a UART capture from
 * a board, or the raw logs the injector keeps). A log may hold several runs, each starting
 * with a hello line; each run is checked and stored like a run the injector drove.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "store.h"
#include "tracer.h"
#include "util.h"

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, got;
	char *buf;

	if (!f)
		return -1;
	buf = ft_xrealloc(NULL, cap);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = ft_xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(buf);
		errno = e;
		return -1;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

/* Offset of the next line that starts with "hello " at or after from, or len. */
static size_t next_hello(const char *buf, size_t len, size_t from)
{
	size_t p = from;

	while (p < len) {
		if ((p == 0 || buf[p - 1] == '\n') && len - p >= 6 && memcmp(buf + p, "hello ", 6) == 0)
			return p;
		{
			const char *nl = memchr(buf + p, '\n', len - p);

			if (!nl)
				return len;
			p = (size_t)(nl - buf) + 1;
		}
	}
	return len;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

struct tally {
	int runs, infra, bugs;
};

static int audit_log(struct ft_db *db, int64_t build, const struct ft_cli_opts *o,
		     const char *path, struct tally *t)
{
	char *buf, site[512], err[512];
	size_t len, start = 0;
	int64_t sweep = 0;
	long k = 0;

	if (read_file(path, &buf, &len) < 0) {
		fprintf(stderr, "tracer: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(site, sizeof(site), "log:%s", base_name(path));
	{
		struct ft_run_key skey = { .scenario = o->scenario ? o->scenario : "",
					   .exec_mode = "log", .fault_mode = "none",
					   .class_filter = "", .site = site };

		if (ft_db_sweep(db, build, &skey, o->command, &sweep) < 0) {
			fprintf(stderr, "tracer: cannot record the sweep for %s\n", path);
			free(buf);
			return -1;
		}
	}
	/* Run k spans from one hello to the next; bytes before the first hello go to run 1. */
	do {
		size_t first = next_hello(buf, len, start);
		size_t stop = first < len ? next_hello(buf, len, first + 1) : len;
		struct ft_run_key key = { .scenario = o->scenario ? o->scenario : "",
					  .exec_mode = "log", .fault_mode = "none",
					  .class_filter = "", .site = site, .n = ++k };
		struct ft_run_end how = { .how = FT_END_EXITED, .exit_status = -1, .raw_log = path };
		struct ft_run_result res;
		struct ft_run *r = ft_run_begin(db, build, sweep, &key);
		size_t p;

		if (!r) {
			fprintf(stderr, "tracer: cannot start run %ld of %s\n", k, path);
			free(buf);
			return -1;
		}
		for (p = start; p < stop; p += (size_t)o->chunk)
			ft_run_feed(r, buf + p, stop - p < (size_t)o->chunk ? stop - p :
				    (size_t)o->chunk);
		if (stop == len && !ft_run_saw_end(r)) {
			/* the capture stopped; unless told otherwise, nothing says how the
			 * machine ended */
			how.how = (enum ft_ending)o->cut;
			if (how.how == FT_END_LOST)
				how.infra_reason = ft_run_saw_hello(r, NULL, 0)
					? "the log ends before the run's end record"
					: "not a faultline console stream, or cut before "
					  "the handshake";
		}
		if (ft_run_finish(r, &how, &res, err, sizeof(err)) < 0) {
			fprintf(stderr, "tracer: %s run %ld: %s\n", path, k, err);
			free(buf);
			return -1;
		}
		t->runs++;
		t->infra += res.outcome == FT_INFRA;
		t->bugs += ft_outcome_is_finding(res.outcome);
		if (!o->quiet)
			ft_store_print_run(db, res.run_id, path, k, stdout);
		start = stop;
	} while (start < len);
	free(buf);
	return 0;
}

static int audit(const struct ft_cli_opts *o, const char *dbpath)
{
	struct ft_db *db;
	struct tally t = { 0, 0, 0 };
	char err[512];
	int64_t build;
	int i, failed = 0;

	if (ft_db_open(dbpath, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracer: %s\n", err);
		return 2;
	}
	if (o->kernel ? ft_db_add_kernel(db, o->kernel, o->src_root, &build, err, sizeof(err)) :
			ft_db_add_anonymous(db, "unknown", &build, err, sizeof(err))) {
		fprintf(stderr, "tracer: %s\n", err);
		ft_db_close(db);
		return 2;
	}
	for (i = 0; i < o->nlogs; i++)
		if (audit_log(db, build, o, o->logs[i], &t) < 0)
			failed = 1;
	ft_db_close(db);
	if (!o->quiet)
		printf("tracer: %d run(s), %d with findings, %d infrastructure\n", t.runs, t.bugs,
		       t.infra);
	if (failed)
		return 2;
	if (t.bugs)
		return 1;
	if (t.runs && t.infra == t.runs) {
		fprintf(stderr, "tracer: no run could be audited (see the infra reasons above)\n");
		return 2;
	}
	return 0;
}

int ft_cli_ingest(const struct ft_cli_opts *o)
{
	return audit(o, o->db);
}

int ft_cli_check(const struct ft_cli_opts *o)
{
	return audit(o, o->db ? o->db : ":memory:");
}

int ft_cli_layouts(void)
{
	const struct ft_layout *l;

	for (int k = 0; (l = ft_layout((enum ft_kind)k)); k++)
		printf("%s %d %d %s\n", l->name, l->nfields, l->rest, l->fields);
	return 0;
}

int ft_cli_materialize(const struct ft_cli_opts *o)
{
	struct ft_db *db;
	char err[512], *end;
	int i, rc = 0;

	if (ft_db_open(o->db, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracer: %s\n", err);
		return 2;
	}
	for (i = 0; i < o->nlogs && rc == 0; i++) {
		long long id = strtoll(o->logs[i], &end, 10);

		if (*end || id <= 0) {
			fprintf(stderr, "tracer: '%s' is not a run id\n", o->logs[i]);
			rc = 2;
		} else if (ft_store_materialize(db, id, err, sizeof(err)) < 0) {
			fprintf(stderr, "tracer: %s: %s\n", o->db, err);
			rc = 2;
		}
	}
	ft_db_close(db);
	return rc;
}
