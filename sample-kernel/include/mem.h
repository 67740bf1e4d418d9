/*
 * mem.h - the two audited allocators. Every attempt passes the fault hook and emits a record
 * (alloc / fault / oom); every free emits free or badfree. Freed memory is poisoned.
 */
#ifndef KERNEL_MEM_H
#define KERNEL_MEM_H

#include "types.h"

#define PAGE_MAX_ORDER 10          /* largest block: 2^10 pages = 4 MiB */

/* page.c: 2^order physically contiguous 4 KiB pages; contents undefined (poisoned). */
void *page_alloc(unsigned order);  /* NULL on failure (injected or real OOM) */
void  page_free(void *p);          /* the order is remembered by the allocator */
void  page_init(void);             /* at boot, before any run: hand all free RAM over */

/* obj.c: zeroed objects of any size, carved from slab pages */
void *obj_alloc(size_t size);      /* NULL on failure */
void  obj_free(void *p);
void  obj_init(void);             /* at boot: lay out the size classes */
void  obj_quarantine_drain(void); /* end of a run: check and free every quarantined object */

struct mem_stats {
	unsigned long page_live, page_bytes;
	unsigned long obj_live, obj_bytes;
};
void mem_stats(struct mem_stats *st);
unsigned long page_free_count(void);       /* free pages (all orders) */
void page_stats(unsigned long *live, unsigned long *bytes);   /* live page_alloc blocks */

/*
 * Internal to page.c/obj.c: blocks for slabs and large objects. Not recorded and not
 * injectable (the obj_alloc that needed it is the fault site); NULL when memory is exhausted.
 */
void *page_take_internal(unsigned order, uint8_t owner);
void  page_give_internal(void *p);
/* which allocator owns the block holding p, and its head and order (page.c) */
enum page_owner { OWN_NONE, OWN_PAGE, OWN_SLAB, OWN_BIG, OWN_FREE, OWN_KERNEL, OWN_HELD };
enum page_owner page_owner_of(uintptr_t p, uintptr_t *head, unsigned *order);
/* obj.c's quarantine: a large object's block is OWN_HELD while it waits there (page.c) */
void page_set_owner_internal(void *block, enum page_owner owner);
/* guard mode: unmap every free block (page.c), when the guarded map is installed */
void page_unmap_free(void);

#endif
