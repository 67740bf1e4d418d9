/* riscv.h - CSR access and the privileged-architecture constants this kernel uses. */
#ifndef KERNEL_RISCV_H
#define KERNEL_RISCV_H

#include "types.h"

#define csr_read(name) ({ uint64_t v_; asm volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define csr_write(name, val) asm volatile("csrw " #name ", %0" : : "r"((uint64_t)(val)))

#define MSTATUS_MPP_MASK (3UL << 11)
#define MSTATUS_MPP_S    (1UL << 11)
#define MSTATUS_FS_INIT  (1UL << 13)

#define SSTATUS_SPP  (1UL << 8)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SIE  (1UL << 1)
#define SSTATUS_SUM  (1UL << 18)

#define SCAUSE_INTR  (1UL << 63)

/* Sv39 */
#define SATP_SV39    (8UL << 60)
#define MAKE_SATP(pt) (SATP_SV39 | (((uint64_t)(pt)) >> 12))

#define PTE_V (1L << 0)
#define PTE_R (1L << 1)
#define PTE_W (1L << 2)
#define PTE_X (1L << 3)
#define PTE_U (1L << 4)
#define PTE_G (1L << 5)
#define PTE_A (1L << 6)
#define PTE_D (1L << 7)

static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero" ::: "memory"); }
static inline void fence(void) { asm volatile("fence rw, rw" ::: "memory"); }
static inline uint64_t rdtime(void) { uint64_t t; asm volatile("rdtime %0" : "=r"(t)); return t; }

#endif
