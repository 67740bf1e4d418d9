/*
 * fork.c - duplicate a process.
 *
 * Pattern: attach to the owner before the next step that can fail. The child is built step
 * by step (process, image copy, mmap regions), and each step's result is linked into the
 * child as soon as it exists, so on any failure one call, proc_free(child), destroys the
 * half-built child completely. The parent is only read: a failed fork never changes it.
 */
#include "kernel.h"
#include "proc.h"
#include "mmap.h"

/*
 * proc_fork - a copy of p: image pages copied through the page-table walker (vm_copy),
 * mmap regions duplicated (shared memory objects referenced, private ones copied), the
 * user registers copied with a0 = 0 in the child. Returns the child's pid, or -ENOMEM /
 * -EAGAIN with nothing of the child left and p unchanged.
 */
int proc_fork(struct proc *p)
{
	struct proc *c;
	int rc;

	rc = proc_create(p->name, &c);
	if (rc)
		return rc;
	rc = vm_copy(p->pt, c->pt, USTACK_BOTTOM, p->sz - USTACK_BOTTOM);
	if (rc) {
		proc_free(c);        /* vm_copy left nothing new in c->pt */
		return rc;
	}
	c->sz = p->sz;           /* the child's page table owns the copy from here on */
	rc = mmap_dup(p, c);
	if (rc) {
		proc_free(c);        /* frees the image copy and every region attached so far */
		return rc;
	}
	memcpy(c->tf->regs, p->tf->regs, sizeof(c->tf->regs));
	c->tf->epc = p->tf->epc;
	c->tf->regs[REG_A0] = 0;
	c->parent = p;
	c->state = P_RUNNABLE;
	return c->pid;
}
