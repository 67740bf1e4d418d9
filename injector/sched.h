/*
 * sched.h - the scheduler: one poll() loop drives every worker (one QEMU each at a time),
 * hands out jobs from the plan in order, feeds each run's console bytes to the tracer and
 * stores each finished run. No threads: the tracer's database has one writer.
 */
#ifndef FAULTLINE_INJECTOR_SCHED_H
#define FAULTLINE_INJECTOR_SCHED_H

#include <signal.h>

#include "plan.h"
#include "progress.h"
#include "qemu.h"
#include "store.h"

struct sched_cfg {
	struct qemu_cfg qemu;     /* reset_mode: one QEMU per worker (reset and warm modes) */
	int warm;                 /* after a clean run, `restart` the kernel instead of `reset` */
	int snapshot;             /* snapshot at hello, restored before every run (qmp.h) */
	int guard;                /* `guard on` before every run: freed memory unmapped */
	enum ft_keep keep;        /* how much of each run is stored; the raw log of a run not
				   * stored in full is deleted once it is stored */
	int workers;              /* parallel QEMU processes */
	double timeout_s;         /* per run, from dispatch to the end record */
	struct plan *plan;
	struct store *store;
	struct stats *stats;
	volatile sig_atomic_t *interrupted;  /* set by the caller's SIGINT/SIGTERM handler */
	const sigset_t *poll_mask;           /* signal mask while waiting (signals unblocked) */
	/* Called after every stored run with its result and raw log path (may be NULL). */
	void (*on_result)(void *ctx, const struct job *j, const struct ft_run_result *r,
			  const char *log);
	void *ctx;
};

enum sched_status {
	SCHED_DONE,         /* the plan ran to its end */
	SCHED_INTERRUPTED,  /* a signal stopped it; in-flight runs were dropped */
	SCHED_FAILED,       /* database error or QEMU failing again and again */
};

/* Run the plan to completion. Every QEMU started here is reaped before it returns. */
enum sched_status sched_run(const struct sched_cfg *cfg, char *err, size_t errlen);

#endif
