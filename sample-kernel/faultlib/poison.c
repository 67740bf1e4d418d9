/*
 * poison.c - the poison check: word-wide compare, byte-wise only to name the first changed
 * byte. Nothing here allocates or fails.
 */
#include "poison.h"
#include "record.h"

static size_t first_changed(const uint8_t *p, size_t n, uint8_t poison)
{
	uint64_t word = 0x0101010101010101UL * poison;
	size_t i = 0;

	if (!((uintptr_t)p & 7))
		while (i + 8 <= n && *(const uint64_t *)(p + i) == word)
			i += 8;
	while (i < n && p[i] == poison)
		i++;
	return i;
}

_Bool fl_poison_check(const char *cls, const void *p, size_t n, uint8_t poison,
		      uintptr_t pc, uintptr_t fp)
{
	size_t off = first_changed(p, n, poison);

	if (off == n)
		return 1;
	fl_rec_poison(cls, (uintptr_t)p, off, pc, fp);
	return 0;
}
