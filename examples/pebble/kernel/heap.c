/*
 * heap.c - kmalloc/kfree, a first-fit heap. The heap grows by carving pages off the RAM
 * after the kernel image (it never gives them back) and keeps its free blocks in one list in
 * address order, merging neighbours on kfree. Every block starts with a header; a used
 * block's header carries a magic that kfree checks, so a pointer the heap never handed out
 * (or handed out and took back) is caught, not merged into the free list.
 */
#include "pebble.h"

#define MAGIC_USED 0x70656275           /* "pebu" */
#define MAGIC_FREE 0x70656266           /* "pebf" */
#define HEAP_ALIGN 16
#define HEAP_GROW  (16 * PAGE_SIZE)     /* the least the heap carves at a time */
#define KMALLOC_MAX (1UL << 20)

struct block {
	uint32_t magic;
	uint32_t asked;                 /* the size kmalloc was asked for (used blocks) */
	size_t size;                    /* the whole block, header included */
	struct block *next;             /* free blocks only: the next free block */
};

#define HDR_SIZE  offsetof(struct block, next)
#define MIN_BLOCK 32

extern char kernel_end[];

static uintptr_t carve_next;            /* the first page not yet carved */
static struct block *free_list;
static struct heap_usage usage;

/* Carve len bytes (a multiple of PAGE_SIZE) off the free RAM; NULL when RAM is used up. */
static void *pages_carve(size_t len)
{
	uintptr_t p;

	if (!carve_next)
		carve_next = (uintptr_t)kernel_end;
	if (len > RAM_END - carve_next)
		return NULL;
	p = carve_next;
	carve_next += len;
	return (void *)p;
}

/* Put block b on the free list in address order, merged with free neighbours. */
static void free_insert(struct block *b)
{
	struct block **pp = &free_list, *prev = NULL;

	while (*pp && *pp < b) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	b->magic = MAGIC_FREE;
	b->next = *pp;
	*pp = b;
	if (b->next && (char *)b + b->size == (char *)b->next) {
		b->size += b->next->size;
		b->next = b->next->next;
	}
	if (prev && (char *)prev + prev->size == (char *)b) {
		prev->size += b->size;
		prev->next = b->next;
	}
}

/* Take a block of at least need bytes off the free list (first fit); NULL when none is. */
static struct block *free_take(size_t need)
{
	for (struct block **pp = &free_list; *pp; pp = &(*pp)->next) {
		struct block *b = *pp;

		if (b->size < need)
			continue;
		if (b->size - need >= MIN_BLOCK) {
			struct block *rest = (struct block *)((char *)b + need);

			rest->magic = MAGIC_FREE;
			rest->size = b->size - need;
			rest->next = b->next;
			*pp = rest;
			b->size = need;
		} else {
			*pp = b->next;
		}
		return b;
	}
	return NULL;
}

/* Returns size bytes aligned to 16, or NULL (size 0 or too big, or RAM used up). */
void *kmalloc(size_t size)
{
	size_t need = (size + HDR_SIZE + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
	struct block *b;

	if (!size || size > KMALLOC_MAX)
		return NULL;
	if (need < MIN_BLOCK)
		need = MIN_BLOCK;
	b = free_take(need);
	if (!b) {
		size_t grow = need > HEAP_GROW ? (need + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1)
					       : HEAP_GROW;
		struct block *fresh = pages_carve(grow);

		if (!fresh)
			return NULL;
		fresh->size = grow;
		free_insert(fresh);
		b = free_take(need);
	}
	b->magic = MAGIC_USED;
	b->asked = (uint32_t)size;
	usage.blocks++;
	usage.bytes += size;
	return (char *)b + HDR_SIZE;
}

/* true when p is what kmalloc returned for a block still in use */
static bool is_used_block(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	return a % HEAP_ALIGN == 0 && a >= (uintptr_t)kernel_end + HDR_SIZE && a < carve_next &&
	       ((const struct block *)(a - HDR_SIZE))->magic == MAGIC_USED;
}

/* Give back a block kmalloc returned; NULL is ignored; anything else is a bug (panic). */
void kfree(void *p)
{
	struct block *b = (struct block *)((char *)p - HDR_SIZE);

	if (!p)
		return;
	if (!is_used_block(p))
		panic("kfree: not a block in use");
	usage.blocks--;
	usage.bytes -= b->asked;
	free_insert(b);
}

void heap_usage(struct heap_usage *u)
{
	*u = usage;
}
