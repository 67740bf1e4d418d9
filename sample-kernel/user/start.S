# start.S - user program entry: the kernel starts a program at _start with sp at the top of
# its stack and a0 = the exec argument; main's return value becomes the exit status.
	.section .text.start
	.globl _start
_start:
	li	s0, 0
	call	main
	call	exit
1:	j	1b
