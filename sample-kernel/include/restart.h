/*
 * restart.h - the warm restart (`restart`, docs/protocol.md §3): back to the kernel's entry
 * without a machine reset. Usable from assembly (the magic only).
 */
#ifndef KERNEL_RESTART_H
#define KERNEL_RESTART_H

/* a7 of the ecall that asks M-mode to restart the kernel ("warmboot" in ASCII, truncated) */
#define RESTART_MAGIC 0x776172

#ifndef __ASSEMBLER__
#include "types.h"

/* true when this start is a warm restart, false after power-on or a machine reset */
extern bool restart_warm_start;

/* At every start, before anything else runs: a cold start records the loaded .data's checksum. */
void restart_boot(bool warm);

/*
 * Whether a warm restart may replace a reset now: 0, or -EIO when the running copy of the
 * image (text, read-only data) differs from the loaded image, or the loaded .data from what
 * the cold start found.
 */
int restart_check(void);

/* Quiesce the devices and go back to the entry (M-mode, .data restored, .bss zeroed). */
void restart_warm(void) __attribute__((noreturn));
#endif

#endif
