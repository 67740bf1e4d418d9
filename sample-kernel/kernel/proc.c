/*
 * proc.c - the process table, process life cycle and a round-robin scheduler.
 *
 * Ownership: a process owns its kernel stack, trapframe, page table (with everything mapped
 * in its image range) and mmap regions; the process table only points at it. Everything a
 * process owns is reachable from its struct proc, so one destructor, proc_free(), reclaims a
 * process in any state: half-built by a failed fork, a zombie, a leftover at teardown.
 * Its table slot and pid are resources (faultlib/resource.h): taken by proc_create, given
 * back by proc_free.
 * exit releases the address space at once; the parent's wait (or proc_drain, for processes
 * whose parent is gone) frees the rest, since the exiting process still runs on its stack.
 *
 * Error paths: proc_create() and proc_pagetable() are goto unwind ladders, one label per
 * undo step in reverse order of acquisition. Every other failing step attaches what it
 * acquired to the process before the next step that can fail, so proc_free() undoes it.
 *
 * Scheduling is cooperative and deterministic: a process runs until it sleeps, yields or
 * exits (there is no timer interrupt), so an allocation sequence is the same on every run,
 * which is what lets the host name "the N-th allocation".
 */
#include "kernel.h"
#include "mem.h"
#include "proc.h"
#include "mmap.h"
#include "sysnum.h"
#include "faultlib/resource.h"

extern char trampoline[];

struct proc *curproc;
static struct proc **ptable;      /* NPROC slots, from obj_alloc: an init step */
static struct context sched_ctx;  /* the scheduler's own context (the scenario's stack) */
static int next_pid;
static int rr_next;               /* round robin: the slot to look at first */

/* proc_init - the process table. Returns 0 or -ENOMEM. */
int proc_init(void)
{
	ptable = obj_alloc(NPROC * sizeof(*ptable));
	if (!ptable)
		return -ENOMEM;
	next_pid = 0;
	rr_next = 0;
	return 0;
}

/* proc_fini - free any process a scenario left behind, then the table. Idempotent. */
void proc_fini(void)
{
	if (!ptable)
		return;
	for (int i = 0; i < NPROC; i++)
		proc_free(ptable[i]);
	obj_free(ptable);
	ptable = NULL;
}

/*
 * proc_pagetable - a user page table holding only the trampoline and the trapframe tf.
 * Returns it, handed to the caller (undo with proc_pagetable_free; tf stays the caller's),
 * or NULL on failure with nothing left mapped or allocated: if mapping the trapframe
 * fails after the trampoline was mapped, the trampoline is unmapped (undo in reverse order).
 * Each map can fail: the trampoline needs a middle and a last-level table, the trapframe
 * (in the 2 MiB region below, proc.h) a last-level table of its own.
 */
pagetable_t proc_pagetable(struct trapframe *tf)
{
	pagetable_t pt = vm_create();

	if (!pt)
		return NULL;
	if (vm_map(pt, TRAMPOLINE, (uint64_t)trampoline, PGSIZE, PTE_R | PTE_X) < 0)
		goto out_destroy;
	if (vm_map(pt, TRAPFRAME, (uint64_t)tf, PGSIZE, PTE_R | PTE_W) < 0)
		goto out_unmap_trampoline;
	return pt;

out_unmap_trampoline:
	vm_unmap(pt, TRAMPOLINE, 1, false);
out_destroy:
	vm_destroy(pt);
	return NULL;
}

/* proc_pagetable_free - undo proc_pagetable(); the image must have been unmapped already. */
void proc_pagetable_free(pagetable_t pt)
{
	vm_unmap(pt, TRAPFRAME, 1, false);
	vm_unmap(pt, TRAMPOLINE, 1, false);
	vm_destroy(pt);
}

/* proc_free_image - unmap and free the stack and image pages [USTACK_BOTTOM, sz). */
void proc_free_image(pagetable_t pt, uint64_t sz)
{
	if (sz > USTACK_BOTTOM)
		vm_unmap(pt, USTACK_BOTTOM, (sz - USTACK_BOTTOM) / PGSIZE, true);
}

/* a process's first return to user space, reached through swtch() from the scheduler */
static void proc_first_run(void)
{
	struct proc *p = curproc;

	if (p->killed)
		proc_exit(p, p->kill_status);
	usertrapret(p);
}

/* p->name = name, truncated to fit */
void proc_set_name(struct proc *p, const char *name)
{
	size_t i = 0;

	for (; i + 1 < sizeof(p->name) && name[i]; i++)
		p->name[i] = name[i];
	memset(p->name + i, 0, sizeof(p->name) - i);
}

/* Put p in a free table slot (p->slot). Returns 0, or -EAGAIN when the table is full. */
static int ptable_insert(struct proc *p)
{
	for (int i = 0; i < NPROC; i++) {
		if (!ptable[i]) {
			ptable[i] = p;
			p->slot = i;
			fl_res_acquire("proc-slot", (uintptr_t)i);
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * proc_create - a new process in state P_NEW, with no image: a proc struct, a kernel
 * stack, a trapframe, a page table with the trampoline and trapframe mapped and a table
 * slot, acquired in that order. Returns 0 and hands the process to the caller in *out (to
 * be started or given to proc_free). On failure returns -ENOMEM (or -EAGAIN: table full)
 * with every earlier step undone in reverse order of acquisition.
 */
int proc_create(const char *name, struct proc **out)
{
	struct proc *p;
	int rc = -ENOMEM;

	p = obj_alloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->slot = -1;
	p->kstack = page_alloc(KSTACK_ORDER);
	if (!p->kstack)
		goto out_free_proc;
	p->tf = page_alloc(0);
	if (!p->tf)
		goto out_free_kstack;
	memset(p->tf, 0, PGSIZE);
	p->pt = proc_pagetable(p->tf);
	if (!p->pt)
		goto out_free_trapframe;
	rc = ptable_insert(p);
	if (rc)
		goto out_free_pagetable;

	p->pid = ++next_pid;
	fl_res_acquire("pid", (uintptr_t)p->pid);
	p->state = P_NEW;
	proc_set_name(p, name);
	p->ctx.ra = (uint64_t)proc_first_run;
	p->ctx.sp = (uint64_t)p->kstack + KSTACK_SIZE;
	*out = p;
	return 0;

out_free_pagetable:
	proc_pagetable_free(p->pt);
out_free_trapframe:
	page_free(p->tf);
out_free_kstack:
	page_free(p->kstack);
out_free_proc:
	obj_free(p);
	return rc;
}

/* Release the address space: mmap regions, image pages, page table. Idempotent. */
static void proc_release_user(struct proc *p)
{
	if (!p->pt)
		return;
	mmap_release_all(p);
	proc_free_image(p->pt, p->sz);
	proc_pagetable_free(p->pt);
	p->pt = NULL;
	p->sz = 0;
}

/*
 * proc_free - destroy a process in any state (never the running one): unregister it, then
 * release what it owns in reverse order of acquisition. NULL-tolerant.
 */
void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->pid) {
		fl_res_release("pid", (uintptr_t)p->pid);
		p->pid = 0;
	}
	if (p->slot >= 0) {
		ptable[p->slot] = NULL;
		fl_res_release("proc-slot", (uintptr_t)p->slot);
		p->slot = -1;
	}
	proc_release_user(p);
	if (p->tf) {
		page_free(p->tf);
		p->tf = NULL;
	}
	if (p->kstack) {
		page_free(p->kstack);
		p->kstack = NULL;
	}
	obj_free(p);
}

/*
 * proc_spawn - a new process running the embedded program prog with argument arg, owned
 * by the kernel (no parent). Returns 0 and the runnable process in *out; on failure the
 * error, with the half-made process freed completely (the first exec has no old image to
 * fall back to).
 */
int proc_spawn(const char *prog, long arg, struct proc **out)
{
	int id = op_begin("spawn");
	struct proc *p;
	int rc;

	rc = proc_create(prog, &p);
	if (rc)
		return op_end(id, rc);
	rc = proc_exec(p, prog, arg);
	if (rc) {
		proc_free(p);
		return op_end(id, rc);
	}
	p->state = P_RUNNABLE;
	*out = p;
	return op_end(id, 0);
}

/* switch from the current process to the scheduler; returns when it is chosen again */
static void sched(struct proc *p)
{
	swtch(&p->ctx, &sched_ctx);
}

void proc_yield(struct proc *p)
{
	p->state = P_RUNNABLE;
	sched(p);
}

void proc_sleep(struct proc *p, const void *chan)
{
	p->chan = chan;
	p->state = P_SLEEPING;
	sched(p);
	p->chan = NULL;
}

void proc_wakeup(const void *chan)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *q = ptable[i];
		if (q && q->state == P_SLEEPING && q->chan == chan)
			q->state = P_RUNNABLE;
	}
}

/*
 * proc_exit - end the current process: release its address space, hand its children to
 * the kernel, become a zombie for the parent to reap and never run again.
 */
void proc_exit(struct proc *p, int status)
{
	int id = op_begin("exit");

	proc_release_user(p);
	for (int i = 0; i < NPROC; i++)
		if (ptable[i] && ptable[i]->parent == p)
			ptable[i]->parent = NULL;
	p->xstatus = status;
	p->state = P_ZOMBIE;
	if (p->parent)
		proc_wakeup(p->parent);
	op_end(id, 0);
	sched(p);
	panic("exit: a zombie was scheduled");
}

/* Does p have children, and is one of them a zombie? */
static struct proc *zombie_child(struct proc *p, bool *any)
{
	*any = false;
	for (int i = 0; i < NPROC; i++) {
		struct proc *q = ptable[i];
		if (!q || q->parent != p)
			continue;
		*any = true;
		if (q->state == P_ZOMBIE)
			return q;
	}
	return NULL;
}

/* The blocking half of wait, outside any op: sleep until a child is a zombie. */
void proc_wait_block(struct proc *p, bool nohang)
{
	bool any;

	while (!nohang && !p->killed && !zombie_child(p, &any) && any)
		proc_sleep(p, p);
}

/*
 * proc_wait - reap one zombie child: its exit status goes to user address status_va (when
 * non-zero), then the child is freed. Returns its pid; 0 with WNOHANG when no child has
 * exited; -ECHILD without children; -EINTR when killed; -EFAULT when the status cannot be
 * written (the child stays a zombie: nothing changed).
 */
int proc_wait(struct proc *p, uint64_t status_va, int flags)
{
	struct proc *z;
	bool any;
	int pid;

	if (p->killed)
		return -EINTR;
	z = zombie_child(p, &any);
	if (!z)
		return !any ? -ECHILD : (flags & WNOHANG) ? 0 : -EINTR;
	if (status_va && copyout(p, status_va, &z->xstatus, sizeof(z->xstatus)))
		return -EFAULT;
	pid = z->pid;
	proc_free(z);
	return pid;
}

/* proc_kill - mark process pid to exit with status. Returns 0 or -ESRCH. */
int proc_kill(int pid, int status)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *q = ptable[i];
		if (!q || q->pid != pid || q->state == P_ZOMBIE)
			continue;
		if (!q->killed) {
			q->killed = true;
			q->kill_status = status;
		}
		if (q->state == P_SLEEPING)
			q->state = P_RUNNABLE;
		return 0;
	}
	return -ESRCH;
}

static struct proc *pick_runnable(void)
{
	for (int n = 0; n < NPROC; n++) {
		int i = (rr_next + n) % NPROC;
		struct proc *p = ptable[i];
		if (p && p->state == P_RUNNABLE) {
			rr_next = (i + 1) % NPROC;
			return p;
		}
	}
	return NULL;
}

/* sched_run - run processes round robin until none is runnable. */
void sched_run(void)
{
	struct proc *p;

	while ((p = pick_runnable())) {
		p->state = P_RUNNING;
		curproc = p;
		swtch(&sched_ctx, &p->ctx);
		curproc = NULL;
	}
}

/*
 * proc_reap - the kernel's wait: free process pid, a zombie the kernel owns (no parent).
 * Returns its exit status, or -ESRCH when there is no such zombie (nothing changes).
 */
int proc_reap(int pid)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *q = ptable[i];
		if (q && q->pid == pid && q->state == P_ZOMBIE && !q->parent) {
			int status = q->xstatus;
			proc_free(q);
			return status;
		}
	}
	return -ESRCH;
}

/*
 * proc_drain - end every process still alive (killed: each exits at its next return to
 * user space), run them to their end and reap every process; afterwards the table is
 * empty. Exiting hands children to the kernel, so two rounds reach every process.
 */
void proc_drain(void)
{
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < NPROC; i++)
			if (ptable[i])
				proc_kill(ptable[i]->pid, STATUS_KILLED);
		sched_run();
		for (int i = 0; i < NPROC; i++)
			if (ptable[i] && ptable[i]->state == P_ZOMBIE && !ptable[i]->parent)
				proc_free(ptable[i]);
	}
	for (int i = 0; i < NPROC; i++)
		if (ptable[i])
			panic("proc_drain: a process survived being killed");
}

/*
 * run_user - run the embedded program prog with argument arg until it and every process
 * it started have ended. Returns its exit status (0 or a negative errno by convention), or
 * the error that kept it from starting. Leaves no process behind.
 */
int run_user(const char *prog, long arg)
{
	struct proc *p;
	int pid, rc = proc_spawn(prog, arg, &p);

	if (rc)
		return rc;
	pid = p->pid;
	sched_run();
	rc = proc_reap(pid);
	if (rc == -ESRCH)                /* still waiting for something: ended by the drain */
		rc = STATUS_KILLED;
	proc_drain();
	return rc;
}
