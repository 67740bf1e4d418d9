/*
 * vm.h - Sv39 page tables. One walker (vm_walk) with visitor callbacks; map, unmap, lookup,
 * copy and teardown are visitors on it. Intermediate tables come from page_alloc (so each
 * is a fault site) and are freed when they become empty and by vm_destroy.
 */
#ifndef KERNEL_VM_H
#define KERNEL_VM_H

#include "types.h"
#include "riscv.h"
#include "memlayout.h"

typedef uint64_t pte_t;
typedef pte_t *pagetable_t;

#define PX(level, va) ((((uint64_t)(va)) >> (12 + 9 * (level))) & 0x1ff)
#define PTE2PA(pte) (((pte) >> 10) << 12)
#define PA2PTE(pa) ((((uint64_t)(pa)) >> 12) << 10)
#define PTE_LEAF(pte) ((pte) & (PTE_R | PTE_W | PTE_X))
#define LEVEL_SIZE(level) (1UL << (12 + 9 * (level)))

/*
 * Visitor: called with the PTE slot for va at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB). A
 * non-zero return stops the walk and becomes vm_walk's result.
 */
typedef int (*vm_visitor)(pte_t *pte, uint64_t va, int level, void *arg);

/*
 * The walker: visits the slots for [va, va + n * LEVEL_SIZE(level)) at `level`. With alloc,
 * missing tables are allocated and linked (returns -ENOMEM, after freeing the tables this
 * descent allocated, if one cannot be); without alloc, missing tables are skipped and a
 * leaf found above `level` (a superpage) is visited at its own level. Returns 0, the
 * visitor's non-zero result, -ENOMEM, or -EEXIST (alloc and a superpage in the way).
 */
int vm_walk_level(pagetable_t pt, uint64_t va, uint64_t n, int level, bool alloc,
		  vm_visitor visit, void *arg);
/* the 4 KiB-granular walk */
int vm_walk(pagetable_t pt, uint64_t va, uint64_t npages, bool alloc, vm_visitor visit, void *arg);

pagetable_t vm_create(void);
int  vm_map(pagetable_t pt, uint64_t va, uint64_t pa, uint64_t size, int perm);
int  vm_map_huge(pagetable_t pt, uint64_t va, uint64_t pa, uint64_t size, int perm);
void vm_unmap(pagetable_t pt, uint64_t va, uint64_t npages, bool free_frames);
int  vm_lookup(pagetable_t pt, uint64_t va, uint64_t *pa_out);
int  vm_copy(pagetable_t src, pagetable_t dst, uint64_t va, uint64_t size);
void vm_destroy(pagetable_t pt);

/* the kernel page table (built by the kvm init step) */
extern pagetable_t kernel_pagetable;
int  kvm_init(void);
void kvm_fini(void);

#endif
