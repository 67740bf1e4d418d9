/*
 * hook.h - the faultline fault hook, portable: no dependency on the kernel around it.
 *
 * Every allocation attempt of an audited allocator calls fl_hook_attempt() before doing any
 * work; a true answer means "fail this attempt" (the allocator then returns NULL and emits a
 * `fault` record). A driver asks fl_io_fails() at each point where its device can refuse or
 * fail (class io, Linux's fail_io): a true answer sends it down its device-error path.
 * The host arms the hook with `arm <n> <once|persist> [class=..] [lo= hi=]` (docs/protocol.md
 * §3); fl_hook_run_begin() starts a run's counters and fl_hook_run_end()
 * reports them and disarms, so no arming outlives its run.
 *
 * Ownership: the hook is a single static state; it allocates nothing.
 */
#ifndef FAULTLIB_HOOK_H
#define FAULTLIB_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fl_class {
	FL_CLASS_PAGE,
	FL_CLASS_OBJ,
	FL_CLASS_IO,
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

/*
 * One attempt of a device operation that can fail: the device accepting the driver's
 * features or status, a request's completion or its status. Counted with the allocation
 * attempts (class io). Returns true when the armed fault fails it, after emitting the
 * `fault` record (class io, size 0) for the caller; the caller then takes the path a real
 * device failure takes.
 */
bool fl_io_fails(void);
/* While on, attempts are neither counted nor failed (an init outside any run). */
void fl_hook_suspend(bool on);

/* Attempts so far in this run (the value a `free` record carries). */
unsigned long fl_hook_seq(void);

/*
 * An allocator's hook in two calls. At the top of the allocation:
 *	struct fl_alloc fa;
 *	if (FL_ALLOC_FAILS(&fa, FL_CLASS_OBJ, size))
 *		return NULL;
 * which asks the hook and, when it fails the attempt, sends `fault`; then every return is
 * `return fl_alloc_done(&fa, p);`, which sends `alloc` for p, or `oom` when p is NULL, and
 * returns p. In the free, FL_FREE(cls, p, bad) sends `free`, or `badfree` of kind bad
 * ("invalid", "double", "mismatch") when bad is not NULL, and returns bad != NULL. The
 * macros take the place from the allocator's own frame (its caller's pc, its frame
 * pointer), so they belong in the entry point itself.
 */
struct fl_alloc {
	enum fl_class cls;
	size_t size;
	unsigned long seq;
	uintptr_t pc, fp;
};

#define FL_CALLER_PC() ((uintptr_t)__builtin_return_address(0))
#define FL_MY_FP()     ((uintptr_t)__builtin_frame_address(0))
#define FL_ALLOC_FAILS(fa, cls, size) \
	fl_alloc_fails((fa), (cls), (size), FL_CALLER_PC(), FL_MY_FP())
#define FL_FREE(cls, p, bad) fl_free_done((cls), (p), (bad), FL_CALLER_PC(), FL_MY_FP())

bool fl_alloc_fails(struct fl_alloc *fa, enum fl_class cls, size_t size, uintptr_t pc,
		    uintptr_t fp);
void *fl_alloc_done(const struct fl_alloc *fa, void *p);
bool fl_free_done(enum fl_class cls, const void *p, const char *bad, uintptr_t pc,
		  uintptr_t fp);

struct fl_hook_stats {
	bool fired;
	unsigned long attempts;
	unsigned long faults;
};

/* End a run: report what happened and disarm. */
void fl_hook_run_end(struct fl_hook_stats *st);

#endif
