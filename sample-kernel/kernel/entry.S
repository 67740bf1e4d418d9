# entry.S - the first instructions, in M-mode at 0x80000000 (after power-on and after every
# reset through the test device). Sets the boot stack, zeroes .bss (a reset reloads only the
# loaded segments, and RAM keeps the previous run's contents) and calls mstart().
	.section .text.entry
	.globl _entry
_entry:
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
2:	call	mstart
3:	wfi
	j	3b

# M-mode traps never happen in a working kernel (everything is delegated to S-mode): report
# on the UART and power off with exit status 3 rather than hang.
	.align 4
	.globl mtrapvec
mtrapvec:
	la	sp, boot_stack_top
	call	mtrap
4:	j	4b
