/* resource.c - the `acq`/`rel` records; see resource.h for the contract. */
#include "resource.h"

#include "record.h"

/* Not inlined: the record's pc is this call's return address, its backtrace starts there. */
__attribute__((noinline)) void fl_res_acquire(const char *kind, uintptr_t id)
{
	fl_rec_resource("acq", kind, id, (uintptr_t)__builtin_return_address(0),
			(uintptr_t)__builtin_frame_address(0));
}

__attribute__((noinline)) void fl_res_release(const char *kind, uintptr_t id)
{
	fl_rec_resource("rel", kind, id, (uintptr_t)__builtin_return_address(0),
			(uintptr_t)__builtin_frame_address(0));
}
