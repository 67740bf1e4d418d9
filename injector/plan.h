/*
 * plan.h - what to inject, in which order, and when to stop.
 *
 * A plan is a list of series. A series is one sweep: a scenario, a fault mode and optional
 * filters, with N = 1, 2, ... dispatched in increasing order until a run says the armed
 * fault did not fire (or, for a by-site series, one injection per (call site, occurrence)
 * seen in a fault-free reference run). Runs already in the database are not redone: their
 * stored result counts as if the run had just finished.
 */
#ifndef FAULTLINE_INJECTOR_PLAN_H
#define FAULTLINE_INJECTOR_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "tracer.h"

struct store;

enum series_kind {
	SERIES_SWEEP,   /* N = 1, 2, ... until not fired */
	SERIES_SITES,   /* reference run, then one run per (pc, occurrence) */
	SERIES_SINGLE,  /* exactly one run (injector run) */
};

struct site_occ {
	uint64_t pc;
	long occ;
};

struct series {
	enum series_kind kind;
	char scenario[64];
	char fault_mode[8];     /* once | persist (runs); the sweep row says "site" for by-site */
	char class_filter[8];   /* "" | page | obj */
	char site[128];         /* "" | function name */
	uint64_t lo, hi;        /* the function's range, 0,0 when none */
	int64_t sweep_id;

	long next_n;            /* next N to hand out (SWEEP/SINGLE) */
	long stop_n;            /* first N known not to fire; nothing at or above is handed out */
	long max_n;             /* safety bound */
	int inflight;

	int ref_state;          /* SITES: 0 not started, 1 running, 2 done */
	struct site_occ *occ;   /* SITES: the injections, in reference-run order */
	size_t nocc, next_occ;

	long runs, skipped;     /* finished here / found already done */
	long last_n;            /* highest N finished */
	double t_done;          /* when its last run finished here (now_s()), 0 if none */
	int hit_max, failed;
	char why[256];          /* reason when failed */
};

struct job {
	struct series *s;
	long n;                 /* countdown armed, 0 for a reference run */
	int reference;          /* SITES reference run: not armed, collects call sites */
	uint64_t lo, hi;        /* range filter armed (0,0: none) */
	char site[128];         /* key's site: function, "pc:<hex>" or "" */
	int attempt;            /* infrastructure retries so far */
};

struct plan {
	struct series *series;
	size_t nseries;
	struct job retry[64];   /* jobs to redo after an infrastructure failure */
	size_t nretry;
	const char *exec_mode;  /* fresh | reset | warm | snapshot */
	int guard;              /* runs in guard mode: part of every run's key */
	struct store *store;
};

/* The run key of a job (pointers into the job and its series). */
void job_key(const struct plan *p, const struct job *j, struct ft_run_key *key);

/*
 * Next job to dispatch. Returns 1 and fills *j, 0 if nothing can be dispatched now (waiting
 * on in-flight runs), -1 when the plan is exhausted. Jobs already done in the database are
 * consumed here and reported to on_skip (may be NULL) with their stored result.
 */
int plan_next(struct plan *p, struct job *j,
	      void (*on_skip)(void *ctx, const struct job *j, int fired, enum ft_outcome o),
	      void *ctx);

/* A job finished and was stored. stop says whether larger N can no longer fire. */
void plan_done(struct plan *p, const struct job *j, int stop);

/* A job could not run (infrastructure); it is retried once, then stored as infra by the
 * caller. Returns 1 if queued for retry, 0 if it must be stored as it is. */
int plan_retry(struct plan *p, const struct job *j);

/* A job was dropped (interrupted, or the kernel refused it). why != NULL fails the series. */
void plan_drop(struct plan *p, const struct job *j, const char *why);

/* SITES: the reference run's call sites (pc of every attempt, in order, with class). */
void plan_set_sites(struct plan *p, struct series *s, const uint64_t *pcs, size_t n);

/* 1 if a job could be handed out now or once in-flight runs finish (not counting N beyond
 * a stop not yet known): a QEMU started now will likely get work. */
int plan_pending(const struct plan *p);

/* 1 if the series ran to its end: a SWEEP reached an N whose fault did not fire, a SITES
 * series injected every call site of its reference run. A SINGLE run is not a sweep: 0.
 * Only meaningful once the plan is finished (nothing was dropped). */
int plan_series_complete(const struct series *s);

/* 1 if no series has work left or in flight. */
int plan_finished(const struct plan *p);

void plan_free(struct plan *p);

#endif
