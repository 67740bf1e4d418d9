# usys.S - system call stubs: number in a7, arguments already in a0..a5, result in a0.
#include "sysnum.h"

#define SYSCALL(name) \
	.globl name; \
	name: \
	li a7, SYS_##name; \
	ecall; \
	ret

SYSCALL(exit)
SYSCALL(fork)
SYSCALL(wait)
SYSCALL(exec)
SYSCALL(getpid)
SYSCALL(mmap)
SYSCALL(munmap)
SYSCALL(write)
SYSCALL(yield)
SYSCALL(kill)
SYSCALL(pause)
SYSCALL(blkrw)
SYSCALL(mapcount)
