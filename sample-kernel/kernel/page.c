/*
 * page.c - the page allocator: a binary buddy allocator over the RAM after the kernel image,
 * 4 KiB pages, blocks of 2^order pages (order <= PAGE_MAX_ORDER), physically contiguous and
 * naturally aligned.
 *
 * Ownership: one metadata byte per RAM page (meta[]) says who owns the page — free, handed
 * out by page_alloc, a slab or large object of obj.c, or the kernel image — and the order of
 * the block it heads; non-head pages of a block are TAIL. Free blocks are on per-order
 * doubly linked lists threaded through their first bytes. Every page_alloc attempt passes
 * the fault hook and emits exactly one record (alloc, fault or oom); page_free emits free,
 * or badfree when the pointer is not a live page_alloc block (nothing is touched then).
 * Freed blocks are poisoned. obj.c takes its slabs through page_take_internal(), which is
 * neither recorded nor injectable: the obj_alloc that needed the slab is the fault site.
 * The free lists live in links[], outside the pages, so a free page is never touched: in
 * guard mode (guard.c) free pages are unmapped, and a block is mapped when it is taken. A
 * page poisoned by a free is checked when it is taken again: a changed byte is a write after
 * free (a `poison` record).
 */
#include "kernel.h"
#include "memlayout.h"
#include "mem.h"
#include "faultlib/hook.h"
#include "faultlib/record.h"
#include "faultlib/poison.h"
#include "guard.h"

#define NPAGES ((PHYSTOP - KERNBASE) / PGSIZE)
#define POISON_FREE 0x5a

/* meta[] byte: owner in bits 4-6, order in bits 0-3, bit 7 = "handed out by page_alloc" */
#define M_OWNER(m)   (((m) >> 4) & 7)
#define M_ORDER(m)   ((m) & 15)
#define M_EVER       0x80
#define OWN_TAIL     0     /* a non-head page of a block (free or not): what .bss zeroing leaves */
#define MK(owner, order) ((uint8_t)(((owner) << 4) | (order)))

struct free_block {
	struct free_block *next, *prev;
};

static uint8_t meta[NPAGES];
static struct free_block free_list[PAGE_MAX_ORDER + 1];   /* list heads (circular) */
/* pages a free has poisoned since boot, not yet checked (one bit per page) */
static uint64_t poisoned[NPAGES / 64];
/* the list node of each free block's head page; only free heads are meaningful */
static struct free_block links[NPAGES] __attribute__((section(".noinit")));
static uintptr_t managed_lo;                              /* first page we manage */
static unsigned long nfree_pages;
static unsigned long live_blocks, live_bytes;

extern char kernel_end[];

static size_t pidx(uintptr_t pa)
{
	return (pa - KERNBASE) / PGSIZE;
}

/* rewrite owner/order, keeping the "handed out" history bit */
static void set_meta(uintptr_t pa, uint8_t m)
{
	meta[pidx(pa)] = (uint8_t)((meta[pidx(pa)] & M_EVER) | m);
}

static uintptr_t link_pa(const struct free_block *b)
{
	return KERNBASE + (uintptr_t)(b - links) * PGSIZE;
}

static void list_add(unsigned order, uintptr_t pa)
{
	struct free_block *b = &links[pidx(pa)], *h = &free_list[order];

	b->next = h->next;
	b->prev = h;
	h->next->prev = b;
	h->next = b;
}

static void list_del(uintptr_t pa)
{
	struct free_block *b = &links[pidx(pa)];

	b->prev->next = b->next;
	b->next->prev = b->prev;
}

/* Put a block back, merging with free buddies. The block's tail pages are already TAIL. */
static void give(uintptr_t pa, unsigned order)
{
	while (order < PAGE_MAX_ORDER) {
		uintptr_t buddy = pa ^ (PGSIZE << order);
		if (buddy < managed_lo || buddy + (PGSIZE << order) > PHYSTOP ||
		    (meta[pidx(buddy)] & ~M_EVER) != MK(OWN_FREE, order))
			break;
		list_del(buddy);
		if (buddy < pa) {
			set_meta(pa, MK(OWN_TAIL, 0));
			pa = buddy;
		} else {
			set_meta(buddy, MK(OWN_TAIL, 0));
		}
		order++;
	}
	set_meta(pa, MK(OWN_FREE, order));
	list_add(order, pa);
}

/* Take a block of 2^order pages and mark it owned by owner; NULL when memory is exhausted. */
static void *take(unsigned order, unsigned owner)
{
	unsigned k = order;

	while (k <= PAGE_MAX_ORDER && free_list[k].next == &free_list[k])
		k++;
	if (k > PAGE_MAX_ORDER)
		return NULL;
	uintptr_t pa = link_pa(free_list[k].next);
	list_del(pa);
	while (k > order) {      /* split: the upper half goes back on the list below */
		k--;
		uintptr_t upper = pa + (PGSIZE << k);
		set_meta(upper, MK(OWN_FREE, k));
		list_add(k, upper);
	}
	set_meta(pa, MK(owner, order));
	nfree_pages -= 1UL << order;
	guard_set(pa, 1UL << order, true);
	return (void *)pa;
}

/* A block just taken: every page a free poisoned must still hold the poison (pc, fp: the
 * allocation's caller, where the check runs). */
static void check_poison(uintptr_t pa, unsigned order, uintptr_t pc, uintptr_t fp)
{
	for (size_t i = pidx(pa), n = 1UL << order; n--; i++, pa += PGSIZE) {
		if (!(poisoned[i / 64] & (1UL << (i % 64))))
			continue;
		poisoned[i / 64] &= ~(1UL << (i % 64));
		fl_poison_check("page", (void *)pa, PGSIZE, POISON_FREE, pc, fp);
	}
}

static void release(uintptr_t pa, unsigned order)
{
	for (size_t i = pidx(pa), n = 1UL << order; n--; i++)
		poisoned[i / 64] |= 1UL << (i % 64);
	memset((void *)pa, POISON_FREE, PGSIZE << order);
	guard_set(pa, 1UL << order, false);
	nfree_pages += 1UL << order;
	give(pa, order);
}

void page_unmap_free(void)
{
	for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++)
		for (struct free_block *b = free_list[k].next; b != &free_list[k]; b = b->next)
			guard_set(link_pa(b), 1UL << k, false);
}

void page_init(void)
{
	uintptr_t pa = PGROUNDUP((uintptr_t)kernel_end);

	for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++)
		free_list[k].next = free_list[k].prev = &free_list[k];
	managed_lo = pa;       /* meta[] is all OWN_TAIL (zero) after boot */
	while (pa < PHYSTOP) {   /* largest aligned blocks that fit */
		unsigned order = PAGE_MAX_ORDER;
		while ((pa & ((PGSIZE << order) - 1)) || pa + (PGSIZE << order) > PHYSTOP)
			order--;
		set_meta(pa, MK(OWN_FREE, order));
		list_add(order, pa);
		nfree_pages += 1UL << order;
		pa += PGSIZE << order;
	}
}

enum page_owner page_owner_of(uintptr_t p, uintptr_t *head, unsigned *order)
{
	if (p < KERNBASE || p >= PHYSTOP)
		return OWN_NONE;
	if (p < managed_lo) {
		*head = PGROUNDDOWN(p);
		*order = 0;
		return OWN_KERNEL;
	}
	for (unsigned k = 0; k <= PAGE_MAX_ORDER; k++) {
		uintptr_t h = p & ~((PGSIZE << k) - 1);
		uint8_t m = meta[pidx(h)];
		if (h >= managed_lo && M_OWNER(m) != OWN_TAIL && M_ORDER(m) >= k) {
			*head = h;
			*order = M_ORDER(m);
			return (enum page_owner)M_OWNER(m);
		}
	}
	return OWN_NONE;
}

/*
 * Allocate 2^order contiguous pages. Returns the block (contents undefined: poisoned), or
 * NULL when the fault hook fails the attempt or memory is exhausted (or order is too
 * large). Emits alloc, fault or oom. The caller owns the block until page_free().
 */
void *NOINLINE page_alloc(unsigned order)
{
	struct fl_alloc fa;
	size_t size = PGSIZE << (order <= PAGE_MAX_ORDER ? order : 0);
	void *p;

	if (FL_ALLOC_FAILS(&fa, FL_CLASS_PAGE, size))
		return NULL;
	p = order <= PAGE_MAX_ORDER ? take(order, OWN_PAGE) : NULL;
	if (!p)
		return fl_alloc_done(&fa, NULL);
	check_poison((uintptr_t)p, order, fa.pc, fa.fp);
	meta[pidx((uintptr_t)p)] |= M_EVER;
	live_blocks++;
	live_bytes += size;
	return fl_alloc_done(&fa, p);
}

/* Free a page_alloc block (NULL: nothing). A pointer that is not one is refused: badfree. */
void NOINLINE page_free(void *ptr)
{
	uintptr_t pc = FL_CALLER_PC(), fp = FL_MY_FP(), p = (uintptr_t)ptr, head;
	unsigned order;
	const char *bad;

	if (!ptr)
		return;
	switch (page_owner_of(p, &head, &order)) {
	case OWN_PAGE:
		if (head == p) {
			live_blocks--;
			live_bytes -= PGSIZE << order;
			release(p, order);
			fl_free_done(FL_CLASS_PAGE, ptr, NULL, pc, fp);
			return;
		}
		bad = "invalid";
		break;
	case OWN_SLAB:
	case OWN_BIG:
	case OWN_HELD:
		bad = "mismatch";
		break;
	case OWN_FREE:
		/* a free page that page_alloc once handed out: freed already */
		bad = (p == PGROUNDDOWN(p) && (meta[pidx(p)] & M_EVER)) ? "double" : "invalid";
		break;
	default:
		bad = "invalid";
		break;
	}
	fl_free_done(FL_CLASS_PAGE, ptr, bad, pc, fp);
}

void *NOINLINE page_take_internal(unsigned order, uint8_t owner)
{
	void *p = order <= PAGE_MAX_ORDER ? take(order, owner) : NULL;

	if (p)
		check_poison((uintptr_t)p, order, FL_CALLER_PC(), FL_MY_FP());
	return p;
}

void page_set_owner_internal(void *block, enum page_owner owner)
{
	uintptr_t pa = (uintptr_t)block;

	set_meta(pa, MK(owner, M_ORDER(meta[pidx(pa)])));
}

void page_give_internal(void *p)
{
	uintptr_t head = 0;
	unsigned order;
	enum page_owner o = page_owner_of((uintptr_t)p, &head, &order);

	if ((o != OWN_SLAB && o != OWN_BIG) || head != (uintptr_t)p)
		panic("page_give_internal: not an internal block");   /* an obj.c bug */
	release(head, order);
}

unsigned long page_free_count(void)
{
	return nfree_pages;
}

void page_stats(unsigned long *live, unsigned long *bytes)
{
	*live = live_blocks;
	*bytes = live_bytes;
}
