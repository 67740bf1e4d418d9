/*
 * poison.h - the poison check of freed memory (docs/protocol.md §4, `poison`): an allocator
 * fills what it frees with one byte value and checks it when the memory leaves its
 * quarantine; a byte that changed meanwhile is a write after free.
 */
#ifndef FAULTLIB_POISON_H
#define FAULTLIB_POISON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check that the n bytes at p all equal poison. When one does not, emit a `poison` record
 * for the object at p of allocator class cls, with the first changed byte's offset, pc (the
 * check's caller) and the backtrace from frame fp. Returns true when the poison is intact.
 */
_Bool fl_poison_check(const char *cls, const void *p, size_t n, uint8_t poison,
		      uintptr_t pc, uintptr_t fp);

#endif
