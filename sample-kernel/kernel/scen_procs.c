/*
 * scen_procs.c - the scenarios of processes and the programs they run: proc, proctable,
 * fork, exec, mmap, blk, forkbomb, and `all`. Each leaves no process behind (run_user /
 * proc_drain), and kernel init's teardown frees the process table and the block device
 * afterwards, so the end checkpoint equals the baseline whatever allocation failed.
 */
#include "kernel.h"
#include "proc.h"
#include "blk.h"

#define NHELLO 3

/*
 * proctable: fill the process table with processes that never run, until creation is
 * refused. Returns 0 (refused with -EAGAIN: the table was full), proc_create's other error,
 * or -EIO (no refusal after NPROC creations). Frees every process it created.
 */
static int scen_proctable(void)
{
	struct proc *made[NPROC + 1];
	int n, rc = 0;

	for (n = 0; n <= NPROC; n++) {
		rc = proc_create("filler", &made[n]);
		if (rc)
			break;
	}
	while (n > 0)
		proc_free(made[--n]);
	return rc == -EAGAIN ? 0 : rc ? rc : -EIO;
}
SCENARIO("proctable", scen_proctable);

/*
 * proc: create and destroy a process that never runs, then run three at once and reap them.
 * Returns 0, proc_create's or the first spawn's error, a reaped status's error, or -EIO (a
 * wrong exit status).
 * Leaves no process behind.
 */
static int scen_proc(void)
{
	int pids[NHELLO], n, rc;
	struct proc *p;

	rc = proc_create("idle", &p);
	if (rc)
		return rc;
	proc_free(p);

	for (n = 0; n < NHELLO; n++) {
		rc = proc_spawn("hello", n + 1, &p);
		if (rc)
			break;
		pids[n] = p->pid;
	}
	sched_run();
	for (int i = 0; i < n; i++) {
		int st = proc_reap(pids[i]);
		if (!rc && st != i + 1)
			rc = st < 0 ? st : -EIO;
	}
	proc_drain();
	return rc;
}
SCENARIO("proc", scen_proc);

/* fork, exec, mmap, forkbomb: run_user's result (the program's status, or why it did not start) */
static int scen_fork(void)
{
	return run_user("forktree", 0);
}
SCENARIO("fork", scen_fork);

static int scen_exec(void)
{
	return run_user("exectest", 0);
}
SCENARIO("exec", scen_exec);

static int scen_mmap(void)
{
	return run_user("mmaptest", 0);
}
SCENARIO("mmap", scen_mmap);

/*
 * blk: a request from the kernel itself, then the same through system calls. Returns 0,
 * -ENODEV (no device), blk_rw's error, or blktest's status. Each request frees its memory.
 */
static int scen_blk(void)
{
	static char sector[BLK_SECTOR];
	struct blk_dev *dev = blk_default();
	int rc;

	if (!dev)
		return -ENODEV;
	memset(sector, 0x5a, sizeof(sector));
	rc = blk_rw(dev, 0, sector, 1, true);
	if (rc)
		return rc;
	rc = blk_rw(dev, blk_capacity(dev) - 1, sector, 1, false);
	if (rc)
		return rc;
	return run_user("blktest", 0);
}
SCENARIO("blk", scen_blk);

static int scen_forkbomb(void)
{
	return run_user("forkbomb", 0);
}
SCENARIO("forkbomb", scen_forkbomb);

/*
 * all: the real scenarios in turn (not the core's test-* ones), each an op. Returns 0 or the
 * first scenario's error (the later ones do not run); each scenario frees what it took.
 */
static int scen_all(void)
{
	static const char *const names[] = { "vm", "proc", "proctable", "fork", "exec", "mmap",
					     "blk", "forkbomb" };
	extern const struct fl_scenario fl_scenarios_start[], fl_scenarios_end[];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		for (const struct fl_scenario *s = fl_scenarios_start; s < fl_scenarios_end; s++) {
			if (strcmp(s->name, names[i]))
				continue;
			int id = op_begin(s->name);
			int rc = op_end(id, s->fn());
			if (rc)
				return rc;
		}
	}
	return 0;
}
SCENARIO("all", scen_all);
