/*
 * plan.c - series of injections and the rule that ends each sweep (see plan.h).
 */
#define _GNU_SOURCE
#include "plan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

void job_key(const struct plan *p, const struct job *j, struct ft_run_key *key)
{
	const struct series *s = j->s;

	memset(key, 0, sizeof *key);
	key->scenario = s->scenario;
	key->exec_mode = p->exec_mode;
	key->fault_mode = j->reference ? "none" : s->fault_mode;
	key->class_filter = j->reference ? "" : s->class_filter;
	key->site = j->reference ? "" : j->site;
	key->site_lo = j->reference ? 0 : j->lo;
	key->site_hi = j->reference ? 0 : j->hi;
	key->n = j->n;
	key->guard = p->guard;
}

/* Fill *j with the series' next candidate; 0 if the series has none now, -1 if exhausted. */
static int series_candidate(struct series *s, struct job *j)
{
	memset(j, 0, sizeof *j);
	j->s = s;
	if (s->failed)
		return -1;
	switch (s->kind) {
	case SERIES_SINGLE:
	case SERIES_SWEEP:
		if (s->next_n >= s->stop_n)
			return -1;
		if (s->next_n > s->max_n) {
			s->hit_max = 1;
			return -1;
		}
		j->n = s->next_n;
		j->lo = s->lo;
		j->hi = s->hi;
		snprintf(j->site, sizeof j->site, "%s", s->site);
		return 1;
	case SERIES_SITES:
		if (s->ref_state == 0) {
			j->reference = 1;
			return 1;
		}
		if (s->ref_state == 1)
			return 0;
		if (s->next_occ >= s->nocc)
			return -1;
		j->n = s->occ[s->next_occ].occ;
		j->lo = s->occ[s->next_occ].pc;
		j->hi = j->lo + 1;
		snprintf(j->site, sizeof j->site, "pc:%llx", (unsigned long long)j->lo);
		return 1;
	}
	return -1;
}

/* The candidate is handed out (or consumed as already done): advance the series. */
static void series_advance(struct series *s, const struct job *j)
{
	if (j->reference)
		s->ref_state = 1;
	else if (s->kind == SERIES_SITES)
		s->next_occ++;
	else
		s->next_n++;
}

int plan_next(struct plan *p, struct job *j,
	      void (*on_skip)(void *ctx, const struct job *j, int fired, enum ft_outcome o),
	      void *ctx)
{
	int waiting = 0;

	if (p->nretry > 0) {
		*j = p->retry[0];
		memmove(p->retry, p->retry + 1, (p->nretry - 1) * sizeof p->retry[0]);
		p->nretry--;
		j->s->inflight++;
		return 1;
	}
	for (size_t i = 0; i < p->nseries; i++) {
		struct series *s = &p->series[i];
		int r;

		for (;;) {
			struct ft_run_key key;
			enum ft_outcome o = FT_NOUTCOME;
			int fired = 0, done;

			r = series_candidate(s, j);
			if (r <= 0)
				break;
			series_advance(s, j);
			/* The reference run is always repeated: its call sites are not stored.
			 * `injector run` always runs (the stored run is replaced). */
			if (j->reference || s->kind == SERIES_SINGLE)
				break;
			job_key(p, j, &key);
			done = ft_db_run_done(p->store->db, p->store->build, &key, &fired, &o);
			if (done != 1)
				break;
			s->skipped++;
			if (j->n > s->last_n)
				s->last_n = j->n;
			if (on_skip)
				on_skip(ctx, j, fired, o);
			/* A stored hang or infra run does not say whether larger N could fire. */
			if (s->kind == SERIES_SWEEP && !fired && o != FT_HANG && o != FT_INFRA &&
			    j->n < s->stop_n)
				s->stop_n = j->n;
		}
		if (r == 1) {
			s->inflight++;
			return 1;
		}
		if (r == 0 || s->inflight > 0)
			waiting = 1;
	}
	return waiting ? 0 : -1;
}

void plan_done(struct plan *p, const struct job *j, int stop)
{
	struct series *s = j->s;

	(void)p;
	s->inflight--;
	s->runs++;
	if (j->reference)
		return;
	if (j->n > s->last_n)
		s->last_n = j->n;
	if (stop && s->kind == SERIES_SWEEP && j->n < s->stop_n)
		s->stop_n = j->n;
}

int plan_retry(struct plan *p, const struct job *j)
{
	if (j->attempt >= 1 || p->nretry >= sizeof p->retry / sizeof p->retry[0])
		return 0;
	p->retry[p->nretry] = *j;
	p->retry[p->nretry].attempt++;
	p->nretry++;
	j->s->inflight--;
	return 1;
}

void plan_drop(struct plan *p, const struct job *j, const char *why)
{
	struct series *s = j->s;

	(void)p;
	s->inflight--;
	if (why && !s->failed) {
		s->failed = 1;
		snprintf(s->why, sizeof s->why, "%s", why);
	}
	if (j->reference && s->ref_state == 1 && !s->failed)
		s->ref_state = 0;
}

struct occ_slot {
	uint64_t pc;
	long count;
};

void plan_set_sites(struct plan *p, struct series *s, const uint64_t *pcs, size_t n)
{
	size_t cap = 64;
	struct occ_slot *tab;

	(void)p;
	while (cap < 2 * n)
		cap *= 2;
	tab = calloc(cap, sizeof *tab);
	free(s->occ);
	s->occ = n ? calloc(n, sizeof *s->occ) : NULL;
	s->nocc = 0;
	s->next_occ = 0;
	s->ref_state = 2;
	if (!tab || (n && !s->occ)) {
		free(tab);
		s->failed = 1;
		snprintf(s->why, sizeof s->why, "out of memory for %zu call sites", n);
		return;
	}
	/* Occurrence k of a pc is the k-th attempt from that exact call site. */
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)((pcs[i] * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);

		while (tab[h].count && tab[h].pc != pcs[i])
			h = (h + 1) & (cap - 1);
		tab[h].pc = pcs[i];
		tab[h].count++;
		s->occ[s->nocc].pc = pcs[i];
		s->occ[s->nocc].occ = tab[h].count;
		s->nocc++;
	}
	free(tab);
}

int plan_pending(const struct plan *p)
{
	if (p->nretry)
		return 1;
	for (size_t i = 0; i < p->nseries; i++) {
		struct series copy = p->series[i];
		struct job j;

		if (series_candidate(&copy, &j) >= 0)
			return 1;
	}
	return 0;
}

int plan_series_complete(const struct series *s)
{
	if (s->failed || s->inflight)
		return 0;
	if (s->kind == SERIES_SWEEP)
		return s->stop_n != LONG_MAX;
	if (s->kind == SERIES_SITES)
		return s->ref_state == 2 && s->next_occ >= s->nocc;
	return 0;
}

int plan_finished(const struct plan *p)
{
	if (p->nretry)
		return 0;
	for (size_t i = 0; i < p->nseries; i++) {
		struct series *s = &p->series[i];
		struct job j;

		if (s->inflight > 0)
			return 0;
		if (series_candidate(s, &j) >= 0)
			return 0;
	}
	return 1;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nseries; i++)
		free(p->series[i].occ);
	free(p->series);
	p->series = NULL;
	p->nseries = 0;
}
