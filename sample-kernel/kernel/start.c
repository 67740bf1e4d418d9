/*
 * start.c - M-mode set-up, then drop to S-mode in main(). Nothing here can fail; nothing is
 * allocated. All exceptions and interrupts are delegated to S-mode except an ecall from
 * S-mode, which is how a warm restart comes back here (restart.c); PMP opens all memory.
 * Every CSR the kernel uses is written, so a warm restart starts from the same state as a
 * reset.
 */
#include "kernel.h"
#include "riscv.h"
#include "restart.h"

#define EXC_ECALL_S 9

void main(void);
void mtrapvec(void);

/*
 * A kernel that boots slowly, for measuring what a sweep pays per boot (build/kernel-slow.elf,
 * `make bench`): every boot first spins for about BOOT_DELAY_MS of wall time. Guest time
 * cannot measure that (-icount runs it from instructions, sleep=off), so the loop is sized
 * by what QEMU's TCG does on the machines measured: ~100,000 turns of 34 instructions a
 * millisecond (1 s of guest time took 0.3 s). `make bench` prints the delay it really saw.
 */
#define BOOT_DELAY_TURNS_PER_MS 100000ULL

static void boot_delay(void)
{
#ifdef BOOT_DELAY_MS
	uint64_t sum = 0;

	for (uint64_t n = (uint64_t)BOOT_DELAY_MS * BOOT_DELAY_TURNS_PER_MS; n; n--)
		asm volatile(".rept 32\n\taddi %0, %0, 1\n\t.endr" : "+r"(sum));
#endif
}

/* warm: 0 after power-on or a reset (entry.S's boot_entry), 1 after a warm restart */
void mstart(long warm)
{
	boot_delay();
	csr_write(mstatus, MSTATUS_MPP_S | MSTATUS_FS_INIT);
	csr_write(mie, 0);
	csr_write(mip, 0);
	csr_write(mscratch, 0);
	csr_write(mepc, (uint64_t)main);
	csr_write(mtvec, (uint64_t)mtrapvec);
	csr_write(satp, 0);
	csr_write(stvec, 0);
	csr_write(sscratch, 0);
	csr_write(medeleg, 0xffff & ~(1UL << EXC_ECALL_S));
	csr_write(mideleg, 0xffff);
	csr_write(mcounteren, 7);             /* rdtime etc. from S-mode */
	csr_write(pmpaddr0, 0x3fffffffffffffUL);
	csr_write(pmpcfg0, 0xf);              /* TOR, RWX: all memory */
	asm volatile("sfence.vma zero, zero" ::: "memory");
	restart_boot(warm != 0);
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
