# uprogs.S - the user programs' ELF images ($(BUILD)/user/<name>.elf), embedded in the
# kernel's read-only data as uprog_<name>_start .. uprog_<name>_end. exec.c lists them.
	.macro uprog name
	.section .rodata.uprog.\name, "a"
	.balign 16
	.globl uprog_\name\()_start, uprog_\name\()_end
uprog_\name\()_start:
	.incbin "\name\().elf"
uprog_\name\()_end:
	.endm

#define UPROG(n) uprog n;
#include "progs.def"
