/*
 * guard.c - guard mode, after Linux's DEBUG_PAGEALLOC and KFENCE: the kernel page table maps
 * RAM in 4 KiB pages instead of 2 MiB superpages, and the page allocator unmaps every block
 * it frees and maps every block it hands out; obj.c gives each object a page of its own and
 * keeps it unmapped while it waits in the quarantine. A read or write of freed memory then
 * traps at the access, and the `trap` record names it (docs/analysis.md, use-after-free).
 *
 * Ownership: the last-level tables are static (in .noinit: rebuilt by every install), so
 * guard mode allocates nothing and moves no allocation's sequence number. kvm_init installs
 * them in place of the RAM superpages' slots; kvm_fini removes them before vm_destroy, which
 * therefore never sees them. Nothing here fails.
 */
#include "kernel.h"
#include "memlayout.h"
#include "mem.h"
#include "guard.h"

#define NTABLES ((PHYSTOP - KERNBASE) / LEVEL_SIZE(1))
#define RAM_PTE (PTE_R | PTE_W | PTE_V | PTE_A | PTE_D)
#define SFENCE_EACH_MAX 16     /* larger blocks: one flush of the whole TLB instead */

bool guard_mode;
static pte_t tables[NTABLES][512] __attribute__((aligned(4096), section(".noinit")));
static pte_t *slots;           /* the level-1 table holding them; NULL: not installed */
static uint64_t guarded_lo;    /* the first guarded address */
static bool live;              /* paging may use them: a changed entry needs its sfence */

static void sfence_page(uint64_t va)
{
	asm volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
}

void guard_install(pagetable_t pt, uint64_t from)
{
	pte_t *l1 = (pte_t *)PTE2PA(pt[PX(2, KERNBASE)]);

	for (uint64_t va = from; va < PHYSTOP; va += LEVEL_SIZE(1)) {
		pte_t *t = tables[(va - KERNBASE) / LEVEL_SIZE(1)];

		for (int i = 0; i < 512; i++)
			t[i] = PA2PTE(va + (uint64_t)i * PGSIZE) | RAM_PTE;
		l1[PX(1, va)] = PA2PTE(t) | PTE_V;
	}
	slots = l1;
	guarded_lo = from;
	page_unmap_free();     /* paging is still off: one sfence for all */
	sfence_vma();
	live = true;
}

void guard_remove(void)
{
	if (!slots)
		return;
	for (uint64_t va = guarded_lo; va < PHYSTOP; va += LEVEL_SIZE(1))
		slots[PX(1, va)] = 0;
	slots = NULL;
	live = false;
	sfence_vma();
}

void guard_set(uint64_t pa, uint64_t npages, bool mapped)
{
	bool each = live && npages <= SFENCE_EACH_MAX;

	if (!slots || pa < guarded_lo)
		return;
	for (uint64_t n = npages; n--; pa += PGSIZE) {
		uint64_t i = (pa - KERNBASE) / PGSIZE;

		tables[i / 512][i % 512] = mapped ? PA2PTE(pa) | RAM_PTE : 0;
		if (each)
			sfence_page(pa);
	}
	if (live && !each)
		sfence_vma();
}
