# trampoline.S - the page that switches between user and kernel page tables. It is mapped
# at TRAMPOLINE (no PTE_U) in the kernel page table and in every user page table, so the pc
# stays valid across the satp write. The trapframe (struct trapframe, proc.h) is mapped at
# TRAPFRAME in the user page table only; sscratch holds TRAPFRAME while in user mode.
#
# Nothing here can fail; the kernel side (usertrap, usertrapret) is in usertrap.c.
	.section trampsec, "ax"
	.balign 4

# Trap from U-mode (stvec points here while a process runs in user space). Save every user
# register in the trapframe, switch to the kernel page table and stack, jump to usertrap().
	.globl uservec
uservec:
	csrrw	a0, sscratch, a0          # a0 = TRAPFRAME, sscratch = user a0
	.irp	n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	sd	x\n, (32 + 8 * \n)(a0)
	.endr
	csrr	t0, sscratch
	sd	t0, (32 + 8 * 10)(a0)         # user a0

	ld	sp, 8(a0)                     # kernel_sp
	ld	t0, 16(a0)                    # kernel_trap
	ld	t1, 0(a0)                     # kernel_satp
	li	s0, 0                         # backtraces end at the user boundary
	li	ra, 0
	sfence.vma zero, zero
	csrw	satp, t1
	sfence.vma zero, zero
	jr	t0

# userret(satp, trapframe): switch to the user page table, restore every user register from
# the trapframe and sret to the user pc (sepc and sstatus were set by usertrapret).
	.globl userret
userret:
	sfence.vma zero, zero
	csrw	satp, a0
	sfence.vma zero, zero
	csrw	sscratch, a1
	mv	a0, a1
	.irp	n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ld	x\n, (32 + 8 * \n)(a0)
	.endr
	ld	a0, (32 + 8 * 10)(a0)
	sret

	.balign 4096                      # nothing else shares the trampoline page
