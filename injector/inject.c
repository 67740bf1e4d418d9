/*
 * inject.c - carrying out `injector run`, `sweep` and `scenarios`: open the database, turn
 * the options into a plan, run the scheduler with signals handled, pick the exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kelf.h"
#include "opts.h"
#include "plan.h"
#include "progress.h"
#include "report.h"
#include "sched.h"
#include "store.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The scenario list a sweep covers: names from --scenario, or `all` from the kernel. */
static int resolve_scenarios(const struct opts *o, struct kelf_scenarios *out)
{
	struct kelf_scenarios k;
	char err[512];
	int have = kelf_scenarios(o->kernel, &k, err, sizeof err) == 0;

	memset(out, 0, sizeof *out);
	/* for a sweep `all` means every scenario, one by one; `run --scenario all` is one
	 * injection into the kernel's own `all` scenario (every scenario in one run) */
	if (!strcmp(o->scenario, "all") && strcmp(o->cmd, "run")) {
		if (!have) {
			fprintf(stderr, "injector: --scenario all: %s\n", err);
			return -1;
		}
		*out = k;
		/* test-only scenarios exist to prove the tools find bugs; `all` leaves them out,
		 * and the kernel's own `all` scenario too: it runs the others again in one run */
		size_t w = 0;
		for (size_t i = 0; i < out->n; i++)
			if (strncmp(out->name[i], "test-", 5) && strcmp(out->name[i], "all"))
				memcpy(out->name[w++], out->name[i], sizeof out->name[0]);
		out->n = w;
		if (!out->n) {
			fprintf(stderr, "injector: %s offers no scenarios\n", o->kernel);
			return -1;
		}
		return 0;
	}
	{
		size_t cap = 1;
		const char *p;

		for (p = o->scenario; *p; p++)
			cap += *p == ',';
		out->name = calloc(cap, sizeof *out->name);
		if (!out->name) {
			if (have)
				kelf_scenarios_free(&k);
			return -1;
		}
		p = o->scenario;
		while (*p) {
			size_t n = strcspn(p, ",");

			if (n == 0 || n > KELF_NAME_MAX || memchr(p, ' ', n)) {
				fprintf(stderr, "injector: bad scenario name in '%s'\n", o->scenario);
				goto fail;
			}
			memcpy(out->name[out->n], p, n);
			out->name[out->n][n] = 0;
			if (have && !kelf_has(&k, out->name[out->n])) {
				fprintf(stderr, "injector: %s offers no scenario '%s' (it has:",
					o->kernel, out->name[out->n]);
				for (size_t i = 0; i < k.n; i++)
					fprintf(stderr, " %s", k.name[i]);
				fprintf(stderr, ")\n");
				goto fail;
			}
			out->n++;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	if (have)
		kelf_scenarios_free(&k);
	return 0;
fail:
	if (have)
		kelf_scenarios_free(&k);
	kelf_scenarios_free(out);
	return -1;
}

int list_scenarios(const struct opts *o)
{
	struct kelf_scenarios k;
	char err[512];

	if (kelf_scenarios(o->kernel, &k, err, sizeof err) < 0) {
		fprintf(stderr, "injector: %s\n", err);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < k.n; i++)
		printf("%s\n", k.name[i]);
	kelf_scenarios_free(&k);
	return 0;
}

/* Build the series for this command from the resolved scenarios. 0, or an exit status. */
static int build_plan(const struct opts *o, const struct kelf_scenarios *sc, struct store *st,
		      struct plan *p)
{
	const char *modes[2];
	int nmodes = 0;
	uint64_t lo = 0, hi = 0;

	if (o->site[0] && ft_db_func_range(st->db, st->build, o->site, &lo, &hi) < 0) {
		fprintf(stderr, "injector: --site %s: no such function in %s\n", o->site, o->kernel);
		return EXIT_USAGE;
	}
	if (o->both) {
		modes[nmodes++] = "once";
		modes[nmodes++] = "persist";
	} else {
		modes[nmodes++] = o->persist ? "persist" : "once";
	}
	p->series = calloc(sc->n * (size_t)nmodes, sizeof *p->series);
	if (!p->series)
		return EXIT_USAGE;
	for (size_t i = 0; i < sc->n; i++) {
		for (int m = 0; m < nmodes; m++) {
			struct series *s = &p->series[p->nseries++];
			struct ft_run_key key;

			s->kind = !strcmp(o->cmd, "run") ? SERIES_SINGLE :
				  o->by_site ? SERIES_SITES : SERIES_SWEEP;
			snprintf(s->scenario, sizeof s->scenario, "%s", sc->name[i]);
			snprintf(s->fault_mode, sizeof s->fault_mode, "%s", modes[m]);
			snprintf(s->class_filter, sizeof s->class_filter, "%s", o->class_filter);
			snprintf(s->site, sizeof s->site, "%s", o->site);
			s->lo = lo;
			s->hi = hi;
			s->next_n = s->kind == SERIES_SINGLE ? o->fail : 1;
			s->stop_n = s->kind == SERIES_SINGLE ? o->fail + 1 : LONG_MAX;
			s->max_n = s->kind == SERIES_SINGLE ? o->fail : o->max_n;
			memset(&key, 0, sizeof key);
			key.scenario = s->scenario;
			key.exec_mode = p->exec_mode;
			key.fault_mode = s->kind == SERIES_SITES ? "site" : s->fault_mode;
			key.class_filter = s->class_filter;
			key.site = s->site;
			key.site_lo = lo;
			key.site_hi = hi;
			key.guard = p->guard;
			if (ft_db_sweep(st->db, st->build, &key, o->command, &s->sweep_id) < 0) {
				fprintf(stderr, "injector: cannot record the sweep in %s\n", o->db);
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/*
 * SIGINT, SIGTERM and SIGHUP stay blocked except while the scheduler waits in ppoll (with
 * *waitmask), so a signal never lands in the middle of storing a run.
 */
static void catch_signals(sigset_t *waitmask)
{
	struct sigaction sa = { 0 };
	sigset_t block;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigdelset(waitmask, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* The sweep's exit status: found (0 or EXIT_FINDINGS), unless the host failed. */
static int sweep_status(const struct plan *p, const struct stats *st, int found)
{
	int failed = 0;

	for (size_t i = 0; i < p->nseries; i++) {
		if (p->series[i].failed) {
			fprintf(stderr, "injector: %s: %s\n", p->series[i].scenario,
				p->series[i].why);
			failed = 1;
		}
	}
	if (st->infra || failed)
		return EXIT_USAGE;
	return found;
}

int inject(struct opts *o)
{
	struct kelf_scenarios sc;
	struct store st;
	struct plan plan = { 0 };
	struct stats stats;
	struct ctx c = { 0 };
	struct sched_cfg cfg = { 0 };
	sigset_t waitmask;
	enum sched_status ss;
	char err[4096];
	int code, is_run = !strcmp(o->cmd, "run");

	catch_signals(&waitmask);
	if (resolve_scenarios(o, &sc) < 0)
		return EXIT_USAGE;
	if (store_open(&st, o->db, o->kernel, o->src_root, err, sizeof err) < 0) {
		fprintf(stderr, "injector: %s\n", err);
		kelf_scenarios_free(&sc);
		return EXIT_USAGE;
	}
	plan.exec_mode = o->mode;
	plan.guard = o->guard;
	plan.store = &st;
	code = build_plan(o, &sc, &st, &plan);
	kelf_scenarios_free(&sc);
	if (code) {
		plan_free(&plan);
		store_close(&st);
		return code;
	}
	stats_init(&stats, !o->quiet && !is_run && isatty(2));
	c.o = o;
	c.store = &st;
	c.plan = &plan;
	c.stats = &stats;

	cfg.qemu = o->qcfg;
	cfg.qemu.kernel = st.kernel;
	cfg.warm = !strcmp(o->mode, "warm");
	cfg.snapshot = !strcmp(o->mode, "snapshot");
	cfg.guard = o->guard;
	/* a run asked for by hand is kept whole; a sweep keeps in full what has findings */
	cfg.keep = is_run ? FT_KEEP_FULL : o->keep_all_logs ? FT_KEEP_LOGS : FT_KEEP_FINDINGS;
	cfg.workers = (int)o->jobs;
	cfg.timeout_s = o->timeout;
	cfg.plan = &plan;
	cfg.store = &st;
	cfg.stats = &stats;
	cfg.interrupted = &interrupted;
	cfg.poll_mask = &waitmask;
	cfg.on_result = report_on_result;
	cfg.ctx = &c;

	ss = sched_run(&cfg, err, sizeof err);
	if (is_run) {
		code = report_run(&c);
	} else {
		code = sweep_status(&plan, &stats, report_sweep(&c, ss == SCHED_DONE));
	}
	if (ss == SCHED_FAILED) {
		fprintf(stderr, "injector: %s\n", err);
		code = EXIT_USAGE;
	} else if (ss == SCHED_INTERRUPTED) {
		fprintf(stderr, "injector: interrupted; finished runs are stored, run the same "
			"command again to resume\n");
		code = EXIT_INTERRUPTED;
	}
	stats_free(&stats);
	plan_free(&plan);
	store_close(&st);
	return code;
}
