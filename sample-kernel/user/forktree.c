/*
 * forktree - fork chains and trees: every child's exit status is checked by its parent,
 * fork's return value is checked against the child's own getpid(), and one child leaves an
 * orphan behind for the kernel to reap. Exits 0, or the first error (a failed fork, or a
 * child's error), or BAD_RESULT when the kernel broke a promise.
 */
#include "ulib.h"

#define CHAIN_DEPTH 4
#define TREE_DEPTH  2
#define FANOUT      2

/*
 * a chain: this process forks one child that continues the chain, then waits for it.
 * Returns 0, the fork/wait error, or the first error further down the chain.
 */
static int chain(long depth)
{
	int st, rc;

	if (depth == 0)
		return 0;
	rc = run_child(chain, depth - 1, &st);
	return rc < 0 ? rc : st;
}

/*
 * a tree: FANOUT children each grow a subtree. Returns 0, the first fork error or child's
 * error (after waiting for every child started), a wait error, or BAD_RESULT (a stranger).
 */
static int tree(long depth)
{
	int pids[FANOUT], n = 0, rc = 0, st;

	if (depth == 0)
		return 0;
	for (int i = 0; i < FANOUT; i++) {
		int pid = spawn(tree, depth - 1);
		if (pid < 0) {
			rc = pid;
			break;
		}
		pids[n++] = pid;
	}
	for (int i = 0; i < n; i++) {
		int got = wait(&st, 0), known = 0;
		if (got < 0)
			return got;
		for (int j = 0; j < n; j++)
			known |= pids[j] == got;
		if (!known)
			return BAD_RESULT;
		if (st && !rc)
			rc = st;
	}
	return rc;
}

/* the child reports its own pid (mod 128) as its status */
static int report_pid(long unused)
{
	(void)unused;
	return getpid() & 0x7f;
}

static int linger(long rounds)
{
	for (long i = 0; i < rounds; i++)
		yield();
	return 0;
}

/*
 * a child that forks a grandchild and exits at once: the grandchild becomes an orphan.
 * Returns 0, or fork's error.
 */
static int abandon(long unused)
{
	(void)unused;
	int pid = spawn(linger, 3);
	return pid < 0 ? pid : 0;
}

int main(long arg)
{
	int rc, pid, st;

	(void)arg;
	rc = chain(CHAIN_DEPTH);
	if (rc)
		return rc;
	rc = tree(TREE_DEPTH);
	if (rc)
		return rc;

	pid = run_child(report_pid, 0, &st);
	if (pid < 0)
		return pid;
	if (st != (pid & 0x7f))
		return BAD_RESULT;

	rc = run_child(abandon, 0, &st);
	if (rc < 0)
		return rc;
	if (wait(&st, WNOHANG) != -ECHILD)     /* the orphan is not our child */
		return BAD_RESULT;
	printf("forktree: chains, trees and an orphan done");
	return st;
}
