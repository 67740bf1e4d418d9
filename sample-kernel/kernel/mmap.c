/*
 * mmap.c - anonymous memory regions and the memory objects behind them.
 *
 * Ownership: a process owns its list of regions (struct region, obj_alloc); a region holds
 * one reference on its anonymous memory object (struct anon, obj_alloc, refcounted with
 * `ref new|get|put anon` records); the anon owns its chunk array and chunks (page_alloc,
 * 2^order contiguous pages each, allocated on first touch or by MAP_POPULATE). Page-table
 * entries for region pages only borrow the anon's frames: they are unmapped without freeing.
 * MAP_SHARED regions share their anon with children across fork; MAP_PRIVATE regions give
 * the child a copy.
 *
 * Error pattern: prepare, then commit. Every call that changes the map first allocates
 * everything it could need (new region, new anon, a longer chunk array, populated chunks)
 * without touching the map, then commits with steps that cannot fail. A failure during
 * preparation releases what was prepared and leaves the map exactly as it was - also when
 * the request would have merged into an existing region, and when munmap must split one.
 * mmap_prepare() holds its pieces in scope guards (cleanup.h); the other functions are short
 * enough for plain sequential undo. mmap_prepare() and mmap_unmap() report the promise to
 * the host as a "map" state (faultlib/state.h): a digest of the map on entry and on
 * return, which must be equal when they fail. The kernel reports; the host judges.
 *
 * Merging: a new region that starts where a compatible region ends (same prot and flags,
 * sole owner of its anon, and reaching the anon's last page) extends that region and its
 * anon instead of adding one. munmap of the middle of a region splits it into two regions
 * that share the anon (one more reference). Pages nobody can reach any more are freed at
 * munmap when the region's anon has no other reference; otherwise when the anon dies.
 */
#include "kernel.h"
#include "mem.h"
#include "proc.h"
#include "mmap.h"
#include "sysnum.h"
#include "cleanup.h"
#include "faultlib/state.h"

#define ANON_MAX_ORDER PAGE_MAX_ORDER   /* chunks of at most 4 MiB */
#define MMAP_MAX_LEN   (64UL << 20)

/* ---- anonymous memory objects ---- */

static size_t chunk_count(size_t npages, unsigned order)
{
	return (npages + (1UL << order) - 1) >> order;
}

/* the largest chunk order (at most ANON_MAX_ORDER) not exceeding npages pages */
static unsigned order_for(size_t npages)
{
	unsigned o = 0;

	while (o < ANON_MAX_ORDER && (2UL << o) <= npages)
		o++;
	return o;
}

/* a zeroed chunk of 2^order pages, or NULL */
static NOINLINE void *chunk_alloc(unsigned order)
{
	void *c = page_alloc(order);

	if (c)
		memset(c, 0, PGSIZE << order);
	return c;
}

/*
 * anon_new - an object of npages pages with chunk order `order`, no chunk allocated yet,
 * holding one reference for the caller. Returns NULL on failure (nothing allocated).
 */
static struct anon *anon_new(size_t npages, unsigned order)
{
	struct anon *a = obj_alloc(sizeof(*a));

	if (!a)
		return NULL;
	a->order = order;
	a->npages = npages;
	a->nchunks = chunk_count(npages, order);
	a->chunks = obj_alloc(a->nchunks * sizeof(*a->chunks));
	if (!a->chunks) {
		obj_free(a);
		return NULL;
	}
	a->ref = 1;
	ref_record("new", "anon", a, 1);
	return a;
}

static void anon_get(struct anon *a)
{
	a->ref++;
	ref_record("get", "anon", a, a->ref);
}

/* Drop one reference; the last one frees the chunks, the chunk array and the object. */
static void anon_put(struct anon *a)
{
	a->ref--;
	ref_record("put", "anon", a, a->ref);
	if (a->ref > 0)
		return;
	for (size_t i = 0; i < a->nchunks; i++)
		if (a->chunks[i])
			page_free(a->chunks[i]);
	obj_free(a->chunks);
	obj_free(a);
}

DEFINE_FREE(anon, struct anon *, anon_put(it))

/* the physical address of page index i of a (its chunk must be present) */
static uint64_t anon_page_pa(const struct anon *a, size_t i)
{
	return (uint64_t)a->chunks[i >> a->order] +
	       ((i & ((1UL << a->order) - 1)) << PGSHIFT);
}

/*
 * anon_copy - a private copy of the part of a that pages [first, first + n) touch: same
 * order and size, the touched chunks in that window copied. Returns it (one reference) or
 * NULL, with nothing left allocated.
 */
static NOINLINE struct anon *anon_copy(const struct anon *a, size_t first, size_t n)
{
	struct anon *c = anon_new(a->npages, a->order);
	size_t lo = first >> a->order, hi = chunk_count(first + n, a->order);

	if (!c)
		return NULL;
	for (size_t i = lo; i < hi; i++) {
		if (!a->chunks[i])
			continue;
		c->chunks[i] = page_alloc(a->order);
		if (!c->chunks[i]) {
			anon_put(c);         /* frees the chunks copied so far */
			return NULL;
		}
		memcpy(c->chunks[i], a->chunks[i], PGSIZE << a->order);
	}
	return c;
}

/* ---- regions ---- */

static int region_perm(const struct region *r)
{
	return PTE_U | (r->prot & PROT_READ ? PTE_R : 0) | (r->prot & PROT_WRITE ? PTE_W | PTE_R : 0);
}

static size_t region_pages(const struct region *r)
{
	return (r->end - r->start) / PGSIZE;
}

/*
 * Map every present page of r's window into pt, chunk by chunk. Returns 0 or the vm_map
 * error; pages mapped before a failure stay mapped (the region is already attached to its
 * process, whose teardown unmaps the whole region range).
 */
static int region_map_present(pagetable_t pt, const struct region *r)
{
	const struct anon *a = r->anon;
	size_t first = r->aoff, last = r->aoff + region_pages(r);   /* anon pages [first, last) */

	for (size_t i = first; i < last;) {
		size_t chunk_end = ((i >> a->order) + 1) << a->order;
		size_t n = (chunk_end < last ? chunk_end : last) - i;
		if (a->chunks[i >> a->order]) {
			uint64_t va = r->start + (i - first) * PGSIZE;
			int rc = vm_map(pt, va, anon_page_pa(a, i), n * PGSIZE, region_perm(r));
			if (rc)
				return rc;
		}
		i += n;
	}
	return 0;
}

/* Unlink and free region r (its pages must be unmapped), dropping its anon reference. */
static void region_free(struct region **link, struct region *r)
{
	*link = r->next;
	anon_put(r->anon);
	obj_free(r);
}

struct region *mmap_find(struct proc *p, uint64_t va)
{
	for (struct region *r = p->regions; r; r = r->next)
		if (va >= r->start && va < r->end)
			return r;
	return NULL;
}

int mmap_count(struct proc *p)
{
	int n = 0;

	for (struct region *r = p->regions; r; r = r->next)
		n++;
	return n;
}

/*
 * mmap_digest - a digest of p's map as its user sees it: for each region its bounds,
 * protection, flags and window onto its object (which object, where, the object's size),
 * and the frame mapped at each of its pages (0: none). Equal digests mean the map did not
 * change in between (up to a 64-bit collision). Reads only; allocates nothing.
 */
uint64_t mmap_digest(struct proc *p)
{
	uint64_t h = FL_DIGEST_SEED;

	for (const struct region *r = p->regions; r; r = r->next) {
		const uint64_t words[] = { r->start, r->end, (uint64_t)r->prot,
					   (uint64_t)r->flags, (uint64_t)(uintptr_t)r->anon,
					   r->aoff, r->anon->npages };
		for (size_t i = 0; i < ARRAY_SIZE(words); i++)
			h = fl_digest_add(h, words[i]);
		for (uint64_t va = r->start; va < r->end; va += PGSIZE) {
			uint64_t pa = 0;

			vm_lookup(p->pt, va, &pa);   /* pa stays 0 where nothing is mapped */
			h = fl_digest_add(h, pa);
		}
	}
	return h;
}

/* ---- mmap ---- */

/*
 * A prepared mmap: either `ext` is set (extend that region by len; `chunks` is its anon's
 * replacement chunk array, sized for the extended object) or `reg` is a new region for the
 * range, with its own anon.
 * Prepared pieces belong to the plan until mmap_commit() moves them into the map.
 */
struct mmap_plan {
	uint64_t start, len;
	struct region *ext;
	void **chunks;
	size_t nchunks;
	struct region *reg;
};

/*
 * The lowest free range of len bytes in the mmap area, or exactly [addr, addr+len) when addr
 * is set: 0 and its start in *start, or -EINVAL (addr unaligned or outside the area), -EEXIST
 * (a region overlaps [addr, addr+len)), -ENOMEM (no room). Reads only.
 */
static int find_range(struct proc *p, uint64_t addr, uint64_t len, uint64_t *start)
{
	uint64_t at = addr ? addr : MMAP_BASE;

	if (addr && (addr < MMAP_BASE || addr % PGSIZE || addr > MMAP_LIMIT - len))
		return -EINVAL;
	for (struct region *r = p->regions; r; r = r->next) {
		if (r->end <= at)
			continue;
		if (r->start >= at + len)
			break;
		if (addr)
			return -EEXIST;
		at = r->end;
	}
	if (at + len > MMAP_LIMIT)
		return -ENOMEM;
	*start = at;
	return 0;
}

/*
 * The region ending exactly at start that a new lazily-populated region (prot, flags) can
 * extend, or NULL. A populated request always gets its own object: its memory is allocated
 * up front, and keeping it apart keeps the undo of a half-populated request simple.
 */
static struct region *merge_candidate(struct proc *p, uint64_t start, int prot, int flags)
{
	if (flags & MAP_POPULATE)
		return NULL;
	for (struct region *r = p->regions; r; r = r->next)
		if (r->end == start && r->prot == prot && r->flags == flags &&
		    r->anon->ref == 1 && r->aoff + region_pages(r) == r->anon->npages)
			return r;
	return NULL;
}

/*
 * prepare_region - a new region for the plan's range with its own anon (populated and
 * mapped with MAP_POPULATE), handed to the plan; or -ENOMEM (vm_map's error when
 * populating) with nothing allocated and nothing mapped. Scope-guard style: each piece is
 * guarded from its acquisition until the plan takes it. Populated pages are mapped in a
 * range no region covers, so unmapping them again restores the page table exactly.
 */
static int prepare_region(struct proc *p, struct mmap_plan *plan, int prot, int flags)
{
	size_t npages = plan->len / PGSIZE;
	int rc;

	scoped_free(anon) struct anon *a = anon_new(npages, order_for(npages));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; (flags & MAP_POPULATE) && i < a->nchunks; i++) {
		a->chunks[i] = chunk_alloc(a->order);
		if (!a->chunks[i])
			return -ENOMEM;          /* the guard's anon_put frees the chunks */
	}
	scoped_free(obj) struct region *r = obj_alloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->start = plan->start;
	r->end = plan->start + plan->len;
	r->prot = prot;
	r->flags = flags & (MAP_SHARED | MAP_PRIVATE);
	r->anon = a;                         /* borrowed until the end: a stays guarded */
	if (flags & MAP_POPULATE) {
		rc = region_map_present(p->pt, r);
		if (rc) {
			vm_unmap(p->pt, r->start, npages, false);
			return rc;
		}
	}
	disarm(a);                           /* r owns the reference now */
	plan->reg = take(r);
	return 0;
}

/*
 * mmap_prepare - everything mmap needs for the plan's range, without changing the map:
 * for a merge the extended object's longer chunk array, else a new region
 * (prepare_region). Returns 0 with the plan filled (its pieces handed to the plan), or
 * -ENOMEM with nothing allocated and the map as it was, which the "map" state promise
 * lets the host check.
 */
static NOINLINE int mmap_prepare(struct proc *p, struct mmap_plan *plan, int prot, int flags)
{
	struct region *ext = merge_candidate(p, plan->start, prot, flags);
	struct fl_state st;
	int rc = 0;

	fl_state_begin(&st, "map", mmap_digest(p));
	if (ext) {
		const struct anon *old = ext->anon;
		size_t n = chunk_count(old->npages + plan->len / PGSIZE, old->order);
		void **chunks = obj_alloc(n * sizeof(*chunks));

		if (chunks) {
			memcpy(chunks, old->chunks, old->nchunks * sizeof(*chunks));
			plan->ext = ext;
			plan->nchunks = n;
			plan->chunks = chunks;
		} else {
			rc = -ENOMEM;
		}
	} else {
		rc = prepare_region(p, plan, prot, flags);
	}
	return fl_state_end(&st, mmap_digest(p), rc);
}

/* Put a prepared plan into the map. Cannot fail. */
static void mmap_commit(struct proc *p, struct mmap_plan *plan)
{
	struct region **link = &p->regions;

	if (plan->ext) {
		struct anon *a = plan->ext->anon;
		obj_free(a->chunks);
		a->chunks = plan->chunks;
		a->nchunks = plan->nchunks;
		a->npages += plan->len / PGSIZE;
		plan->ext->end += plan->len;
		return;
	}
	while (*link && (*link)->start < plan->reg->start)
		link = &(*link)->next;
	plan->reg->next = *link;
	*link = plan->reg;
}

/*
 * mmap_map - map len bytes of zeroed anonymous memory at addr (0: the lowest free range of
 * the mmap area). Returns the address, or -EINVAL, -EEXIST (addr is taken), -ENOMEM. On
 * failure the map is exactly as before and nothing is left allocated. With MAP_POPULATE
 * every page is allocated and mapped before the call returns; otherwise on first touch.
 */
long mmap_map(struct proc *p, uint64_t addr, uint64_t len, int prot, int flags)
{
	struct mmap_plan plan = { 0 };
	int rc;

	len = PGROUNDUP(len);
	if (!len || len > MMAP_MAX_LEN || !(prot & PROT_READ) ||
	    (prot & ~(PROT_READ | PROT_WRITE)) ||
	    (flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_POPULATE)) ||
	    !(flags & MAP_SHARED) == !(flags & MAP_PRIVATE))
		return -EINVAL;
	rc = find_range(p, addr, len, &plan.start);
	if (rc)
		return rc;
	plan.len = len;
	rc = mmap_prepare(p, &plan, prot, flags);
	if (rc)
		return rc;
	mmap_commit(p, &plan);
	return (long)plan.start;
}

/* ---- munmap ---- */

/* Free the chunks of a that lie wholly inside anon pages [first, first + n). */
static void anon_drop_pages(struct anon *a, size_t first, size_t n)
{
	size_t per = 1UL << a->order;

	for (size_t i = (first + per - 1) >> a->order; ((i + 1) << a->order) <= first + n; i++) {
		if (a->chunks[i]) {
			page_free(a->chunks[i]);
			a->chunks[i] = NULL;
		}
	}
}

/*
 * mmap_unmap - remove [addr, addr + len) from the map (ranges without regions are fine).
 * Returns 0, -EINVAL, or -ENOMEM when a region would split and its second half cannot be
 * allocated; then the map is unchanged (its "map" state promise). Prepare (the split's
 * region), then commit.
 */
int mmap_unmap(struct proc *p, uint64_t addr, uint64_t len)
{
	struct region *spare = NULL, *r, **link;
	struct fl_state st;
	uint64_t end;

	len = PGROUNDUP(len);
	end = addr + len;
	if (addr % PGSIZE || !len || addr < MMAP_BASE || end > MMAP_LIMIT || end < addr)
		return -EINVAL;
	fl_state_begin(&st, "map", mmap_digest(p));
	for (r = p->regions; r; r = r->next) {
		if (r->start < addr && r->end > end) {
			spare = obj_alloc(sizeof(*spare));
			if (!spare)
				return fl_state_end(&st, mmap_digest(p), -ENOMEM);
			break;
		}
	}

	/* commit: nothing below can fail */
	link = &p->regions;
	while ((r = *link) && r->start < end) {
		uint64_t lo = r->start > addr ? r->start : addr;
		uint64_t hi = r->end < end ? r->end : end;

		if (r->end <= addr) {
			link = &r->next;
			continue;
		}
		vm_unmap(p->pt, lo, (hi - lo) / PGSIZE, false);
		if (r->anon->ref == 1)          /* nobody else can reach these pages */
			anon_drop_pages(r->anon, r->aoff + (lo - r->start) / PGSIZE,
					(hi - lo) / PGSIZE);
		if (lo == r->start && hi == r->end) {
			region_free(link, r);
			continue;
		}
		if (lo == r->start) {
			r->aoff += (hi - r->start) / PGSIZE;
			r->start = hi;
		} else if (hi == r->end) {
			r->end = lo;
		} else {                        /* the middle: split */
			*spare = *r;
			spare->start = hi;
			spare->aoff = r->aoff + (hi - r->start) / PGSIZE;
			anon_get(r->anon);
			r->end = lo;
			r->next = spare;
			spare = NULL;
		}
		link = &r->next;
	}
	return fl_state_end(&st, mmap_digest(p), 0);
}

/* ---- faults, fork, teardown ---- */

/*
 * The body of mmap_fault: map the page holding va. Returns 0, -EFAULT (no region, a write
 * to a read-only region, or the page is mapped already: a protection fault) or -ENOMEM
 * (the chunk or a table cannot be allocated: a fresh chunk is freed again). On success a
 * fresh chunk belongs to the region's anon.
 */
static int fault_in(struct proc *p, uint64_t va, bool write)
{
	struct region *r = mmap_find(p, va);
	uint64_t page = PGROUNDDOWN(va), pa;
	struct anon *a;
	void *fresh = NULL;
	size_t i;
	int rc;

	if (!r || (write && !(r->prot & PROT_WRITE)))
		return -EFAULT;
	if (vm_lookup(p->pt, page, &pa) == 0)
		return -EFAULT;                  /* mapped already: a protection fault */
	a = r->anon;
	i = r->aoff + (page - r->start) / PGSIZE;
	if (!a->chunks[i >> a->order]) {
		fresh = chunk_alloc(a->order);
		if (!fresh)
			return -ENOMEM;
	}
	pa = fresh ? (uint64_t)fresh + ((i & ((1UL << a->order) - 1)) << PGSHIFT)
		   : anon_page_pa(a, i);
	rc = vm_map(p->pt, page, pa, PGSIZE, region_perm(r));
	if (rc) {
		if (fresh)
			page_free(fresh);
		return rc;
	}
	if (fresh)
		a->chunks[i >> a->order] = fresh;   /* commit */
	return 0;
}

/*
 * mmap_fault - a user page fault at va: map the page of the region holding it, allocating
 * its chunk on first touch. Returns 0, -EFAULT (no region, or not allowed), or -ENOMEM
 * with nothing changed.
 */
int mmap_fault(struct proc *p, uint64_t va, bool write)
{
	int id = op_begin("mmap_fault");

	return op_end(id, fault_in(p, va, write));
}

/*
 * mmap_dup - give child a copy of parent's regions: shared ones reference the same anon,
 * private ones get a copy; present pages are mapped in the child. Returns 0 or -ENOMEM.
 * Each new region is attached to the child before the next step that can fail, so on
 * failure the caller's proc_free(child) releases everything; the parent is never changed.
 */
int mmap_dup(struct proc *parent, struct proc *child)
{
	struct region **tail = &child->regions;

	for (struct region *r = parent->regions; r; r = r->next) {
		struct region *c = obj_alloc(sizeof(*c));
		int rc;

		if (!c)
			return -ENOMEM;
		*c = *r;
		c->next = NULL;
		if (r->flags & MAP_SHARED) {
			anon_get(r->anon);
		} else {
			c->anon = anon_copy(r->anon, r->aoff, region_pages(r));
			if (!c->anon) {
				obj_free(c);
				return -ENOMEM;
			}
		}
		*tail = c;                       /* attached: the child's teardown frees it */
		tail = &c->next;
		rc = region_map_present(child->pt, c);
		if (rc)
			return rc;
	}
	return 0;
}

/* mmap_release_all - unmap and free every region of p (exit, exec, a failed fork). */
void mmap_release_all(struct proc *p)
{
	while (p->regions) {
		struct region *r = p->regions;
		vm_unmap(p->pt, r->start, region_pages(r), false);
		region_free(&p->regions, r);
	}
}
