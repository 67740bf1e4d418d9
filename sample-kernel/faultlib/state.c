/*
 * state.c - state promises: the `state begin` and `state end` records (state.h). The pc of
 * both is the return address into the function that made the promise.
 */
#include "state.h"

#include "record.h"

__attribute__((noinline)) void fl_state_begin(struct fl_state *s, const char *name,
					       uint64_t digest)
{
	s->name = name;
	s->digest = digest;
	fl_rec_state(false, name, digest, 0, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) int fl_state_end(const struct fl_state *s, uint64_t digest, int rc)
{
	fl_rec_state(true, s->name, digest, rc, (uintptr_t)__builtin_return_address(0));
	return rc;
}
