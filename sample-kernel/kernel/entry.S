# entry.S - the first instructions, in M-mode at 0x80000000 (after power-on and after every
# reset through the test device), and the warm restart's way back to the same start.
#
# Cold start (_entry): QEMU has just loaded the image, so .data is as linked: keep a copy of
# it in .data_pristine. Warm start (_warm_entry, reached from mtrapvec on the restart ecall,
# see restart.c): nothing was reloaded, so copy .data back from that copy. Both then zero
# .bss (RAM keeps the previous run's contents either way) and call mstart(warm).
#include "restart.h"

	.section .text.entry
	.globl _entry
_entry:
	la	t0, data_start
	la	t1, data_end
	la	t2, data_pristine
1:	bgeu	t0, t1, 2f
	ld	t3, 0(t0)
	ld	t4, 8(t0)
	sd	t3, 0(t2)
	sd	t4, 8(t2)
	addi	t0, t0, 16
	addi	t2, t2, 16
	j	1b
2:	li	a0, 0
	j	start

_warm_entry:
	la	t0, data_start
	la	t1, data_end
	la	t2, data_pristine
1:	bgeu	t0, t1, 2f
	ld	t3, 0(t2)
	ld	t4, 8(t2)
	sd	t3, 0(t0)
	sd	t4, 8(t0)
	addi	t0, t0, 16
	addi	t2, t2, 16
	j	1b
2:	li	a0, 1

start:
	la	sp, boot_stack_top
	li	s0, 0                   # frame-pointer chain ends here
	li	ra, 0
	la	t0, bss_start
	la	t1, bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	sd	zero, 8(t0)
	addi	t0, t0, 16
	j	1b
2:	call	mstart                  # a0: 0 cold, 1 warm
3:	wfi
	j	3b

# M-mode traps: the restart ecall from S-mode (mcause 9 with the magic in a7) goes back to
# the start; anything else never happens in a working kernel (everything else is delegated
# to S-mode): report on the UART and power off with exit status 3 rather than hang.
	.align 4
	.globl mtrapvec
mtrapvec:
	csrr	t0, mcause
	li	t1, 9                   # environment call from S-mode
	bne	t0, t1, 4f
	li	t1, RESTART_MAGIC
	beq	a7, t1, _warm_entry
4:	la	sp, boot_stack_top
	call	mtrap
5:	j	5b
