# null.S - a kernel that powers the machine off at once: the QEMU start-up floor that
# benchmarks measure real kernels against. Writes "pass" (0x5555) to the SiFive test device.
	.section .text
	.globl _entry
_entry:
	li	t0, 0x100000
	li	t1, 0x5555
	sw	t1, 0(t0)
1:	wfi
	j	1b
