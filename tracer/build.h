/*
 * build.h - what the tracer keeps in memory per kernel build: its symbols, the interned
 * backtraces (stacks) and the symbolized pcs (frames). Each stack and each pc is resolved
 * once per build and written to the database once: the `unsaved` lists hold what no
 * committed transaction has written yet, so a rollback forgets the ids it handed out.
 */
#ifndef FT_BUILD_H
#define FT_BUILD_H

#include <stdint.h>

#include "parser.h"
#include "symbols.h"
#include "util.h"

struct ft_frame {
	uint64_t pc;
	const struct ft_sym *sym; /* function of pc - 1 (pcs are return addresses), or NULL */
	uint32_t file;            /* offset in ft_build.strs, 0 unknown */
	int32_t line;             /* 0 unknown */
	uint64_t step;            /* the call site in sym this pc belongs to: pc, or for code
				   * inlined into sym the inlined call's DWARF instance */
	uint8_t in_db;
};

struct ft_stack {
	uint64_t pcs[FT_BT_MAX];
	uint32_t frames[FT_BT_MAX]; /* index in ft_build.frames */
	uint8_t n;
	uint32_t str;               /* the bt token, offset in ft_build.strs */
	int64_t db_id;              /* stacks.id, 0 while not stored */
};

struct ft_build {
	int64_t id;                 /* builds.id */
	char build_id[129];
	int check_build_id;         /* 0 for a build registered without an ELF */
	char *src_root;
	struct ft_symtab st;
	struct ft_arena strs;
	struct ft_vec stacks;       /* struct ft_stack */
	struct ft_map stack_by_str; /* (hash, len | salt << 32) -> index */
	struct ft_vec frames;       /* struct ft_frame */
	struct ft_map frame_by_pc;  /* (pc, 0) -> index */
	struct ft_vec unsaved_stacks; /* uint32_t indexes not yet in a committed transaction */
	struct ft_vec unsaved_frames;
	struct ft_vec cov_points;   /* uint64_t coverage points (covmap.h), bit order of a run's
				     * coverage; empty: the build reports none */
};

struct ft_build *ft_build_new(int64_t id, const char *build_id, const char *src_root);
void ft_build_free(struct ft_build *b);

/* A DWARF path relative to the build's src_root when it lies below it. */
const char *ft_build_rel_path(const struct ft_build *b, const char *file);

/* Index of the frame for pc (resolved on first sight). */
uint32_t ft_build_frame(struct ft_build *b, uint64_t pc);
/* Index + 1 of the interned stack for a parsed backtrace (never 0). */
uint32_t ft_build_stack(struct ft_build *b, const struct ft_rec *r);

static inline struct ft_stack *ft_build_stack_at(struct ft_build *b, uint32_t idx1)
{
	return idx1 ? FT_VEC_AT(&b->stacks, struct ft_stack, idx1 - 1) : NULL;
}

static inline struct ft_frame *ft_build_frame_at(struct ft_build *b, uint32_t idx)
{
	return FT_VEC_AT(&b->frames, struct ft_frame, idx);
}

/* Function containing pc as a return address (pc - 1) / as an instruction address. */
const struct ft_sym *ft_build_func_ret(struct ft_build *b, uint64_t pc);
const struct ft_sym *ft_build_func_at(const struct ft_build *b, uint64_t pc);
const char *ft_build_sym_name(const struct ft_build *b, const struct ft_sym *s);

/* After a commit: keep the ids. After a rollback: forget them. */
void ft_build_commit(struct ft_build *b);
void ft_build_rollback(struct ft_build *b);

#endif
