/*
 * vm.c - Sv39 page tables: one walker, vm_walk_level(), and visitors for map, unmap,
 * lookup, copy, pruning and teardown; plus the kernel page table (the kvm init step).
 *
 * Ownership: a page table owns its intermediate tables (page_alloc'ed, so each is a fault
 * site); leaves point at frames the caller owns, except that vm_unmap(..., true) and the
 * undo of a failed vm_copy free the frames they unmap. Empty intermediate tables never
 * outlive a call: vm_unmap and every failure path prune the tables of their range, and
 * vm_destroy frees all tables (leaves still present are dropped, their frames untouched).
 * Error pattern: each public operation is an op and is failure-atomic — on error nothing
 * new remains mapped or allocated.
 */
#include "kernel.h"
#include "memlayout.h"
#include "mem.h"
#include "vm.h"
#include "guard.h"

pagetable_t kernel_pagetable;

/* A zeroed table page, or NULL. The allocation's pc is this wrapper's call site. */
static pte_t *table_alloc(void)
{
	pte_t *t = page_alloc(0);

	if (t)
		memset(t, 0, PGSIZE);
	return t;
}

/* the first va after the region that the entry for va at level l covers */
static uint64_t level_end(uint64_t va, int l)
{
	return (va & ~(LEVEL_SIZE(l) - 1)) + LEVEL_SIZE(l);
}

/*
 * Visit the slots for [va, va + n * LEVEL_SIZE(level)) at `level` (see vm.h). Returns 0, the
 * visitor's non-zero result, or, when alloc is set, -ENOMEM (a table cannot be allocated: the
 * tables allocated for that descent are freed again before returning) or -EEXIST (a
 * superpage lies where a table is needed). Tables linked for earlier slots stay in pt: a
 * caller whose walk fails prunes them (map_range). Hands nothing to the caller.
 */
int vm_walk_level(pagetable_t pt, uint64_t va, uint64_t n, int level, bool alloc,
		  vm_visitor visit, void *arg)
{
	uint64_t step = LEVEL_SIZE(level);

	va &= ~(step - 1);
	while (n) {
		pte_t *t = pt, *linked[2];
		int nlinked = 0, l, rc;
		uint64_t skip_to = 0;

		for (l = 2; l > level; l--) {
			pte_t *e = &t[PX(l, va)];
			if ((*e & PTE_V) && PTE_LEAF(*e)) {        /* a superpage */
				if (alloc)
					return -EEXIST;
				if ((rc = visit(e, va & ~(LEVEL_SIZE(l) - 1), l, arg)))
					return rc;
				skip_to = level_end(va, l);
				break;
			}
			if (*e & PTE_V) {
				t = (pte_t *)PTE2PA(*e);
			} else if (alloc) {
				pte_t *nt = table_alloc();
				if (!nt) {
					while (nlinked--) {   /* just linked, so still empty */
						pte_t *le = linked[nlinked];
						page_free((void *)PTE2PA(*le));
						*le = 0;
					}
					return -ENOMEM;
				}
				*e = PA2PTE(nt) | PTE_V;
				linked[nlinked++] = e;
				t = nt;
			} else {
				skip_to = level_end(va, l);          /* a hole: nothing below */
				break;
			}
		}
		if (skip_to) {
			uint64_t steps = (skip_to - va) / step;
			if (steps >= n)
				return 0;
			n -= steps;
			va = skip_to;
			continue;
		}
		if ((rc = visit(&t[PX(level, va)], va, level, arg)))
			return rc;
		va += step;
		n--;
	}
	return 0;
}

/* vm_walk_level at 4 KiB granularity (level 0): the same results and the same ownership. */
int vm_walk(pagetable_t pt, uint64_t va, uint64_t npages, bool alloc, vm_visitor visit, void *arg)
{
	return vm_walk_level(pt, va, npages, 0, alloc, visit, arg);
}

/* ---- visitors ---- */

struct map_arg {
	uint64_t pa;
	int perm;
};

/* Fill one empty slot: 0, or -EEXIST when something is mapped there already. */
static int map_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	struct map_arg *m = arg;

	(void)va;
	if (*pte & PTE_V)
		return -EEXIST;
	*pte = PA2PTE(m->pa) | m->perm | PTE_V | PTE_A | PTE_D;
	m->pa += LEVEL_SIZE(level);
	return 0;
}

static int unmap_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	bool free_frames = *(bool *)arg;

	(void)va;
	if (!(*pte & PTE_V) || !PTE_LEAF(*pte))
		return 0;
	if (free_frames && level == 0)
		page_free((void *)PTE2PA(*pte));
	*pte = 0;
	return 0;
}

static bool table_empty(const pte_t *t)
{
	for (int i = 0; i < 512; i++)
		if (t[i])
			return false;
	return true;
}

/* level-1/2 slots pointing at a table: free the table when it is empty (or always, when
 * *arg is true: teardown) */
static int prune_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	bool all = *(bool *)arg;

	(void)va;
	(void)level;
	if ((*pte & PTE_V) && !PTE_LEAF(*pte) && (all || table_empty((pte_t *)PTE2PA(*pte)))) {
		page_free((void *)PTE2PA(*pte));
		*pte = 0;
	}
	return 0;
}

/* Free the empty tables under [va, va + npages pages): last-level tables, then middle ones. */
static void prune(pagetable_t pt, uint64_t va, uint64_t npages)
{
	bool all = false;
	uint64_t end = va + npages * PGSIZE;

	for (int l = 1; l <= 2; l++) {
		uint64_t lo = va & ~(LEVEL_SIZE(l) - 1);
		uint64_t n = (end - lo + LEVEL_SIZE(l) - 1) / LEVEL_SIZE(l);
		vm_walk_level(pt, lo, n, l, false, prune_visit, &all);
	}
}

static void unmap_range(pagetable_t pt, uint64_t va, uint64_t npages, bool free_frames)
{
	vm_walk(pt, va, npages, false, unmap_visit, &free_frames);
	sfence_vma();
}

/* Map [va, va+size) at `level` granularity; on failure nothing new remains (see vm_map). */
static int map_range(pagetable_t pt, uint64_t va, uint64_t pa, uint64_t size, int perm, int level)
{
	struct map_arg m = { pa, perm };
	uint64_t gran = LEVEL_SIZE(level);
	int rc;

	if (!size || ((va | pa | size) & (gran - 1)) || va + size > MAXVA || va + size < va)
		return -EINVAL;
	rc = vm_walk_level(pt, va, size / gran, level, true, map_visit, &m);
	if (rc) {
		uint64_t done = (m.pa - pa) / PGSIZE;
		unmap_range(pt, va, done, false);
		prune(pt, va, size / PGSIZE);
	}
	return rc;
}

/* ---- the API ---- */

/*
 * An empty page table (root only). Returns it, handed to the caller (free it with
 * vm_destroy), or NULL when the root cannot be allocated.
 */
pagetable_t vm_create(void)
{
	int id = op_begin("vm_create");
	pagetable_t pt = table_alloc();

	op_end(id, pt ? 0 : -ENOMEM);
	return pt;
}

/*
 * Map [va, va+size) to [pa, pa+size) with perm (PTE_R/W/X/U), 4 KiB pages. Returns 0,
 * -EINVAL (unaligned or out of range), -EEXIST (something already mapped there) or -ENOMEM
 * (a table could not be allocated). On failure nothing new remains mapped or allocated.
 * Tables allocated on success belong to pt; the frames stay the caller's.
 */
int vm_map(pagetable_t pt, uint64_t va, uint64_t pa, uint64_t size, int perm)
{
	int id = op_begin("vm_map");

	return op_end(id, map_range(pt, va, pa, size, perm, 0));
}

/* As vm_map with 2 MiB superpages (va, pa and size 2 MiB-aligned). For the kernel's map. */
int vm_map_huge(pagetable_t pt, uint64_t va, uint64_t pa, uint64_t size, int perm)
{
	int id = op_begin("vm_map_huge");

	return op_end(id, map_range(pt, va, pa, size, perm, 1));
}

/* Remove the mappings of [va, va + npages pages) (holes are fine), freeing the frames when
 * free_frames; tables left empty are freed. Never fails. */
void vm_unmap(pagetable_t pt, uint64_t va, uint64_t npages, bool free_frames)
{
	unmap_range(pt, va, npages, free_frames);
	prune(pt, va, npages);
}

struct lookup_arg {
	uint64_t va;
	uint64_t pa;
};

static int lookup_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	struct lookup_arg *l = arg;

	if (!(*pte & PTE_V) || !PTE_LEAF(*pte))
		return 0;
	l->pa = PTE2PA(*pte) + (l->va - va);
	(void)level;
	return 1;
}

/* The physical address va maps to: 0 and *pa_out, or -ENOENT (not mapped). */
int vm_lookup(pagetable_t pt, uint64_t va, uint64_t *pa_out)
{
	struct lookup_arg l = { va, 0 };

	if (va >= MAXVA || vm_walk(pt, va, 1, false, lookup_visit, &l) != 1)
		return -ENOENT;
	*pa_out = l.pa;
	return 0;
}

struct copy_arg {
	pagetable_t dst;
	uint64_t copied_end;   /* every page src maps below this va has its copy in dst */
};

/*
 * Copy one src leaf into dst: 0, -EINVAL (a superpage), -ENOMEM or map_range's error. On
 * failure the new frame is freed again; on success it belongs to dst's mapping.
 */
static int copy_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	struct copy_arg *c = arg;
	void *frame;
	int rc;

	c->copied_end = va;            /* the walk is in address order: all below is copied */
	if (!(*pte & PTE_V) || !PTE_LEAF(*pte))
		return 0;
	if (level)
		return -EINVAL;            /* superpages are the kernel's, never copied */
	frame = page_alloc(0);
	if (!frame)
		return -ENOMEM;
	memcpy(frame, (void *)PTE2PA(*pte), PGSIZE);
	rc = map_range(c->dst, va, (uintptr_t)frame, PGSIZE,
		       (int)(*pte & (PTE_R | PTE_W | PTE_X | PTE_U)), 0);
	if (rc)
		page_free(frame);
	return rc;
}

/*
 * Undo of a failed copy, walked over [va, copied_end) only: the walk copies in address
 * order, so every page src maps there got a copy in dst; unmap it and free its frame. What
 * dst mapped before the call (beyond copied_end, e.g. the page that made the copy fail with
 * -EEXIST) is never touched.
 */
static int uncopy_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	struct copy_arg *c = arg;

	if ((*pte & PTE_V) && PTE_LEAF(*pte) && level == 0)
		unmap_range(c->dst, va, 1, true);
	return 0;
}

/*
 * Give dst a private copy (new frames, same permissions) of every page src maps in
 * [va, va+size). Returns 0, -EINVAL (unaligned, wrapping, or src has a superpage there),
 * -EEXIST (dst already maps one of those pages) or -ENOMEM. On failure no copied page, new
 * frame or new table remains, and whatever dst mapped before the call is left as it was.
 * On success the new frames and tables belong to dst (its mappings own the frames).
 */
int vm_copy(pagetable_t src, pagetable_t dst, uint64_t va, uint64_t size)
{
	int id = op_begin("vm_copy");
	struct copy_arg c = { dst, va };
	int rc;

	if (!size || ((va | size) & (PGSIZE - 1)) || va + size < va || va + size > MAXVA)
		return op_end(id, -EINVAL);
	rc = vm_walk(src, va, size / PGSIZE, false, copy_visit, &c);
	if (rc) {
		if (c.copied_end > va)
			vm_walk(src, va, (c.copied_end - va) / PGSIZE, false, uncopy_visit, &c);
		prune(dst, va, size / PGSIZE);
	}
	return op_end(id, rc);
}

/* Free every table of pt and the root (NULL: nothing). Leaves still present are dropped;
 * the frames they point at are not freed. */
void vm_destroy(pagetable_t pt)
{
	bool all = true;

	if (!pt)
		return;
	vm_walk_level(pt, 0, MAXVA / LEVEL_SIZE(1), 1, false, prune_visit, &all);
	vm_walk_level(pt, 0, MAXVA / LEVEL_SIZE(2), 2, false, prune_visit, &all);
	page_free(pt);
}

/* ---- the kernel page table ---- */

extern char image_start[], etext[], trampoline[];

/*
 * The kvm init step: build the kernel page table (devices and the PLIC, kernel text read-only and
 * executable, the rest of RAM read-write in 2 MiB pages where aligned, in guard mode in 4 KiB
 * pages of guard.c's with free memory left out, the trampoline page when the kernel has one)
 * and turn paging on. Returns 0 or the failing step's error
 * (-ENOMEM; -EINVAL/-EEXIST only for a broken memory layout); on failure every table is
 * freed and paging stays off. On success the table is kernel_pagetable's, freed by kvm_fini.
 */
int kvm_init(void)
{
	uintptr_t text_end = (uintptr_t)etext;
	uintptr_t huge = (text_end + LEVEL_SIZE(1) - 1) & ~(LEVEL_SIZE(1) - 1);
	pagetable_t pt = vm_create();
	int rc;

	if (!pt)
		return -ENOMEM;
	if ((rc = vm_map(pt, TESTDEV, TESTDEV, PGSIZE, PTE_R | PTE_W)) ||
	    (rc = vm_map(pt, UART0, UART0, PGSIZE, PTE_R | PTE_W)) ||
	    (rc = vm_map(pt, VIRTIO0, VIRTIO0, VIRTIO_SLOTS * VIRTIO_STRIDE, PTE_R | PTE_W)) ||
	    (rc = vm_map_huge(pt, PLIC, PLIC, PLIC_SIZE, PTE_R | PTE_W)) ||
	    (rc = vm_map(pt, (uintptr_t)image_start, (uintptr_t)image_start,
			 text_end - (uintptr_t)image_start, PTE_R | PTE_X)) ||
	    (huge > text_end &&
	     (rc = vm_map(pt, text_end, text_end, huge - text_end, PTE_R | PTE_W))) ||
	    (rc = vm_map_huge(pt, huge, huge, PHYSTOP - huge, PTE_R | PTE_W)) ||
	    (text_end > (uintptr_t)trampoline &&
	     (rc = vm_map(pt, TRAMPOLINE, (uintptr_t)trampoline, PGSIZE, PTE_R | PTE_X))))
		goto out_destroy;
	if (guard_mode)
		guard_install(pt, huge);
	kernel_pagetable = pt;
	sfence_vma();
	csr_write(satp, MAKE_SATP(pt));
	sfence_vma();
	return 0;

out_destroy:
	vm_destroy(pt);
	return rc;
}

/* The kvm teardown: paging off, kernel page table freed. Idempotent. */
void kvm_fini(void)
{
	if (!kernel_pagetable)
		return;
	csr_write(satp, 0);
	sfence_vma();
	guard_remove();
	vm_destroy(kernel_pagetable);
	kernel_pagetable = NULL;
}
