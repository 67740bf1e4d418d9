/*
 * obj.c - the object allocator: size classes of 16..2048 bytes carved from slabs, larger
 * objects in blocks of their own. Objects are zeroed on allocation and poisoned on free.
 *
 * Ownership: slabs and large-object blocks come from page_take_internal(), an internal path
 * of the page allocator that is not recorded and not injectable, so one obj_alloc is exactly
 * one fault site and one record (alloc, fault or oom). A slab starts with a header (class,
 * free count, an in-use bitmap and each object's requested size) followed by the objects.
 * Slabs with free objects sit on their class's partial list; an empty slab goes back to the
 * page allocator unless it is its class's only empty slab (kept as a cache). obj_free checks
 * the pointer against the slab (or block) it lies in and emits badfree instead of touching
 * anything when it is already free, not an object start, or owned by the page allocator.
 *
 * Quarantine: a freed object is poisoned and held back from reuse in a FIFO of QUARANTINE
 * objects (a static ring: no allocation); it stays "used" in its slab (and a large object's
 * block is OWN_HELD), so a second free is still a double free. The oldest leaves the ring
 * when a newer one needs its place, and every one leaves at the end of a run (before `ckpt
 * end`); leaving, its poison is checked: a changed byte is a write after free, reported in a
 * `poison` record. In guard mode (guard.c) every object gets a block of its own, unmapped
 * while it waits in the quarantine, so any access to it traps.
 */
#include "kernel.h"
#include "memlayout.h"
#include "mem.h"
#include "faultlib/hook.h"
#include "faultlib/record.h"
#include "faultlib/poison.h"
#include "guard.h"

#define SLAB_MAGIC   0x51ab51abU
#define BIG_MAGIC    0xb16b16b1U
#define POISON_OBJ   0x6b
#define MAX_PER_SLAB 256
#define BIG_HDR      64            /* a large object starts this far into its block */
#define QUARANTINE   64            /* freed objects held back from reuse */

struct slab {
	uint32_t magic;
	uint16_t cls;
	uint16_t nfree;
	struct slab *next, *prev;      /* partial list of the class */
	uint64_t used[MAX_PER_SLAB / 64];
	uint64_t held[MAX_PER_SLAB / 64];  /* freed, waiting in the quarantine (still used) */
	uint16_t size[];               /* requested size of each object */
};

struct big {
	uint32_t magic;
	uint32_t order;
	size_t size;
};

struct size_class {
	uint32_t size;                 /* object size */
	uint16_t order;                /* slab block order */
	uint16_t nobj;                 /* objects per slab */
	uint32_t first;                /* offset of object 0 in the slab */
	uint16_t nempty;               /* empty slabs on the partial list */
	struct slab partial;           /* list head (circular) */
};

static struct size_class classes[] = {
	{ .size = 16 }, { .size = 32 }, { .size = 64 }, { .size = 128 },
	{ .size = 256 }, { .size = 512, .order = 1 }, { .size = 1024, .order = 2 },
	{ .size = 2048, .order = 3 },
};

static unsigned long live_objs, live_bytes;
static void *quarantine[QUARANTINE];      /* freed objects, oldest at quar_head */
static unsigned quar_head, quar_len;

/* Lay out each class: as many objects as fit after the header and size table. */
static void classes_init(void)
{
	for (unsigned c = 0; c < ARRAY_SIZE(classes); c++) {
		struct size_class *k = &classes[c];
		uint32_t slab = PGSIZE << k->order, n = MAX_PER_SLAB + 1, first;
		do {
			n--;
			first = (sizeof(struct slab) + 2 * n + 15) & ~15U;
		} while (first + n * k->size > slab);
		k->nobj = (uint16_t)n;
		k->first = first;
		k->partial.next = k->partial.prev = &k->partial;
	}
}

static void slab_link(struct size_class *k, struct slab *s)
{
	s->next = k->partial.next;
	s->prev = &k->partial;
	k->partial.next->prev = s;
	k->partial.next = s;
}

static void slab_unlink(struct slab *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
}

static struct size_class *class_for(size_t size)
{
	for (unsigned c = 0; c < ARRAY_SIZE(classes); c++)
		if (size <= classes[c].size)
			return &classes[c];
	return NULL;
}

/* A fresh slab for class k on its partial list; NULL when memory is exhausted. */
static struct slab *slab_new(struct size_class *k)
{
	struct slab *s = page_take_internal(k->order, OWN_SLAB);

	if (!s)
		return NULL;
	memset(s, 0, k->first);
	s->magic = SLAB_MAGIC;
	s->cls = (uint16_t)(k - classes);
	s->nfree = k->nobj;
	slab_link(k, s);
	k->nempty++;
	return s;
}

/* Carve one object of class k; NULL when memory is exhausted. */
static void *slab_alloc(struct size_class *k, size_t size)
{
	struct slab *s = k->partial.next;
	unsigned i;

	if (s == &k->partial && !(s = slab_new(k)))
		return NULL;
	if (s->nfree == k->nobj)
		k->nempty--;
	for (i = 0; s->used[i / 64] & (1UL << (i % 64)); i++)
		;
	s->used[i / 64] |= 1UL << (i % 64);
	s->size[i] = (uint16_t)size;
	if (--s->nfree == 0)
		slab_unlink(s);
	return (char *)s + k->first + (size_t)i * k->size;
}

/* A large object in a block of its own (header first); NULL when memory is exhausted. */
static void *big_alloc(size_t size)
{
	unsigned order = 0;
	struct big *b;

	while (order <= PAGE_MAX_ORDER && (PGSIZE << order) < size + BIG_HDR)
		order++;
	b = page_take_internal(order, OWN_BIG);
	if (!b)
		return NULL;
	*b = (struct big){ BIG_MAGIC, order, size };
	return (char *)b + BIG_HDR;
}

/*
 * Allocate a zeroed object of size bytes. Returns it, or NULL when the fault hook fails the
 * attempt or memory is exhausted. Emits alloc, fault or oom. The caller owns the object
 * until obj_free().
 */
void *NOINLINE obj_alloc(size_t size)
{
	struct fl_alloc fa;
	struct size_class *k = guard_mode ? NULL : class_for(size);
	void *p;

	if (FL_ALLOC_FAILS(&fa, FL_CLASS_OBJ, size))
		return NULL;
	p = k ? slab_alloc(k, size) : big_alloc(size);
	if (!p)
		return fl_alloc_done(&fa, NULL);
	memset(p, 0, k ? k->size : size);
	live_objs++;
	live_bytes += size;
	return fl_alloc_done(&fa, p);
}

/* Free object i of slab s; returns its requested size. */
static size_t slab_free(struct slab *s, unsigned i)
{
	struct size_class *k = &classes[s->cls];
	size_t size = s->size[i];

	memset((char *)s + k->first + (size_t)i * k->size, POISON_OBJ, k->size);
	s->used[i / 64] &= ~(1UL << (i % 64));
	if (s->nfree++ == 0)
		slab_link(k, s);
	if (s->nfree == k->nobj) {
		if (k->nempty) {            /* keep one empty slab per class, return the rest */
			slab_unlink(s);
			s->magic = 0;
			page_give_internal(s);
		} else {
			k->nempty++;
		}
	}
	return size;
}

/*
 * Classify a pointer handed to obj_free: NULL when it is a live object (its slab and index,
 * or its large-object block, are stored), otherwise the badfree kind.
 */
static const char *obj_check(uintptr_t p, struct slab **sp, unsigned *ip, struct big **bp)
{
	uintptr_t head;
	unsigned order;

	switch (page_owner_of(p, &head, &order)) {
	case OWN_SLAB: {
		struct slab *s = (struct slab *)head;
		struct size_class *k = &classes[s->cls];
		uintptr_t off = p - head;
		if (s->magic != SLAB_MAGIC || off < k->first || (off - k->first) % k->size ||
		    (off - k->first) / k->size >= k->nobj)
			return "invalid";
		unsigned i = (unsigned)((off - k->first) / k->size);
		if (!(s->used[i / 64] & (1UL << (i % 64))) || (s->held[i / 64] & (1UL << (i % 64))))
			return "double";
		*sp = s;
		*ip = i;
		return NULL;
	}
	case OWN_BIG: {
		struct big *b = (struct big *)head;
		if (p != head + BIG_HDR || b->magic != BIG_MAGIC)
			return "invalid";
		*bp = b;
		return NULL;
	}
	case OWN_HELD:
		return p == head + BIG_HDR ? "double" : "invalid";
	case OWN_PAGE:
		return "mismatch";
	default:
		return "invalid";
	}
}

/* The oldest object leaves the quarantine: its poison is checked (pc, fp: the context the
 * check runs in), then it is freed for real. */
static void quarantine_release(uintptr_t pc, uintptr_t fp)
{
	uintptr_t p = (uintptr_t)quarantine[quar_head], head;
	unsigned order;

	quar_head = (quar_head + 1) % QUARANTINE;
	quar_len--;
	if (page_owner_of(p, &head, &order) == OWN_HELD) {
		struct big *b = (struct big *)head;

		guard_set(head, 1UL << order, true);
		fl_poison_check("obj", (void *)p, b->size, POISON_OBJ, pc, fp);
		page_set_owner_internal(b, OWN_BIG);
		page_give_internal(b);
	} else {
		struct slab *s = (struct slab *)head;
		struct size_class *k = &classes[s->cls];
		unsigned i = (unsigned)((p - head - k->first) / k->size);

		fl_poison_check("obj", (void *)p, k->size, POISON_OBJ, pc, fp);
		s->held[i / 64] &= ~(1UL << (i % 64));
		slab_free(s, i);
	}
}

/* Poison a freed object and hold it back from reuse; returns its requested size. */
static size_t quarantine_add(void *ptr, struct slab *s, unsigned i, struct big *b,
			     uintptr_t pc, uintptr_t fp)
{
	size_t size;

	if (s) {
		size = s->size[i];
		memset(ptr, POISON_OBJ, classes[s->cls].size);
		s->held[i / 64] |= 1UL << (i % 64);
	} else {
		size = b->size;
		memset(ptr, POISON_OBJ, size);
		page_set_owner_internal(b, OWN_HELD);
		guard_set((uintptr_t)b, 1UL << b->order, false);
	}
	if (quar_len == QUARANTINE)
		quarantine_release(pc, fp);
	quarantine[(quar_head + quar_len++) % QUARANTINE] = ptr;
	return size;
}

/* Empty the quarantine, checking each object's poison (the end of a run). */
void NOINLINE obj_quarantine_drain(void)
{
	uintptr_t pc = FL_CALLER_PC(), fp = FL_MY_FP();

	while (quar_len)
		quarantine_release(pc, fp);
}

/* Free an object (NULL: nothing). A pointer that is not a live object is refused: badfree. */
void NOINLINE obj_free(void *ptr)
{
	uintptr_t pc = FL_CALLER_PC(), fp = FL_MY_FP(), p = (uintptr_t)ptr;
	struct slab *s = NULL;
	struct big *b = NULL;
	unsigned i = 0;
	const char *bad;
	size_t size;

	if (!ptr)
		return;
	bad = obj_check(p, &s, &i, &b);
	if (bad) {
		fl_free_done(FL_CLASS_OBJ, ptr, bad, pc, fp);
		return;
	}
	size = quarantine_add(ptr, s, i, b, pc, fp);
	live_objs--;
	live_bytes -= size;
	fl_free_done(FL_CLASS_OBJ, ptr, NULL, pc, fp);
}

void obj_init(void)
{
	classes_init();
}

void mem_stats(struct mem_stats *st)
{
	page_stats(&st->page_live, &st->page_bytes);
	st->obj_live = live_objs;
	st->obj_bytes = live_bytes;
}
