/*
 * cov.h - per-run code coverage for a kernel compiled with -fsanitize-coverage=trace-pc,
 * portable like the rest of faultlib.
 *
 * gcc calls __sanitizer_cov_trace_pc() at the start of every basic block of an instrumented
 * file; faultlib keeps one bit per 2-byte instruction slot of the covered text range (the
 * call's return address marks the block) and sends the set bits as `cov` records at the end
 * of a run (docs/protocol.md §4). A kernel built without the flag never calls the hook: it
 * sends no `cov` record and is swept exactly as before.
 *
 * Ownership: a single static bitmap (FL_COV_TEXT_MAX bytes of text); nothing is allocated.
 * Blocks outside [lo, hi) or beyond the bitmap are not marked; fl_cov_send() says so in a
 * `log` record.
 */
#ifndef FAULTLIB_COV_H
#define FAULTLIB_COV_H

#include <stddef.h>
#include <stdint.h>

#define FL_COV_TEXT_MAX (256 * 1024)

/* The text range the bitmap covers (call once at boot, before the first run). */
void fl_cov_init(uintptr_t lo, uintptr_t hi);
/* Forget the blocks seen so far: a run's coverage starts at its `run`. */
void fl_cov_run_begin(void);
/* Send the blocks seen since fl_cov_run_begin() as `cov` records, before `end`. */
void fl_cov_send(void);

void __sanitizer_cov_trace_pc(void);

#endif
