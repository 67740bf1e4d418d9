/*
 * restart.c - the warm restart: what a reset does, done by the kernel itself, so that QEMU
 * neither reloads the image (which throws away every translated block of kernel code) nor
 * resets its devices.
 *
 * A cold start records a checksum of everything a run must never write: text, read-only
 * data and the pristine copy of .data that entry.S took. `restart` is refused when the image
 * no longer matches it (a stray write during the run: only a real reset reloads the image).
 * Otherwise every virtio device is reset (status 0: no DMA into memory that is about to be
 * reused, no interrupt pending), every PLIC source is disabled and completed, paging is
 * turned off, and an ecall takes the hart to M-mode, where mtrapvec jumps to _warm_entry:
 * .data is copied back, .bss zeroed, mstart() rewrites every CSR, and main() boots exactly
 * as after a reset (allocators rebuilt from nothing, devices probed again, a new hello).
 * RAM outside the image keeps the previous run's bytes, as it does across a reset.
 *
 * Nothing here allocates or fails; restart_warm() does not return.
 */
#include "kernel.h"
#include "memlayout.h"
#include "riscv.h"
#include "restart.h"

#define MMIO_MAGIC    0x000
#define MMIO_STATUS   0x070
#define VIRTIO_MAGIC  0x74726976

extern char _entry[], data_start[], data_pristine[], data_end[];

bool restart_warm_start;
/* outside .bss (zeroed at every start) and .data (restored): set by the cold start only */
static uint64_t image_sum __attribute__((section(".noinit")));

/* FNV-style hash over 64-bit words; [lo, hi) is 8-byte aligned */
static uint64_t hash_words(uint64_t h, const char *lo, const char *hi)
{
	const uint64_t *p = (const uint64_t *)lo, *e = (const uint64_t *)hi;

	for (; p + 4 <= e; p += 4)
		h = ((((h ^ p[0]) * 0x100000001b3UL ^ p[1]) * 0x100000001b3UL ^ p[2]) *
		     0x100000001b3UL ^ p[3]) * 0x100000001b3UL;
	for (; p < e; p++)
		h = (h ^ *p) * 0x100000001b3UL;
	return h;
}

/* text, rodata, build id, scenarios: everything below .data; then the pristine .data */
static uint64_t image_hash(void)
{
	uint64_t h = hash_words(0xcbf29ce484222325UL, _entry, data_start);

	return hash_words(h, data_pristine, data_pristine + (data_end - data_start));
}

void restart_boot(bool warm)
{
	restart_warm_start = warm;
	if (!warm)
		image_sum = image_hash();
}

int restart_check(void)
{
	return image_hash() == image_sum ? 0 : -EIO;
}

void restart_warm(void)
{
	for (unsigned i = 0; i < VIRTIO_SLOTS; i++) {
		volatile uint32_t *r = (volatile uint32_t *)(VIRTIO0 + i * VIRTIO_STRIDE);
		if (r[MMIO_MAGIC / 4] == VIRTIO_MAGIC)
			r[MMIO_STATUS / 4] = 0;
	}
	plic_reset();
	csr_write(satp, 0);
	sfence_vma();
	register uint64_t a7 asm("a7") = RESTART_MAGIC;
	asm volatile("ecall" : : "r"(a7) : "memory");
	for (;;)
		;
}
