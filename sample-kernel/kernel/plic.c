/*
 * plic.c - the PLIC, only so that waiting loops can sleep in wfi: an enabled device
 * interrupt sets SEIP, which ends a wfi even with interrupts globally off (sstatus.SIE = 0),
 * so nothing traps. Nothing here allocates or fails.
 */
#include "kernel.h"
#include "memlayout.h"
#include "riscv.h"

#define PLIC_PRIORITY(irq) ((volatile uint32_t *)(PLIC + 4 * (irq)))
#define PLIC_SENABLE(irq)  ((volatile uint32_t *)(PLIC + 0x2080 + 4 * ((irq) / 32)))
#define PLIC_STHRESHOLD    ((volatile uint32_t *)(PLIC + 0x201000))
#define PLIC_SCLAIM        ((volatile uint32_t *)(PLIC + 0x201004))
#define SIE_SEIE           (1UL << 9)
#define PLIC_SOURCES       64         /* covers virt's virtio (1-8), UART (10), PCIe (32-35) */

/* Route irq to hart 0's S-mode context (context 1) and let it end a wfi. */
void plic_enable(unsigned irq)
{
	*PLIC_PRIORITY(irq) = 1;
	*PLIC_SENABLE(irq) |= 1U << (irq % 32);
	*PLIC_STHRESHOLD = 0;
	csr_write(sie, csr_read(sie) | SIE_SEIE);
}

/* Claim and complete every pending interrupt (the caller has quieted its device first). */
void plic_ack_all(void)
{
	uint32_t irq;

	while ((irq = *PLIC_SCLAIM))
		*PLIC_SCLAIM = irq;
}

/* Back to the state after a machine reset: nothing routed, nothing pending (restart.c). */
void plic_reset(void)
{
	plic_ack_all();
	for (unsigned irq = 1; irq < PLIC_SOURCES; irq++)
		*PLIC_PRIORITY(irq) = 0;
	for (unsigned w = 0; w < PLIC_SOURCES / 32; w++)
		*PLIC_SENABLE(32 * w) = 0;
	csr_write(sie, csr_read(sie) & ~SIE_SEIE);
}
