/*
 * forkbomb - fork until memory really runs out. Each child maps and touches CHILD_MEM of
 * populated memory, then pauses; the parent yields after each fork so the child takes its
 * memory at once, and stops at the first failure: a fork that fails, or a child that exits
 * because its mmap failed. Then it kills every child and reaps them all. Exits 0 when the
 * bomb was stopped by -ENOMEM and every child was reaped as killed.
 */
#include "ulib.h"

#define CHILD_MEM (24UL << 20)
#define MAX_CHILDREN 48

/* A child: map and touch CHILD_MEM, then pause until killed. Returns mmap's error. */
static int child(long unused)
{
	long a = mmap(0, CHILD_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE);

	(void)unused;
	if (a < 0)
		return (int)a;
	for (unsigned long off = 0; off < CHILD_MEM; off += 4096)
		((volatile char *)a)[off] = 1;
	pause();                          /* until killed */
	return BAD_RESULT;
}

int main(long arg)
{
	int pids[MAX_CHILDREN], n = 0, stop = 0, st;

	(void)arg;
	while (!stop && n < MAX_CHILDREN) {
		int pid = spawn(child, 0), got;
		if (pid < 0) {
			stop = pid;
			break;
		}
		pids[n++] = pid;
		yield();
		got = wait(&st, WNOHANG);
		if (got < 0)
			return got;
		if (got > 0) {                /* a child could not get its memory */
			stop = st < 0 ? st : BAD_RESULT;
			for (int i = 0; i < n; i++)
				if (pids[i] == got)
					pids[i] = pids[--n];
		}
	}
	printf("forkbomb: %d children hold memory; stopped by %d", n, stop);
	for (int i = 0; i < n; i++)
		if (kill(pids[i]))
			return BAD_RESULT;
	for (int i = 0; i < n; i++) {
		if (wait(&st, 0) < 0 || st != STATUS_KILLED)
			return BAD_RESULT;
	}
	return stop == -ENOMEM ? 0 : stop ? stop : BAD_RESULT;
}
