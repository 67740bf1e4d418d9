/*
 * start.c - M-mode set-up, then drop to S-mode in main(). Nothing here can fail; nothing is
 * allocated. All exceptions and interrupts are delegated to S-mode; PMP opens all memory.
 */
#include "kernel.h"
#include "riscv.h"

void main(void);
void mtrapvec(void);

void mstart(void)
{
	uint64_t ms = csr_read(mstatus);

	ms = (ms & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S | MSTATUS_FS_INIT;
	csr_write(mstatus, ms);
	csr_write(mepc, (uint64_t)main);
	csr_write(mtvec, (uint64_t)mtrapvec);
	csr_write(satp, 0);
	csr_write(medeleg, 0xffff);
	csr_write(mideleg, 0xffff);
	csr_write(mcounteren, 7);             /* rdtime etc. from S-mode */
	csr_write(pmpaddr0, 0x3fffffffffffffUL);
	csr_write(pmpcfg0, 0xf);              /* TOR, RWX: all memory */
	/* main() starts a fresh frame-pointer chain: no return address, no caller frame */
	asm volatile("li ra, 0\n\tli s0, 0\n\tmret");
}

/* called from mtrapvec: an M-mode trap is a kernel bug with no S-mode state to report */
void mtrap(void)
{
	uart_printf("M-mode trap: mcause %lx mepc %lx mtval %lx\n", csr_read(mcause),
		    csr_read(mepc), csr_read(mtval));
	power_off(3);
}
