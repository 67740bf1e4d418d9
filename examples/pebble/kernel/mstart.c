/*
 * mstart.c - M-mode set-up, then main() in S-mode without paging. Every exception and
 * interrupt goes to S-mode; PMP opens all memory. mcounteren stays 0: S-mode has no clock.
 */
#include "pebble.h"

#define MSTATUS_MPP_S  (1UL << 11)
#define MSTATUS_FS     (1UL << 13)

#define csr_write(reg, v) asm volatile("csrw " #reg ", %0" :: "r"((uint64_t)(v)))

void trapvec(void);

void mstart(void)
{
	csr_write(mstatus, MSTATUS_MPP_S | MSTATUS_FS);
	csr_write(mepc, main);
	csr_write(medeleg, 0xffff);
	csr_write(mideleg, 0xffff);
	csr_write(mie, 0);
	csr_write(satp, 0);
	csr_write(stvec, trapvec);
	csr_write(pmpaddr0, 0x3fffffffffffffUL);
	csr_write(pmpcfg0, 0xf);
	asm volatile("li ra, 0\n\tli s0, 0\n\tmret");
}
