/*
 * mmaptest - anonymous mappings: map and touch, merge of an adjacent mapping, split by a
 * partial munmap, private and shared memory across fork, a populated mapping, a fault on a
 * hole that kills the child, a region trimmed at either end, a chunk across a page-table
 * boundary, a read-only page, and unmapping everything. Exits 0, an errno, or BAD_RESULT.
 */
#include "ulib.h"

#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define TABLE_SPAN (512 * PG)          /* what one last-level page table maps: 2 MiB */

/* a child writes v at p and exits 0 */
static volatile char *child_p;
static int child_write(long v)
{
	child_p[0] = (char)v;
	return 0;
}

/* map npages at addr with prot, read (and, when writable, write) each page, unmap them */
static int touch_at(unsigned long addr, unsigned long npages, int prot)
{
	long a = mmap((void *)addr, npages * PG, prot, MAP_PRIVATE);
	volatile char *q = (volatile char *)a;

	if (a != (long)addr)
		return a < 0 ? (int)a : BAD_RESULT;
	for (unsigned long i = 0; i < npages; i++) {
		if (q[i * PG])
			return BAD_RESULT;
		if (prot & PROT_WRITE)
			q[i * PG] = 1;
	}
	return munmap((void *)a, npages * PG);
}

/*
 * q maps pages 0-3 and 12-15 as two regions: unmap the first page of the first (its start
 * moves up) and the last page of the second (its end comes down). Both regions stay, with
 * the contents of the pages left.
 */
static int trim_ends(volatile char *q)
{
	int before = mapcount(), rc;

	rc = munmap((void *)q, PG);
	if (rc)
		return rc;
	rc = munmap((void *)(q + 15 * PG), PG);
	if (rc)
		return rc;
	if (mapcount() != before || q[PG] != 1 || q[3 * PG] != 1 || q[12 * PG] != 1 ||
	    q[14 * PG] != 1)
		return BAD_RESULT;
	return 0;
}

int main(long arg)
{
	volatile char *p, *s, *q;
	long a, b;
	int rc, st;

	(void)arg;
	a = mmap(0, 2 * PG, RW, MAP_PRIVATE);
	if (a < 0)
		return (int)a;
	p = (volatile char *)a;
	p[0] = 1;
	p[PG] = 2;

	b = mmap(0, PG, RW, MAP_PRIVATE);         /* adjacent and compatible: merges */
	if (b < 0)
		return (int)b;
	if (b != a + 2 * (long)PG || mapcount() != 1)
		return BAD_RESULT;
	p[2 * PG] = 3;
	if (mmap((void *)a, PG, RW, MAP_PRIVATE) != -EEXIST)
		return BAD_RESULT;

	rc = munmap((void *)(a + PG), PG);        /* the middle page: splits in two */
	if (rc)
		return rc;
	if (mapcount() != 2 || p[0] != 1 || p[2 * PG] != 3)
		return BAD_RESULT;

	child_p = p + PG;                         /* the hole: the child dies of -EFAULT */
	rc = run_child(child_write, 5, &st);
	if (rc < 0)
		return rc;
	if (st != -EFAULT)
		return st < 0 ? st : BAD_RESULT;

	child_p = p;                              /* private: the child's write stays there */
	rc = run_child(child_write, 9, &st);
	if (rc < 0 || st)
		return rc < 0 ? rc : st;
	if (p[0] != 1)
		return BAD_RESULT;

	a = mmap(0, PG, RW, MAP_SHARED);
	if (a < 0)
		return (int)a;
	s = (volatile char *)a;
	s[0] = 5;
	child_p = s;                              /* shared: the parent sees the child's write */
	rc = run_child(child_write, 7, &st);
	if (rc < 0 || st)
		return rc < 0 ? rc : st;
	if (s[0] != 7)
		return BAD_RESULT;

	a = mmap(0, 16 * PG, RW, MAP_PRIVATE | MAP_POPULATE);
	if (a < 0)
		return (int)a;
	q = (volatile char *)a;
	for (unsigned long off = 0; off < 16 * PG; off += PG) {
		if (q[off])
			return BAD_RESULT;
		q[off] = 1;
	}
	rc = munmap((void *)(a + 4 * PG), 8 * PG);
	if (rc)
		return rc;
	rc = trim_ends(q);
	if (rc)
		return rc;

	/* one 2-page chunk across a table boundary: the second touch maps a page of a chunk
	 * already there, and needs a page table of its own */
	rc = touch_at(MMAP_BASE + TABLE_SPAN - PG, 2, RW);
	if (rc)
		return rc;
	/* a read-only page, read where no table is yet: a zero page and a table for it */
	rc = touch_at(MMAP_BASE + 2 * TABLE_SPAN, 1, PROT_READ);
	if (rc)
		return rc;

	rc = munmap((void *)MMAP_BASE, 64 * PG);
	if (rc)
		return rc;
	if (mapcount() != 0)
		return BAD_RESULT;
	printf("mmaptest: map, merge, split, fork (private, shared), populate, unmap done");
	return 0;
}
