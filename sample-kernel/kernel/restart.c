/*
 * restart.c - the warm restart: what a reset does, done by the kernel itself, so that QEMU
 * neither reloads the image nor resets its devices.
 *
 * The kernel runs from a copy of its loaded image (kernel.ld, entry.S). `restart` is
 * refused when the copy's text and read-only data no longer match the loaded image, or the
 * loaded .data no longer matches the checksum the cold start took of it (a stray write
 * during the run: only a real reset loads the image again). Otherwise every virtio device
 * is reset (status 0: no DMA into memory that is about to be reused, no interrupt
 * pending), the PLIC is cleared, paging is turned off, and an ecall takes the hart to
 * M-mode, where mtrapvec enters the boot stub exactly as a reset does: .data is copied
 * from the loaded image, .bss zeroed, mstart() rewrites every CSR, and main() boots as
 * after a reset (allocators rebuilt from nothing, devices probed again, a new hello). RAM
 * outside the image keeps the previous run's bytes, as it does across a reset.
 *
 * Nothing here allocates or fails; restart_warm() does not return.
 */
#include "kernel.h"
#include "memlayout.h"
#include "riscv.h"
#include "restart.h"
#include "virtio.h"

extern char image_load[], image_start[], data_start[], data_end[];

bool restart_warm_start;
/* outside .bss (zeroed at every start) and .data (reloaded): set by the cold start only */
static uint64_t loaded_data_sum __attribute__((section(".noinit")));

/* where the loaded image holds what the copy holds at p */
static const uint64_t *loaded(const char *p)
{
	return (const uint64_t *)(image_load + (p - image_start));
}

/* FNV-style hash of the loaded .data, 8-byte words */
static uint64_t loaded_data_hash(void)
{
	const uint64_t *p = loaded(data_start), *e = loaded(data_end);
	uint64_t h = 0xcbf29ce484222325UL;

	for (; p < e; p++)
		h = (h ^ *p) * 0x100000001b3UL;
	return h;
}

void restart_boot(bool warm)
{
	restart_warm_start = warm;
	if (!warm)
		loaded_data_sum = loaded_data_hash();
}

/*
 * Whether a warm restart may replace a reset: 0, or -EIO when the copy's text and read-only
 * data differ from the loaded image or the loaded .data from its cold-start checksum.
 * Reads only.
 */
int restart_check(void)
{
	const uint64_t *c = (const uint64_t *)image_start, *e = (const uint64_t *)data_start;
	const uint64_t *l = loaded(image_start);
	uint64_t diff = 0;

	for (; c + 4 <= e; c += 4, l += 4)
		diff |= (c[0] ^ l[0]) | (c[1] ^ l[1]) | (c[2] ^ l[2]) | (c[3] ^ l[3]);
	for (; c < e; c++, l++)
		diff |= *c ^ *l;
	return diff || loaded_data_hash() != loaded_data_sum ? -EIO : 0;
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
