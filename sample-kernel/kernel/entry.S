# entry.S - the boot stub, run where QEMU loads it (0x80000000, M-mode), after power-on,
# after every reset and after a warm restart; and the M-mode trap vector.
#
# The stub makes the running copy of the image (kernel.ld: linked at KERNEL_RUN) equal to
# the loaded image: text and read-only data word by word, writing only the words that
# differ (after a reset none do, so QEMU keeps the translated code of the copy); .data is
# copied whole (the run changed it). Then it zeroes .bss (RAM keeps the previous run's
# contents either way), sets the boot stack and calls mstart(warm) in the copy. A warm
# restart skips the comparison: restart_check() has just found the copy equal.
#include "restart.h"

	.section .text.boot, "ax"
	.globl boot_entry
boot_entry:
	li	a0, 0                   # cold: power-on or reset
	la	t0, image_load
	la	t1, image_start
	la	t2, data_start
1:	bgeu	t1, t2, copy_data
	ld	t3, 0(t0)
	ld	t4, 0(t1)
	beq	t3, t4, 2f
	sd	t3, 0(t1)
2:	addi	t0, t0, 8
	addi	t1, t1, 8
	j	1b
copy_data:                              # t0, t1: .data as loaded, .data in the copy
	la	t2, data_end
4:	bgeu	t1, t2, 5f
	ld	t3, 0(t0)
	ld	t4, 8(t0)
	sd	t3, 0(t1)
	sd	t4, 8(t1)
	addi	t0, t0, 16
	addi	t1, t1, 16
	j	4b
5:	la	sp, boot_stack_top
	li	s0, 0                   # frame-pointer chain ends here
	li	ra, 0
	la	t0, bss_start
	la	t1, bss_end
6:	bgeu	t0, t1, 7f
	sd	zero, 0(t0)
	sd	zero, 8(t0)
	addi	t0, t0, 16
	j	6b
7:	la	t0, mstart
	jalr	t0                      # a0 still says cold or warm
8:	wfi
	j	8b

# M-mode traps: the restart ecall from S-mode (mcause 9 with the magic in a7) goes back to
# the start; anything else never happens in a working kernel (everything else is delegated
# to S-mode): report on the UART and power off with exit status 3 rather than hang.
	.align 4
	.globl mtrapvec
mtrapvec:
	csrr	t0, mcause
	li	t1, 9                   # environment call from S-mode
	bne	t0, t1, 9f
	li	t1, RESTART_MAGIC
	bne	a7, t1, 9f
	li	a0, 1                   # warm
	la	t0, data_load
	la	t1, data_start
	j	copy_data
9:	la	sp, boot_stack_top
	la	t0, mtrap
	jalr	t0
10:	j	10b
