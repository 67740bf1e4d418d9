/*
 * proc.h - processes, the scheduler, U-mode entry and exit, and the system calls built on
 * them (proc.c, usertrap.c, syscall.c, fork.c, exec.c; swtch.S, trampoline.S).
 *
 * A user address space (Sv39, one page table per process):
 *
 *   [USTACK_BOTTOM, USER_BASE)   the user stack (USTACK_PAGES pages; unmapped guard below)
 *   [USER_BASE, p->sz)           the ELF image: text, data, bss, each page mapped
 *   [MMAP_BASE, MMAP_LIMIT)      anonymous mmap regions (mmap.h), mapped on first touch
 *   TRAPFRAME                    this process's trapframe (no PTE_U), 2 MiB below the
 *                                trampoline: in a last-level table of its own
 *   TRAMPOLINE                   uservec/userret, shared with the kernel page table
 *
 * The image and stack pages are owned by the page table (freed by vm_unmap(.., true)); mmap
 * pages are owned by their anon object and only mapped here.
 */
#ifndef KERNEL_PROC_H
#define KERNEL_PROC_H

#include "types.h"
#include "vm.h"
#include "memlayout.h"
#include "sysnum.h"

#define NPROC         16                       /* a scenario fills it: keep it small */
#define KSTACK_ORDER  1                        /* 8 KiB kernel stacks */
#define KSTACK_SIZE   (PGSIZE << KSTACK_ORDER)

#define USER_BASE     0x100000UL               /* user programs are linked here */
#define USER_LIMIT    0x200000UL               /* an image ends below this */
#define USTACK_PAGES  2
#define USTACK_BOTTOM (USER_BASE - USTACK_PAGES * PGSIZE)
/*
 * Not the page next to the trampoline: a 2 MiB region of its own, so mapping it needs a
 * last-level table of its own and can fail after the trampoline was mapped (the undo step
 * in proc_pagetable() is a real error path, not dead code).
 */
#define TRAPFRAME     (TRAMPOLINE - LEVEL_SIZE(1))

/* callee-saved registers, switched by swtch() */
struct context {
	uint64_t ra, sp;
	uint64_t s[12];
};

/*
 * The trapframe page: uservec saves user registers here and userret restores them. The
 * first four words tell uservec how to enter the kernel. Offsets are fixed by trampoline.S.
 */
struct trapframe {
	uint64_t kernel_satp;    /*  0 */
	uint64_t kernel_sp;      /*  8: top of this process's kernel stack */
	uint64_t kernel_trap;    /* 16: usertrap() */
	uint64_t epc;            /* 24: user pc */
	uint64_t regs[32];       /* 32 + 8 * n: register xn (regs[0] unused) */
};
#define REG_SP 2
#define REG_A0 10
#define REG_A1 11
#define REG_A2 12
#define REG_A3 13
#define REG_A7 17

enum proc_state { P_NEW, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE };

struct region;

struct proc {
	int pid;
	int slot;                   /* index in the process table, -1 when not registered */
	enum proc_state state;
	struct proc *parent;        /* NULL: owned by the kernel (reaped by proc_drain) */
	const void *chan;           /* what a sleeping process waits for */
	bool killed;
	int kill_status;            /* exit status when killed */
	int xstatus;                /* exit status, valid in P_ZOMBIE */
	void *kstack;               /* page_alloc(KSTACK_ORDER) */
	struct trapframe *tf;       /* page_alloc(0), mapped at TRAPFRAME */
	pagetable_t pt;             /* NULL after exit */
	uint64_t sz;                /* [USTACK_BOTTOM, sz) is mapped; 0: no image yet */
	struct region *regions;     /* mmap regions, sorted by address */
	struct context ctx;
	char name[16];
};

extern struct proc *curproc;

/* proc.c: process table (an init step), life cycle, scheduler */
int  proc_init(void);
void proc_fini(void);
int  proc_create(const char *name, struct proc **out);
void proc_free(struct proc *p);
void proc_set_name(struct proc *p, const char *name);
pagetable_t proc_pagetable(struct trapframe *tf);
void proc_pagetable_free(pagetable_t pt);
void proc_free_image(pagetable_t pt, uint64_t sz);
int  proc_spawn(const char *prog, long arg, struct proc **out);
void proc_exit(struct proc *p, int status) __attribute__((noreturn));
void proc_wait_block(struct proc *p, bool nohang);
int  proc_wait(struct proc *p, uint64_t status_va, int flags);
int  proc_kill(int pid, int status);
void proc_yield(struct proc *p);
void proc_sleep(struct proc *p, const void *chan);
void proc_wakeup(const void *chan);
void sched_run(void);
int  proc_reap(int pid);
void proc_drain(void);
int  run_user(const char *prog, long arg);

/* fork.c */
int  proc_fork(struct proc *p);

/* exec.c: embedded user programs */
int  proc_exec(struct proc *p, const char *prog, long arg);

/* usertrap.c */
void usertrap(void);
void usertrapret(struct proc *p) __attribute__((noreturn));

/* syscall.c */
void syscall(struct proc *p);
int  copyin(struct proc *p, void *dst, uint64_t va, size_t n);
int  copyout(struct proc *p, uint64_t va, const void *src, size_t n);

/* swtch.S */
void swtch(struct context *save, struct context *load);

#endif
