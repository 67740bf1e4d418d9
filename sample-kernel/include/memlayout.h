/*
 * memlayout.h - the QEMU virt machine as this kernel sees it. Physical RAM is identity-mapped
 * in the kernel page table; devices are mapped at their physical addresses.
 */
#ifndef KERNEL_MEMLAYOUT_H
#define KERNEL_MEMLAYOUT_H

#define TESTDEV     0x00100000UL   /* SiFive test device: power off / reset */
#define UART0       0x10000000UL   /* 16550 */
#define VIRTIO0     0x10001000UL   /* virtio-mmio slot 0; slot i at VIRTIO0 + i * VIRTIO_STRIDE */
#define VIRTIO_STRIDE 0x1000UL
#define VIRTIO_SLOTS  8

#define PLIC        0x0c000000UL   /* platform-level interrupt controller */
#define PLIC_SIZE   0x400000UL
#define VIRTIO_IRQ(slot) (1 + (slot))

#define KERNBASE    0x80000000UL
#define PHYSTOP     (KERNBASE + 128UL * 1024 * 1024)   /* -m 128M */

#define PGSIZE      4096UL
#define PGSHIFT     12
#define PGROUNDUP(a)   (((a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a) ((a) & ~(PGSIZE - 1))

/* Highest virtual address + 1 usable without sign extension in Sv39 (as xv6). */
#define MAXVA       (1UL << 38)
/* The trampoline page (the `trampsec` section) sits at the top of every address space. */
#define TRAMPOLINE  (MAXVA - PGSIZE)

#endif
