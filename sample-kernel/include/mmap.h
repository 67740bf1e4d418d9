/*
 * mmap.h - anonymous memory regions (mmap.c).
 *
 * A process's regions form a list sorted by address, each an obj_alloc'd struct region.
 * Each region is a window [aoff, aoff + npages) onto a refcounted anonymous memory object
 * (struct anon) that owns the physical memory in chunks of 2^order pages. MAP_SHARED
 * regions share their anon across fork (a `ref get`); MAP_PRIVATE regions get a copy.
 */
#ifndef KERNEL_MMAP_H
#define KERNEL_MMAP_H

#include "types.h"

struct proc;

struct anon {
	int ref;
	unsigned order;          /* a chunk is 2^order contiguous pages */
	size_t npages;           /* pages this object covers */
	size_t nchunks;          /* length of chunks[] */
	void **chunks;           /* chunks[i] backs pages [i << order, (i + 1) << order) or NULL */
};

struct region {
	struct region *next;
	uint64_t start, end;     /* [start, end), page aligned */
	int prot, flags;
	struct anon *anon;
	size_t aoff;             /* the anon page that backs `start` */
};

long mmap_map(struct proc *p, uint64_t addr, uint64_t len, int prot, int flags);
int  mmap_unmap(struct proc *p, uint64_t addr, uint64_t len);
int  mmap_fault(struct proc *p, uint64_t va, bool write);
int  mmap_dup(struct proc *parent, struct proc *child);
void mmap_release_all(struct proc *p);
struct region *mmap_find(struct proc *p, uint64_t va);
int  mmap_count(struct proc *p);
uint64_t mmap_digest(struct proc *p);

#endif
