# start.S - entry in M-mode at 0x80000000 (QEMU -bios none), after power-on and after a
# reset: zero .bss, take the boot stack, call mstart(); and the S-mode trap vector.
	.section .text.start, "ax"
	.globl _start
_start:
	la	t0, bss_start
	la	t1, bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	la	sp, stack_top
	li	s0, 0
	li	ra, 0
	call	mstart
3:	wfi
	j	3b

# pebble takes no interrupts and expects no exceptions: any trap is fatal. trap() gets
# the cause, the trapped pc and value, and the trapped ra and frame pointer for a backtrace.
	.text
	.align 4
	.globl trapvec
trapvec:
	csrr	a0, scause
	csrr	a1, sepc
	csrr	a2, stval
	mv	a3, ra
	mv	a4, s0
	call	trap
4:	j	4b
