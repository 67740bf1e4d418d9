/*
 * covmap.h - a kernel ELF's coverage map (docs/schema.md, cov_points and cov_lines).
 *
 * A kernel compiled with gcc's -fsanitize-coverage=trace-pc calls __sanitizer_cov_trace_pc
 * at the start of every basic block; the call's return address is the block's *point*, the
 * pc a `cov` record marks. The points are found by decoding each function's RISC-V code (no
 * disassembler needed: the length of an instruction is in its low bits); the source lines a
 * point stands for are the DWARF line rows from its call up to the next point's call in the
 * same function (the rows before a function's first point belong to that point). Code after
 * an unconditional jump or return that starts before the next point's call is a block gcc
 * made after instrumenting (a branch edge holding only a register move, such as the
 * `li a0,-12` of a `return -ENOMEM`): it has no point, and its rows count for none.
 */
#ifndef FT_COVMAP_H
#define FT_COVMAP_H

#include <stddef.h>
#include <stdint.h>

#include "symbols.h"
#include "util.h"

#define FT_COV_HOOK "__sanitizer_cov_trace_pc"

/* Where a point's block starts (its call), or where code without a point starts (point -1). */
struct ft_cov_bound {
	uint64_t addr;
	int64_t point;
};

/* The points of an ELF loaded with its symbols: rets gets their uint64_t return addresses,
 * sorted; bounds the struct ft_cov_bound of each function's code, sorted. Returns how many
 * points (0 for an ELF without the hook). */
size_t ft_cov_points(const struct ft_symtab *st, struct ft_vec *rets, struct ft_vec *bounds);

/* Index of the point whose return address is pc, or -1. */
int64_t ft_cov_point_at(const struct ft_vec *rets, uint64_t pc);

/* Call fn for every DWARF line row inside a function with points: the row's point, file and
 * line (rows repeat; the caller dedups). Stops at fn's first non-zero return, which it
 * returns. */
typedef int (*ft_cov_line_fn)(void *ctx, uint32_t point, const char *file, int line);
int ft_cov_lines(const struct ft_symtab *st, const struct ft_vec *bounds, ft_cov_line_fn fn,
		 void *ctx);

#endif
