/*
 * sysnum.h - the user/kernel ABI: system call numbers and flag values. Shared by the kernel
 * and the user programs in user/ (and by assembly), so it holds only #defines.
 *
 * Calling convention: a7 = number, a0..a5 = arguments, ecall; the result comes back in a0
 * (a negative errno on failure).
 */
#ifndef KERNEL_SYSNUM_H
#define KERNEL_SYSNUM_H

#define SYS_exit      1   /* exit(status): never returns */
#define SYS_fork      2   /* fork(): child pid in the parent, 0 in the child */
#define SYS_wait      3   /* wait(int *status, flags): reaped child's pid; 0 with WNOHANG */
#define SYS_exec      4   /* exec(name, arg): replaces the image; returns only on failure */
#define SYS_getpid    5
#define SYS_mmap      6   /* mmap(addr or 0, len, prot, flags): the region's address */
#define SYS_munmap    7   /* munmap(addr, len) */
#define SYS_write     8   /* write(buf, len): one `log` record */
#define SYS_yield     9   /* give the CPU to the next runnable process */
#define SYS_kill      10  /* kill(pid): the process exits at its next return to user */
#define SYS_pause     11  /* sleep until killed */
#define SYS_blkrw     12  /* blkrw(sector, buf, count, write): count 512-byte sectors */
#define SYS_mapcount  13  /* number of mmap regions of the caller (after merges/splits) */
#define NSYSCALL      14

#define PROT_READ     1
#define PROT_WRITE    2

#define MAP_SHARED    1   /* the memory object is shared with children across fork */
#define MAP_PRIVATE   2   /* a child gets its own copy at fork */
#define MAP_POPULATE  4   /* allocate and map every page now (else on first touch) */

#define WNOHANG       1

/* where mmap places regions: [MMAP_BASE, MMAP_LIMIT) */
#define MMAP_BASE     0x40000000UL
#define MMAP_LIMIT    0x80000000UL

/* exit status of a process ended by kill() */
#define STATUS_KILLED (-4)

#endif
