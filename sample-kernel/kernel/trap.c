/*
 * trap.c - S-mode traps. kernelvec saves the registers and calls kerneltrap(); an
 * unexpected trap is reported (UART line + `trap` record with scause/sepc/stval and a
 * frame-pointer backtrace of the trapped context), the run ends, and the kernel serves
 * only quit/reset (a `restart` is refused). Traps from U-mode have their own entry
 * (trampoline.S) and dispatcher (usertrap.c); kerneltrap() is the place to dispatch handled
 * S-mode causes.
 * Nothing here allocates or fails.
 */
#include "kernel.h"
#include "riscv.h"
#include "faultlib/record.h"

/* the layout kernelvec.S saves; x[i] is register xi except x[0], which holds nothing */
struct trapregs {
	uint64_t ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4, a5, a6, a7;
	uint64_t s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, t3, t4, t5, t6;
};

void kernelvec(void);

void trap_init(void)
{
	csr_write(stvec, (uint64_t)kernelvec);
}

static const char *cause_name(uint64_t scause)
{
	static const char *const names[] = {
		"instruction misaligned", "instruction access fault", "illegal instruction",
		"breakpoint", "load misaligned", "load access fault", "store misaligned",
		"store access fault", "ecall from U", "ecall from S", "?", "?",
		"instruction page fault", "load page fault", "?", "store page fault",
	};
	if (scause & SCAUSE_INTR)
		return "interrupt";
	return scause < ARRAY_SIZE(names) ? names[scause] : "?";
}

/* An unexpected trap: report it and end the run; never returns. */
static void __attribute__((noreturn)) trap_unexpected(struct trapregs *r, uint64_t scause,
						      uint64_t sepc, uint64_t stval)
{
	uintptr_t pcs[FL_BT_MAX];
	int n;

	uart_printf("unexpected trap: %s scause %lx sepc %lx stval %lx\nbacktrace:",
		    cause_name(scause), scause, sepc, stval);
	n = fl_trap_backtrace(sepc, r->ra, r->s0, pcs, FL_BT_MAX);
	for (int i = 0; i < n; i++)
		uart_printf(" %lx", pcs[i]);
	uart_puts("\n");
	fl_trap(scause, sepc, stval, r->ra, r->s0);
}

void kerneltrap(struct trapregs *r)
{
	uint64_t scause = csr_read(scause), sepc = csr_read(sepc), stval = csr_read(stval);

	/* no S-mode trap is expected yet: interrupts stay off and the kernel does not fault */
	trap_unexpected(r, scause, sepc, stval);
}
