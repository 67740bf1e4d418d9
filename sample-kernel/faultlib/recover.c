/* recover.c - the `recover` record; see recover.h. */
#include "recover.h"

#include <stdint.h>

#include "record.h"

void __attribute__((noinline)) fl_recover(void)
{
	fl_rec_site("recover", (uintptr_t)__builtin_return_address(0),
		    (uintptr_t)__builtin_frame_address(0));
}
