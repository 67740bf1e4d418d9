/*
 * init.c - kernel init for a run: a fixed list of steps, each `int x_init(void)` (0 or a
 * negative errno, undoing its own partial work on failure) and `void x_fini(void)`
 * (idempotent). Every step runs as an op (`x_init` / `x_fini`). On failure the completed
 * steps are undone in reverse and the error is returned (never a panic); teardown undoes all
 * steps in reverse. To add a subsystem, add its STEP() line in dependency order.
 */
#include "kernel.h"
#include "vm.h"
#include "proc.h"
#include "blk.h"

struct init_step {
	const char *init_name, *fini_name;
	int (*init)(void);
	void (*fini)(void);
};

#define STEP(x) { #x "_init", #x "_fini", x##_init, x##_fini }

static const struct init_step steps[] = {
	STEP(kvm),              /* kernel page table, paging on */
	STEP(proc),             /* process table */
	STEP(blk),              /* virtio-blk probe */
	{ 0 }                   /* end of list */
};

static void fini_step(const struct init_step *s)
{
	int id = op_begin(s->fini_name);

	s->fini();
	op_end(id, 0);
}

/* Run every step. Returns 0, or the first failing step's error with all earlier steps undone. */
int kernel_init(void)
{
	for (size_t i = 0; steps[i].init; i++) {
		int id = op_begin(steps[i].init_name);
		int rc = op_end(id, steps[i].init());
		if (rc < 0) {
			while (i--)
				fini_step(&steps[i]);
			return rc;
		}
	}
	return 0;
}

void kernel_fini(void)
{
	size_t n = 0;

	while (steps[n].init)
		n++;
	while (n--)
		fini_step(&steps[n]);
}
