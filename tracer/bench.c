/*
 * bench.c - `tracer bench-ingest`: the ingest throughput (parse + checks + sqlite) on a
 * synthetic sweep: runs shaped like a real run of the sample kernel (about BENCH_RUN_EVENTS
 * records each: ops, allocations with 4-8 frame backtraces from a few hundred call sites,
 * refcounts, frees and the closing records), each judged and stored in its own transaction
 * as the injector stores a sweep (--keep findings: clean runs as their row only; --keep
 * full: every event), until --events records were ingested. Prints events/s;
 * `make bench` runs it.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parser.h"
#include "store.h"
#include "tracer.h"
#include "util.h"

#define BENCH_BUILD_ID "0123456789abcdef0123456789abcdef01234567"
#define BENCH_RUN_EVENTS 1000L   /* a vm run of the sample kernel sends about 1,000 */

struct gen {
	char *buf;
	size_t len, cap;
	long events;
	uint64_t rng;
};

static void record(struct gen *g, enum ft_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append one record of type k: its name from the layouts table (records.def), then its
 * fields, which must be as many as the table says. */
static void record(struct gen *g, enum ft_kind k, const char *fmt, ...)
{
	size_t start = g->len, i;
	int ntok = 1;
	va_list ap;

	if (g->cap - g->len < FT_LINE_MAX + 1) {
		g->cap = g->cap ? g->cap * 2 : 1 << 20;
		g->buf = ft_xrealloc(g->buf, g->cap);
	}
	g->len += (size_t)snprintf(g->buf + g->len, g->cap - g->len, "%s ", ft_kind_name(k));
	va_start(ap, fmt);
	g->len += (size_t)vsnprintf(g->buf + g->len, g->cap - g->len - 1, fmt, ap);
	va_end(ap);
	for (i = start; i < g->len; i++)
		ntok += g->buf[i] == ' ';
	if (ntok != ft_layout(k)->nfields) {
		fprintf(stderr, "tracer: bench writes %s records with %d tokens, records.def says "
			"%d\n", ft_kind_name(k), ntok, ft_layout(k)->nfields);
		abort();
	}
	g->buf[g->len++] = '\n';
	g->events++;
}

static uint64_t rnd(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

/* A backtrace for call site `site`: fixed per site, 4 to 8 frames. */
static void bt(char *out, size_t len, unsigned site)
{
	unsigned n = 4 + site % 5, i;
	size_t o = 0;

	for (i = 0; i < n && o + 20 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%x", i ? "," : "",
				      0x80001000u + ((site * 7 + i * 131) % 400) * 0x40 + 0x12);
}

static const char *class_of(int page)
{
	return ft_class_name(page ? FT_CL_PAGE : FT_CL_OBJ);
}

static void generate(struct gen *g, long target)
{
	uint64_t next_addr = 0x80400000;
	long seq = 0, op = 0;
	char b[200];

	record(g, FT_K_HELLO, "faultline %d %s", FT_PROTO_VERSION, BENCH_BUILD_ID);
	record(g, FT_K_OK, "arm");
	record(g, FT_K_RUN, "bench");
	record(g, FT_K_CKPT, "baseline 0 0 0 0");
	while (g->events < target - 3) {
		unsigned site = (unsigned)(rnd(g) % 300), k, nobj = 1 + (unsigned)(rnd(g) % 6);
		uint64_t addrs[8];
		int page[8];

		record(g, FT_K_OPBEGIN, "%ld op_%u %llx", ++op, site % 40,
		     0x80001000ULL + (site % 40) * 0x40);
		for (k = 0; k < nobj; k++) {
			page[k] = (rnd(g) & 3) == 0;
			addrs[k] = next_addr;
			next_addr += page[k] ? 4096 : 64;
			bt(b, sizeof(b), site + k);
			record(g, FT_K_ALLOC, "%ld %s %llx %d %.8s %s", ++seq, class_of(page[k]),
			       (unsigned long long)addrs[k], page[k] ? 4096 : 64, b, b);
		}
		record(g, FT_K_REF, "new proc %llx 1 80002010", (unsigned long long)addrs[0]);
		record(g, FT_K_REF, "get proc %llx 2 80002050", (unsigned long long)addrs[0]);
		record(g, FT_K_REF, "put proc %llx 1 80002090", (unsigned long long)addrs[0]);
		record(g, FT_K_REF, "put proc %llx 0 80002090", (unsigned long long)addrs[0]);
		for (k = nobj; k-- > 0;) {
			bt(b, sizeof(b), site + 50 + k);
			record(g, FT_K_FREE, "%ld %s %llx %.8s %s", seq, class_of(page[k]),
			       (unsigned long long)addrs[k], b, b);
		}
		record(g, FT_K_OPEND, "%ld 0", op);
	}
	record(g, FT_K_CKPT, "end 0 0 0 0");
	record(g, FT_K_RESULT, "bench 0");
	record(g, FT_K_END, "0 %ld 0", seq);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

int ft_cli_bench(const struct ft_cli_opts *o)
{
	struct gen g = { NULL, 0, 0, 0, 0x9e3779b97f4a7c15ULL };
	char path[] = "/tmp/faultline-bench-XXXXXX", err[512], wal[64], shm[64];
	const char *dbpath = o->db;
	struct ft_run_key key = { .scenario = "bench", .exec_mode = "bench", .fault_mode = "once",
				  .class_filter = "", .site = "", .n = 1 };
	struct ft_run_end how = { .how = FT_END_EXITED, .keep = (enum ft_keep)o->keep };
	struct ft_run_result res;
	struct ft_db *db;
	struct ft_run *r;
	int64_t build;
	double t0, t1, tfeed = 0, c0, c1;
	long target = o->events > 16 ? o->events : 16, nevents = 0, nruns;
	size_t p;
	int rc = 0;

	generate(&g, target < BENCH_RUN_EVENTS ? target : BENCH_RUN_EVENTS);
	if (!dbpath) {
		int fd = mkstemp(path);

		if (fd < 0) {
			perror("tracer: mkstemp");
			free(g.buf);
			return 2;
		}
		close(fd);
		dbpath = path;
	}
	t0 = now_s();
	c0 = cpu_s();
	if (ft_db_open(dbpath, &db, err, sizeof(err)) < 0 ||
	    ft_db_add_anonymous(db, BENCH_BUILD_ID, &build, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracer: %s\n", err);
		rc = 2;
		goto out;
	}
	for (nruns = 0; nevents < target; nruns++) {
		double f0 = now_s();

		key.n = nruns + 1;
		r = ft_run_begin(db, build, 0, &key);
		for (p = 0; p < g.len; p += 4096)
			ft_run_feed(r, g.buf + p, g.len - p < 4096 ? g.len - p : 4096);
		tfeed += now_s() - f0;
		if (ft_run_finish(r, &how, &res, err, sizeof(err)) < 0) {
			fprintf(stderr, "tracer: %s\n", err);
			ft_db_close(db);
			rc = 2;
			goto out;
		}
		if (res.nevents != g.events || res.nmalformed || res.outcome != FT_COMPLETED) {
			fprintf(stderr, "tracer: bench stream misread: %ld of %ld events, %ld "
				"malformed, outcome %s\n", res.nevents, g.events, res.nmalformed,
				ft_outcome_name(res.outcome));
			ft_db_close(db);
			rc = 2;
			goto out;
		}
		nevents += res.nevents;
	}
	ft_db_close(db);
	t1 = now_s();
	c1 = cpu_s();
	/* CPU time too: on a shared machine the wall clock also measures the neighbours */
	printf("tracer ingest: %ld events (%.1f MB) in %ld runs, %.3f s wall, %.3f s CPU: "
	       "%.0f events/s wall, %.0f events/s CPU (parse %.3f s, checks + sqlite %.3f s)\n",
	       nevents, (double)g.len * (double)nruns / 1e6, nruns, t1 - t0, c1 - c0,
	       (double)nevents / (t1 - t0), (double)nevents / (c1 - c0), tfeed,
	       t1 - t0 - tfeed);
out:
	if (dbpath == path) {
		snprintf(wal, sizeof(wal), "%s-wal", path);
		snprintf(shm, sizeof(shm), "%s-shm", path);
		unlink(path);
		unlink(wal);
		unlink(shm);
	}
	free(g.buf);
	return rc;
}
