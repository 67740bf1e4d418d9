/*
 * progress.c - outcome counters, the TTY progress line and the summary (see progress.h).
 */
#define _GNU_SOURCE
#include "progress.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void stats_init(struct stats *st, int tty)
{
	memset(st, 0, sizeof *st);
	st->tty = tty;
	st->t0 = now_s();
}

void stats_free(struct stats *st)
{
	free(st->sites);
	st->sites = NULL;
}

static void add_site(struct stats *st, uint64_t pc)
{
	for (size_t i = 0; i < st->nsites; i++)
		if (st->sites[i] == pc)
			return;
	if (st->nsites == st->capsites) {
		size_t cap = st->capsites ? 2 * st->capsites : 64;
		uint64_t *n = realloc(st->sites, cap * sizeof *n);

		if (!n)
			return;
		st->sites = n;
		st->capsites = cap;
	}
	st->sites[st->nsites++] = pc;
}

void stats_record(struct stats *st, enum ft_outcome o, uint64_t fault_pc, int executed)
{
	if ((unsigned)o < FT_NOUTCOME)
		st->outcomes[o]++;
	if (executed)
		st->executed++;
	else
		st->skipped++;
	if (ft_outcome_is_finding(o))
		st->findings++;
	if (o == FT_INFRA)
		st->infra++;
	if (fault_pc)
		add_site(st, fault_pc);
}

void progress_draw(struct stats *st, int force)
{
	double t = now_s(), el;
	long done;

	if (!st->tty || (!force && t - st->last_draw < 0.1))
		return;
	st->last_draw = t;
	el = t - st->t0;
	done = st->executed + st->skipped;
	fprintf(stderr, "\r\033[K[%ld/%ld] %.0f runs/s  findings %ld  infra %ld  %.1fs",
		done, done + st->inflight, el > 0 ? (double)st->executed / el : 0.0,
		st->findings, st->infra, el);
	fflush(stderr);
	st->drawn = 1;
}

void progress_clear(struct stats *st)
{
	if (st->tty && st->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		st->drawn = 0;
	}
}

/* ", X ms each" after the restore count, or "" when there were none. */
static const char *restore_each(const struct stats *st, char *buf, size_t len)
{
	if (!st->restores)
		return "";
	snprintf(buf, len, " (%.2f ms each)", st->restore_s / (double)st->restores * 1e3);
	return buf;
}

void summary_print(FILE *f, const struct stats *st, const struct plan *p)
{
	double el = now_s() - st->t0;
	char each[48];

	fprintf(f, "runs: %ld executed, %ld already in the database, %ld retried after an "
		"infrastructure error\n", st->executed, st->skipped, st->retried);
	fprintf(f, "outcomes:");
	for (int o = 0; o < FT_NOUTCOME; o++)
		if (st->outcomes[o])
			fprintf(f, " %s %ld", ft_outcome_name((enum ft_outcome)o), st->outcomes[o]);
	if (st->executed + st->skipped == 0)
		fprintf(f, " none");
	fprintf(f, "\n");
	for (size_t i = 0; p && i < p->nseries; i++) {
		const struct series *s = &p->series[i];
		const char *fm = s->kind == SERIES_SITES ? "by-site" : s->fault_mode;

		if (s->kind == SERIES_SINGLE)
			continue;
		fprintf(f, "sweep %s %s%s%s%s%s: ", s->scenario, fm,
			s->class_filter[0] ? " class=" : "", s->class_filter,
			s->site[0] ? " site=" : "", s->site);
		if (s->failed)
			fprintf(f, "FAILED: %s\n", s->why);
		else if (s->kind == SERIES_SITES)
			fprintf(f, "%zu injections over %zu attempts seen in the reference run%s\n",
				s->next_occ, s->nocc, s->next_occ < s->nocc ? " (interrupted)" : "");
		else if (s->stop_n != LONG_MAX)
			fprintf(f, "ended at N=%ld (fault did not fire)\n", s->stop_n);
		else if (s->hit_max)
			fprintf(f, "INCOMPLETE: stopped at --max-n %ld before the fault stopped firing\n",
				s->max_n);
		else
			fprintf(f, "not finished (last N done: %ld)\n", s->last_n);
	}
	if (st->spawns)
		fprintf(f, "machines: %ld QEMU started, %ld resets, %ld warm restarts, %ld "
			"snapshot restores%s\n", st->spawns, st->resets, st->warm, st->restores,
			restore_each(st, each, sizeof each));
	if (st->lost)
		fprintf(f, "machines replaced because they broke: %ld (the last: %s)\n", st->lost,
			st->lost_why);
	fprintf(f, "unique fault sites: %zu\n", st->nsites);
	fprintf(f, "runs with findings: %ld   time: %.3fs   %.1f injections/s\n", st->findings, el,
		el > 0 ? (double)st->executed / el : 0.0);
}
