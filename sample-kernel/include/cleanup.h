/*
 * cleanup.h - scope guards: the C analogue of Rust's Drop, after Linux's cleanup.h.
 *
 *   DEFINE_FREE(page, void *, page_free(it))       // once, next to the type
 *   scoped_free(page) void *pg = page_alloc(0);     // at the point of acquisition
 *   if (!pg) return -ENOMEM;                        // every early return frees pg
 *   ...
 *   return take(pg);                                // ownership leaves explicitly
 *
 * Rules: declare and initialise a guarded variable at the point of acquisition (never
 * uninitialised: the guard runs on every exit from the scope); the free body sees the value
 * as `it` and runs only when it is non-NULL; ownership leaves only through take() (returns
 * the pointer and disarms the guard) or disarm() (the pointer was handed to an owner that
 * will free it). Never mix guards and goto unwind ladders in one function: a goto that jumps
 * over a guarded declaration is an error, and a reader must see one unwind discipline.
 */
#ifndef KERNEL_CLEANUP_H
#define KERNEL_CLEANUP_H

#include "mem.h"

/* The guard gets the variable's address as void *, so one guard serves any pointer type. */
#define DEFINE_FREE(name, type, body) \
	static inline void free_guard_##name(void *slot) \
	{ \
		type it; \
		__builtin_memcpy(&it, slot, sizeof(it)); \
		if (it) { \
			body; \
		} \
	}

#define scoped_free(name) __attribute__((cleanup(free_guard_##name)))

/* Hand ownership out of a guarded variable: yields its value and leaves NULL behind. */
#define take(p) ({ __typeof__(p) take_val = (p); (p) = NULL; take_val; })

/* The object is now owned elsewhere (linked into a structure that frees it). */
#define disarm(p) ((void)((p) = NULL))

/* the guards every subsystem needs: a page_alloc block, an obj_alloc object */
DEFINE_FREE(page, void *, page_free(it))
DEFINE_FREE(obj, void *, obj_free(it))

#endif
