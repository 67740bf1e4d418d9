/*
 * checks.h - the per-run checks (DESIGN.md §6, docs/schema.md): leaks, bad frees, unbalanced
 * unwinds, unwind order, refcounts, the kernel/host accounting cross-check, and the outcome.
 * The names of the outcomes and of the finding classes live here, once (checks.c).
 */
#ifndef FT_CHECKS_H
#define FT_CHECKS_H

#include "run.h"

/* Judge a run whose stream is complete: fills r->findings, r->outcome, r->expected_panic
 * and r->infra_reason. Reads nothing but r and its build. */
void ft_check_run(struct ft_run *r, const struct ft_run_end *how);

/* The outcome named s; FT_INFRA for a name this tracer does not know. */
enum ft_outcome ft_outcome_of(const char *s);

#endif
