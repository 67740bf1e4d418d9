/*
 * report.c - printing runs and findings (see report.h).
 */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "count.h"

static void repro(const struct opts *o, const struct ft_run_key *k, char *buf, size_t len)
{
	char extra[512] = "";
	size_t pos = 0;

	if (k->class_filter[0])
		pos += (size_t)snprintf(extra + pos, sizeof extra - pos, " --class %s",
					k->class_filter);
	if (k->site[0] && pos < sizeof extra)
		pos += (size_t)snprintf(extra + pos, sizeof extra - pos, " --site %s", k->site);
	if (k->guard && pos < sizeof extra)
		pos += (size_t)snprintf(extra + pos, sizeof extra - pos, " --guard");
	snprintf(buf, len, "%s run%s%s --kernel %s --scenario %s --fail %ld%s%s --mode %s --db %s",
		 o->argv0, o->profile ? " --profile " : "", o->profile ? o->profile : "",
		 o->kernel, k->scenario, k->n,
		 !strcmp(k->fault_mode, "persist") ? " --persist" : "", extra, k->exec_mode,
		 o->db);
}

void report_on_result(void *vctx, const struct job *j, const struct ft_run_result *r,
		      const char *log)
{
	struct ctx *c = vctx;

	c->last = *r;
	c->have_last = 1;
	j->s->t_done = now_s();
	snprintf(c->last_log, sizeof c->last_log, "%s", log ? log : "");
	if (ft_outcome_is_finding(r->outcome) && c->nshown < MAX_SHOWN) {
		struct shown *s = &c->shown[c->nshown++];

		job_key(c->plan, j, &s->key);
		snprintf(s->scenario, sizeof s->scenario, "%s", s->key.scenario);
		snprintf(s->site, sizeof s->site, "%s", s->key.site);
		s->key.scenario = s->scenario;
		s->key.site = s->site;
		s->key.class_filter = j->s->class_filter;
		s->outcome = r->outcome;
		if (r->fault_pc)
			store_describe_pc(c->store, r->fault_pc, r->fault_func, s->where,
					  sizeof s->where);
		else
			snprintf(s->where, sizeof s->where, "(the fault did not fire)");
	}
}

static void print_log_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t n;

	if (!f) {
		fprintf(stderr, "injector: %s: %s\n", path, strerror(errno));
		return;
	}
	printf("--- raw log %s ---\n", path);
	fflush(stdout);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
}

int report_run(struct ctx *c)
{
	const struct opts *o = c->o;
	const struct ft_run_result *r = &c->last;
	const struct series *s = &c->plan->series[0];
	struct ft_run_key key;
	struct job j = { .s = (struct series *)s, .n = o->fail, .lo = s->lo, .hi = s->hi };
	char where[512], cmd[16384];

	snprintf(j.site, sizeof j.site, "%s", s->site);
	job_key(c->plan, &j, &key);
	if (!c->have_last) {
		fprintf(stderr, "injector: the run did not complete%s%s\n", s->failed ? ": " : "",
			s->failed ? s->why : "");
		return EXIT_USAGE;
	}
	if (r->fault_pc)
		store_describe_pc(c->store, r->fault_pc, r->fault_func, where, sizeof where);
	else
		snprintf(where, sizeof where, "none (the fault did not fire)");
	repro(o, &key, cmd, sizeof cmd);
	printf("run: %s %s %s N=%ld\n", key.scenario, key.exec_mode, key.fault_mode, key.n);
	printf("outcome: %s\n", ft_outcome_name(r->outcome));
	printf("fired: %d  ended: %d  attempts: %ld\n", r->fired, r->ended, r->attempts);
	printf("fault site: %s\n", where);
	printf("findings: %ld  events: %ld  malformed: %ld\n", r->nfindings, r->nevents,
	       r->nmalformed);
	printf("raw log: %s\n", c->last_log);
	printf("repro: %s\n", cmd);
	fflush(stdout);
	if (o->print_log)
		print_log_file(c->last_log);
	fflush(stdout);
	if (r->outcome == FT_INFRA)
		return EXIT_USAGE;
	return ft_outcome_is_finding(r->outcome) ? EXIT_FINDINGS : 0;
}

/*
 * Mark each series that ran to its end as a finished sweep, so the analysis can tell it from
 * one stopped early. Series run one after the other in plan order: each one's wall time is
 * the stretch since the one before it ended.
 */
static void record_finished(struct ctx *c)
{
	double from = c->stats->t0;

	for (size_t i = 0; i < c->plan->nseries; i++) {
		const struct series *s = &c->plan->series[i];
		double to = s->t_done > from ? s->t_done : from;

		if (plan_series_complete(s) &&
		    ft_db_sweep_finish(c->store->db, s->sweep_id, to - from) < 0)
			fprintf(stderr, "injector: cannot record the %s sweep as finished in %s\n",
				s->scenario, c->o->db);
		from = to;
	}
}

/* 1 if every series ran to its end and no run was left an infrastructure failure. */
static int sweep_complete(const struct ctx *c, int done)
{
	if (!done || c->stats->infra)
		return 0;
	for (size_t i = 0; i < c->plan->nseries; i++)
		if (!plan_series_complete(&c->plan->series[i]))
			return 0;
	return 1;
}

/* Without the analysis: the first runs with findings and a verdict from the runs. */
static int report_runs(struct ctx *c, int done, const char *why)
{
	char cmd[16384];
	long found = c->stats->findings;

	for (int i = 0; i < c->nshown; i++) {
		const struct shown *s = &c->shown[i];

		repro(c->o, &s->key, cmd, sizeof cmd);
		printf("finding: %s %s N=%ld %s at %s\n  repro: %s\n", s->key.scenario,
		       s->key.fault_mode, s->key.n, ft_outcome_name(s->outcome), s->where, cmd);
	}
	if (found > c->nshown)
		printf("(%ld more runs with findings: see the database)\n", found - c->nshown);
	printf("result: %ld run(s) with findings; unique findings not counted (%s; count them "
	       "with python3 -m analysis findings --db %s) -> %s\n", found, why, c->o->db,
	       found ? "FAIL" : sweep_complete(c, done) ? "PASS" : "INCOMPLETE");
	fflush(stdout);
	return found ? EXIT_FINDINGS : 0;
}

int report_sweep(struct ctx *c, int done)
{
	struct count_args a = { c->o->db, c->o->suppressions, c->o->profile };
	char why[1024];
	int code;

	if (done)
		record_finished(c);
	summary_print(stdout, c->stats, c->plan);
	printf("qemu: %s (%s)%s\n", c->o->qbin.path, c->o->qbin.version,
	       c->o->sandbox ? "" : " without its sandbox");
	fflush(stdout);
	if (!done)
		return report_runs(c, done, "the sweep did not run to its end");
	if (c->o->no_analysis)
		return report_runs(c, done, "--no-analysis");
	code = count_findings(&a, stdout, why, sizeof why);
	if (code < 0) {
		fprintf(stderr, "injector: cannot count unique findings: %s\n", why);
		return report_runs(c, done, why);
	}
	return code;
}
