/*
 * guard.h - guard mode: freed memory unmapped from the kernel page table, so that any access
 * to it traps (docs/kernel.md, "Guard mode").
 */
#ifndef KERNEL_GUARD_H
#define KERNEL_GUARD_H

#include "types.h"
#include "vm.h"

/* set by the `guard on` command before a run; cleared by every boot */
extern bool guard_mode;

/* kvm: map RAM from the 2 MiB-aligned va `from` in 4 KiB pages (free pages left unmapped) /
 * restore pt's slots before it is destroyed. Nothing is allocated. */
void guard_install(pagetable_t pt, uint64_t from);
void guard_remove(void);
/* map or unmap npages pages from pa in the guarded map (nothing when it is not installed) */
void guard_set(uint64_t pa, uint64_t npages, bool mapped);

#endif
