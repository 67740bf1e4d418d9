/*
 * resource.h - acquire/release records for what a kernel holds that is not memory: a table
 * slot, an id, a device descriptor, a claimed device (docs/protocol.md §4 `acq`/`rel`;
 * docs/kernel.md, "Annotating a resource"). The host checks them as it checks allocations:
 * held at the end checkpoint, released twice, released without being acquired, still held
 * by an operation that failed.
 *
 * A resource is named by its kind (a token such as "pid") and an id unique among the held
 * resources of that kind (the slot index, the pid, the descriptor's address). Call these at
 * the line that takes or gives back the resource: the record's pc is the caller's. Never
 * call them from the console transport: a record about the channel's own descriptors would
 * recurse into the channel. Nothing here allocates or fails.
 */
#ifndef FAULTLIB_RESOURCE_H
#define FAULTLIB_RESOURCE_H

#include <stdint.h>

void fl_res_acquire(const char *kind, uintptr_t id);
void fl_res_release(const char *kind, uintptr_t id);

#endif
