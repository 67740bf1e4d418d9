/*
 * report.h - what the injector prints about runs: the repro command of a run, the result of
 * `injector run`, and the end of a sweep: its summary, which series ran to their end
 * (recorded in the database), and the unique findings as the analysis counts them.
 */
#ifndef FAULTLINE_INJECTOR_REPORT_H
#define FAULTLINE_INJECTOR_REPORT_H

#include "opts.h"
#include "plan.h"
#include "progress.h"
#include "store.h"

#define MAX_SHOWN 10

struct shown {
	struct ft_run_key key;
	char scenario[64], site[128];
	enum ft_outcome outcome;
	char where[512];
};

struct ctx {
	struct opts *o;
	struct store *store;
	struct plan *plan;
	struct stats *stats;
	struct shown shown[MAX_SHOWN];
	int nshown;
	struct ft_run_result last;
	char last_log[4096];
	int have_last;
};

/* The scheduler's per-run callback (ctx is a struct ctx). */
void report_on_result(void *ctx, const struct job *j, const struct ft_run_result *r,
		      const char *log);
/* `injector run`: print the run; returns the exit status. */
int report_run(struct ctx *c);
/*
 * `injector sweep`, once the scheduler returned (done: the plan ran to its end). Records
 * the series that completed as finished sweeps, prints the summary and the analysis's
 * unique findings and verdict (PASS, FAIL or INCOMPLETE); without the analysis (or
 * --no-analysis, or not done) the first runs with findings and a verdict of its own.
 * Returns 0 or EXIT_FINDINGS, as `python3 -m analysis findings` would exit.
 */
int report_sweep(struct ctx *c, int done);

#endif
