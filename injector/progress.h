/*
 * progress.h - counting outcomes, the progress line (TTY only) and the end-of-sweep summary.
 */
#ifndef FAULTLINE_INJECTOR_PROGRESS_H
#define FAULTLINE_INJECTOR_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "tracer.h"

struct plan;

struct stats {
	long outcomes[FT_NOUTCOME];  /* over executed and skipped runs */
	long executed, skipped, retried, findings, infra;
	long lost;                     /* QEMUs killed because they broke, not by plan */
	char lost_why[640];            /* why the last of them was */
	long spawns, resets, warm;     /* QEMUs started; machine resets and warm restarts */
	long restores;                 /* snapshot restores */
	double restore_s;              /* time spent in them (QEMU's snapshot-load) */
	long inflight;
	uint64_t *sites;             /* distinct pcs of injected faults (executed runs) */
	size_t nsites, capsites;
	double t0, last_draw;
	int tty;                     /* draw the progress line on stderr */
	int drawn;                   /* a progress line is on screen */
};

void stats_init(struct stats *st, int tty);
void stats_free(struct stats *st);
/* A run finished (executed = 1) or was found already done (executed = 0). */
void stats_record(struct stats *st, enum ft_outcome o, uint64_t fault_pc, int executed);

/* Redraw the progress line if on a TTY and due (force: now). */
void progress_draw(struct stats *st, int force);
/* Erase the progress line before other output. */
void progress_clear(struct stats *st);

/* Seconds since an arbitrary fixed point (monotonic). */
double now_s(void);

/* The one-screen summary: runs per outcome, sweeps, sites, time, rate. */
void summary_print(FILE *f, const struct stats *st, const struct plan *p);

#endif
