/*
 * usertrap.c - traps from U-mode and the return to U-mode.
 *
 * uservec (trampoline.S) saves the user registers in the trapframe, switches to the kernel
 * page table and this process's kernel stack and calls usertrap(). A system call runs its
 * handler (syscall.c); a page fault in an mmap region maps the page (mmap.c); anything else
 * kills the process. A process that was killed exits here, on its way back to user space.
 * Nothing here allocates except through the handlers it calls, which fail back cleanly.
 */
#include "kernel.h"
#include "riscv.h"
#include "proc.h"
#include "mmap.h"
#include "faultlib/record.h"

extern char trampoline[], uservec[], userret[];
void kernelvec(void);

/*
 * Device interrupts stay masked while a process runs in user mode: the kernel polls its
 * devices and only uses the PLIC to end a wfi, but in U-mode an enabled pending interrupt
 * would trap at once. So sie is cleared on the way out and restored on the way in.
 */
static uint64_t kernel_sie;

#define SCAUSE_ECALL_U     8
#define SCAUSE_FETCH_PF    12
#define SCAUSE_LOAD_PF     13
#define SCAUSE_STORE_PF    15

static void user_fault_log(struct proc *p, uint64_t scause, uint64_t sepc, uint64_t stval)
{
	char buf[96];

	ksnprintf(buf, sizeof(buf), "user fault: pid %d scause %lx sepc %lx stval %lx", p->pid,
		  scause, sepc, stval);
	fl_rec_log(buf);
}

void usertrap(void)
{
	struct proc *p = curproc;
	uint64_t scause = csr_read(scause);
	uint64_t stval = csr_read(stval);
	int rc;

	csr_write(stvec, (uint64_t)kernelvec);   /* traps from here on are kernel traps */
	csr_write(sie, kernel_sie);
	p->tf->epc = csr_read(sepc);

	switch (scause) {
	case SCAUSE_ECALL_U:
		p->tf->epc += 4;
		syscall(p);
		break;
	case SCAUSE_FETCH_PF:
	case SCAUSE_LOAD_PF:
	case SCAUSE_STORE_PF:
		rc = mmap_fault(p, stval, scause == SCAUSE_STORE_PF);
		if (rc < 0) {
			user_fault_log(p, scause, p->tf->epc, stval);
			proc_kill(p->pid, rc);
		}
		break;
	default:
		user_fault_log(p, scause, p->tf->epc, stval);
		proc_kill(p->pid, -EFAULT);
		break;
	}
	if (p->killed)
		proc_exit(p, p->kill_status);
	usertrapret(p);
}

/* usertrapret - return to user space at tf->epc with the user's registers. */
void usertrapret(struct proc *p)
{
	uint64_t tramp_uservec = TRAMPOLINE + (uint64_t)(uservec - trampoline);
	uint64_t tramp_userret = TRAMPOLINE + (uint64_t)(userret - trampoline);
	uint64_t sstatus = csr_read(sstatus);

	kernel_sie = csr_read(sie);
	csr_write(sie, 0);
	csr_write(stvec, tramp_uservec);          /* no kernel trap may happen from here on */
	p->tf->kernel_satp = csr_read(satp);
	p->tf->kernel_sp = (uint64_t)p->kstack + KSTACK_SIZE;
	p->tf->kernel_trap = (uint64_t)usertrap;

	sstatus &= ~(SSTATUS_SPP | SSTATUS_SPIE); /* to U-mode, interrupts stay off */
	csr_write(sstatus, sstatus);
	csr_write(sepc, p->tf->epc);

	((void (*)(uint64_t, uint64_t))tramp_userret)(MAKE_SATP(p->pt), TRAPFRAME);
	__builtin_unreachable();
}
