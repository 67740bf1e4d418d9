/*
 * scen_vm.c - `vm`: in a fresh address space, map 240 frames scattered over three regions
 * (one crossing a 1 GiB boundary, so several tables at every level are needed), look every
 * page up, walk a superpage, copy the space into a second one and check the copy, then
 * unmap both (freeing the frames) and destroy both.
 *
 * Ownership: the scenario owns both page tables and, through their mappings, every frame.
 * Error pattern: a goto ladder that unmaps and destroys, in reverse, whatever exists.
 */
#include "kernel.h"
#include "mem.h"
#include "vm.h"

static const struct region {
	uint64_t va, npages;
} regions[] = {
	{ 0x0000010000UL, 80 },    /* low: one last-level table */
	{ 0x003ffd0000UL, 96 },    /* crosses the 1 GiB boundary at 0x40000000 */
	{ 0x2000000000UL, 64 },    /* 128 GiB: its own middle table */
};

#define PERM (PTE_R | PTE_W | PTE_U)

/* a 2 MiB superpage at 64 GiB, over RAM the scenario does not own: the space never runs */
#define SUPER_VA 0x1000000000UL
#define SUPER_PA KERNBASE

/* a frame's content names the va it is mapped at, so lookups and copies can be checked */
static void stamp(uint64_t *frame, uint64_t va)
{
	frame[0] = va;
	frame[PGSIZE / 8 - 1] = ~va;
}

static bool stamped(const uint64_t *frame, uint64_t va)
{
	return frame[0] == va && frame[PGSIZE / 8 - 1] == ~va;
}

static void unmap_regions(pagetable_t pt)
{
	for (size_t r = 0; r < ARRAY_SIZE(regions); r++)
		vm_unmap(pt, regions[r].va, regions[r].npages, true);
}

/*
 * Map a fresh, stamped frame at every page of every region. Returns 0 or the first error;
 * on failure everything this mapped (frames and tables) is freed again.
 */
static int map_regions(pagetable_t pt)
{
	for (size_t r = 0; r < ARRAY_SIZE(regions); r++) {
		for (uint64_t i = 0; i < regions[r].npages; i++) {
			uint64_t va = regions[r].va + i * PGSIZE;
			void *frame = page_alloc(0);
			int rc;
			if (!frame) {
				unmap_regions(pt);
				return -ENOMEM;
			}
			stamp(frame, va);
			rc = vm_map(pt, va, (uintptr_t)frame, PGSIZE, PERM);
			if (rc) {
				page_free(frame);
				unmap_regions(pt);
				return rc;
			}
		}
	}
	return 0;
}

/*
 * Check every page of pt: mapped, stamped with its va, and (when other is not NULL) on a
 * different frame than other maps there. Returns 0 or -EIO (a vm bug).
 */
static int check_regions(pagetable_t pt, pagetable_t other)
{
	for (size_t r = 0; r < ARRAY_SIZE(regions); r++) {
		for (uint64_t i = 0; i < regions[r].npages; i++) {
			uint64_t va = regions[r].va + i * PGSIZE, pa, opa;
			if (vm_lookup(pt, va, &pa) || !stamped((uint64_t *)pa, va))
				return -EIO;
			if (other && (vm_lookup(other, va, &opa) || opa == pa))
				return -EIO;
		}
	}
	return 0;
}

/*
 * Walks that meet a superpage in pt: a 4 KiB lookup inside it resolves through it, a 4 KiB
 * map over it is refused (-EEXIST), and a 4 KiB-granular unmap removes it whole. Returns 0,
 * vm_map_huge's error, or -EIO (a walk came out wrong); nothing stays mapped at SUPER_VA.
 */
static int walk_superpage(pagetable_t pt)
{
	uint64_t pa;
	int rc = vm_map_huge(pt, SUPER_VA, SUPER_PA, LEVEL_SIZE(1), PTE_R);

	if (rc)
		return rc;
	if (vm_lookup(pt, SUPER_VA + 5 * PGSIZE, &pa) || pa != SUPER_PA + 5 * PGSIZE ||
	    vm_map(pt, SUPER_VA + PGSIZE, SUPER_PA, PGSIZE, PERM) != -EEXIST)
		rc = -EIO;
	vm_unmap(pt, SUPER_VA, LEVEL_SIZE(1) / PGSIZE, false);
	if (!rc && vm_lookup(pt, SUPER_VA, &pa) != -ENOENT)
		rc = -EIO;
	return rc;
}

/*
 * The scenario body. Returns 0, -ENOMEM, vm_map's or vm_copy's error, or -EIO (a lookup or
 * copy came out wrong). Frees both spaces and every frame on every path.
 */
static int scen_vm(void)
{
	pagetable_t a, b;
	int rc;

	a = vm_create();
	if (!a)
		return -ENOMEM;
	rc = map_regions(a);
	if (rc)
		goto out_destroy_a;
	rc = check_regions(a, NULL);
	if (!rc)
		rc = walk_superpage(a);
	if (rc)
		goto out_unmap_a;
	b = vm_create();
	if (!b) {
		rc = -ENOMEM;
		goto out_unmap_a;
	}
	for (size_t r = 0; r < ARRAY_SIZE(regions) && !rc; r++)
		rc = vm_copy(a, b, regions[r].va, regions[r].npages * PGSIZE);
	if (!rc)
		rc = check_regions(b, a);

	unmap_regions(b);
	vm_destroy(b);
out_unmap_a:
	unmap_regions(a);
out_destroy_a:
	vm_destroy(a);
	return rc;
}
SCENARIO("vm", scen_vm);
