/*
 * cov.c - the coverage bitmap and its `cov` records (see cov.h).
 *
 * Bit k of byte j stands for the instruction slot at lo + 2 * (8 * j + k). A record carries
 * a stretch of the bitmap that starts at a non-zero byte: `cov <pc:hex> <bytes:hex>`, pc
 * being the slot of the stretch's first bit. Zero stretches longer than FL_COV_GAP bytes are
 * not sent. This file is never compiled with the coverage flag (faultlib is not
 * instrumented), so the hook cannot recurse.
 */
#include "cov.h"
#include "record.h"

#define FL_COV_BYTES (FL_COV_TEXT_MAX / 16)
#define FL_COV_GAP 8                 /* zero bytes that end a stretch */
/* hex digits per record: the line bound minus "cov ", a pc and two spaces */
#define FL_COV_CHUNK ((FL_LINE_MAX - 1 - 4 - 16 - 2) / 2)

static uint8_t bitmap[FL_COV_BYTES];
static uintptr_t cov_lo, cov_hi;
static unsigned long dropped;

void fl_cov_init(uintptr_t lo, uintptr_t hi)
{
	cov_lo = lo;
	cov_hi = hi - lo > FL_COV_TEXT_MAX ? lo + FL_COV_TEXT_MAX : hi;
}

/* bytes of the bitmap the covered text uses */
static size_t used_bytes(void)
{
	return (cov_hi - cov_lo + 15) / 16;
}

void fl_cov_run_begin(void)
{
	for (size_t i = 0; i < used_bytes(); i++)
		bitmap[i] = 0;
	dropped = 0;
}

void __sanitizer_cov_trace_pc(void)
{
	uintptr_t slot = ((uintptr_t)__builtin_return_address(0) - cov_lo) >> 1;

	if (slot < (cov_hi - cov_lo) >> 1)
		bitmap[slot >> 3] |= (uint8_t)(1u << (slot & 7));
	else
		dropped++;
}

/* end of the stretch starting at a non-zero byte `from`: last non-zero byte + 1 */
static size_t stretch_end(size_t from, size_t lim)
{
	size_t end = from + 1, i;

	for (i = from + 1; i < lim && i - end < FL_COV_GAP && i - from < FL_COV_CHUNK; i++)
		if (bitmap[i])
			end = i + 1;
	return end;
}

void fl_cov_send(void)
{
	size_t lim = used_bytes(), i = 0;

	while (i < lim) {
		size_t end;

		if (!bitmap[i]) {
			i++;
			continue;
		}
		end = stretch_end(i, lim);
		fl_rec_cov(cov_lo + 16 * i, bitmap + i, end - i);
		i = end;
	}
	if (dropped)
		fl_rec_log("cov: blocks outside the covered text were not counted");
}
