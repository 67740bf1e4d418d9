/*
 * recover.h - marking deliberate recovery from a failed allocation (docs/kernel.md,
 * "Recovery sites"). A kernel that takes a failure and carries on on purpose (a retry with a
 * smaller size, a fallback, an optional cache it does without) says so where it does it:
 *
 *	buf = page_alloc(2);
 *	if (!buf) {
 *		FL_RECOVER();            // a smaller buffer will do
 *		buf = page_alloc(0);
 *	}
 *
 * FL_RECOVER() emits `recover <pc> <bt>` (docs/protocol.md §4): the pc and backtrace of the
 * function that recovers. The host then does not report the failure it recovered from as
 * error-swallowed. It allocates nothing and never fails.
 */
#ifndef FAULTLIB_RECOVER_H
#define FAULTLIB_RECOVER_H

/* The recovering function is fl_recover()'s caller: its pc is the record's pc. */
void fl_recover(void);

#define FL_RECOVER() fl_recover()

#endif
