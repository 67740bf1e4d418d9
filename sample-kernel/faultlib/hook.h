/*
 * hook.h - the faultline fault hook, portable: no dependency on the kernel around it.
 *
 * Every allocation attempt of an audited allocator calls fl_hook_attempt() before doing any
 * work; a true answer means "fail this attempt" (the allocator then returns NULL and emits a
 * `fault` record). The host arms the hook with `arm <n> <once|persist> [class=..] [lo= hi=]`
 * (docs/protocol.md §3); fl_hook_run_begin() starts a run's counters and fl_hook_run_end()
 * reports them and disarms, so no arming outlives its run.
 *
 * Ownership: the hook is a single static state; it allocates nothing.
 */
#ifndef FAULTLIB_HOOK_H
#define FAULTLIB_HOOK_H

#include <stdbool.h>
#include <stdint.h>

enum fl_class {
	FL_CLASS_PAGE,
	FL_CLASS_OBJ,
	FL_NCLASS
};

const char *fl_class_name(enum fl_class cls);

/*
 * Parse and apply the arguments of an `arm` command (the text after "arm "). Returns 0, or
 * -1 with *reason set to a protocol reason token; on error the previous arming is kept.
 */
int fl_hook_arm(const char *args, const char **reason);
bool fl_hook_is_armed(void);

/* Start a run: attempt sequence numbers restart at 1. */
void fl_hook_run_begin(void);

/*
 * One allocation attempt of class cls by the caller at pc. Stores the attempt's sequence
 * number in *seq and returns true when the armed fault fails this attempt.
 */
bool fl_hook_attempt(enum fl_class cls, uintptr_t pc, unsigned long *seq);

/* While on, attempts are neither counted nor failed (an init outside any run). */
void fl_hook_suspend(bool on);

/* Attempts so far in this run (the value a `free` record carries). */
unsigned long fl_hook_seq(void);

struct fl_hook_stats {
	bool fired;
	unsigned long attempts;
	unsigned long faults;
};

/* End a run: report what happened and disarm. */
void fl_hook_run_end(struct fl_hook_stats *st);

#endif
