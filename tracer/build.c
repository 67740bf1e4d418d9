/* build.c - per-build stack and frame caches (see build.h). */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_build *ft_build_new(int64_t id, const char *build_id, const char *src_root)
{
	struct ft_build *b = ft_xrealloc(NULL, sizeof(*b));

	memset(b, 0, sizeof(*b));
	b->id = id;
	snprintf(b->build_id, sizeof(b->build_id), "%s", build_id ? build_id : "");
	b->src_root = src_root && *src_root ? ft_xstrdup(src_root) : NULL;
	ft_symtab_init(&b->st);
	ft_arena_init(&b->strs);
	ft_vec_init(&b->stacks, sizeof(struct ft_stack));
	ft_vec_init(&b->frames, sizeof(struct ft_frame));
	ft_vec_init(&b->unsaved_stacks, sizeof(uint32_t));
	ft_vec_init(&b->unsaved_frames, sizeof(uint32_t));
	ft_vec_init(&b->cov_points, sizeof(uint64_t));
	ft_map_init(&b->stack_by_str);
	ft_map_init(&b->frame_by_pc);
	return b;
}

void ft_build_free(struct ft_build *b)
{
	if (!b)
		return;
	ft_symtab_close(&b->st);
	ft_arena_free(&b->strs);
	ft_vec_free(&b->stacks);
	ft_vec_free(&b->frames);
	ft_vec_free(&b->unsaved_stacks);
	ft_vec_free(&b->unsaved_frames);
	ft_vec_free(&b->cov_points);
	ft_map_free(&b->stack_by_str);
	ft_map_free(&b->frame_by_pc);
	free(b->src_root);
	free(b);
}

const char *ft_build_sym_name(const struct ft_build *b, const struct ft_sym *s)
{
	return ft_sym_name(&b->st, s);
}

const struct ft_sym *ft_build_func_at(const struct ft_build *b, uint64_t pc)
{
	return ft_symtab_find(&b->st, pc);
}

const struct ft_sym *ft_build_func_ret(struct ft_build *b, uint64_t pc)
{
	return ft_build_frame_at(b, ft_build_frame(b, pc))->sym;
}

const char *ft_build_rel_path(const struct ft_build *b, const char *file)
{
	size_t rl = b->src_root ? strlen(b->src_root) : 0;

	if (rl && strncmp(file, b->src_root, rl) == 0 && file[rl] == '/')
		return file + rl + 1;
	return file;
}

uint32_t ft_build_frame(struct ft_build *b, uint64_t pc)
{
	uint32_t *hit = ft_map_get(&b->frame_by_pc, pc, 0);
	struct ft_frame *f;
	uint32_t idx;
	const char *file;
	int line;

	if (hit)
		return *hit;
	idx = (uint32_t)b->frames.len;
	f = ft_vec_push(&b->frames);
	f->pc = pc;
	/* a return address points after the call: look up the call instruction's byte */
	f->sym = pc ? ft_symtab_find(&b->st, pc - 1) : NULL;
	if (pc && ft_symtab_line(&b->st, pc - 1, &file, &line) == 0) {
		file = ft_build_rel_path(b, file);
		f->file = ft_arena_add(&b->strs, file, strlen(file));
		f->line = line;
	}
	if (!pc || ft_symtab_inline_site(&b->st, pc - 1, &f->step) < 0)
		f->step = pc;
	else
		f->step |= 1ULL << 63; /* never equal to a pc */
	ft_map_put(&b->frame_by_pc, pc, 0, idx);
	*(uint32_t *)ft_vec_push(&b->unsaved_frames) = idx;
	return idx;
}

uint32_t ft_build_stack(struct ft_build *b, const struct ft_rec *r)
{
	uint64_t h = ft_hash_bytes(r->bt.p, r->bt.n);
	uint64_t salt;
	struct ft_stack *s;
	uint32_t idx;
	int i;

	for (salt = 0;; salt++) {
		uint32_t *hit = ft_map_get(&b->stack_by_str, h, r->bt.n | salt << 32);
		const char *have;

		if (!hit)
			break;
		s = FT_VEC_AT(&b->stacks, struct ft_stack, *hit);
		have = ft_arena_str(&b->strs, s->str);
		if (strlen(have) == r->bt.n && memcmp(have, r->bt.p, r->bt.n) == 0)
			return *hit + 1;
	}
	idx = (uint32_t)b->stacks.len;
	s = ft_vec_push(&b->stacks);
	s->n = (uint8_t)r->npcs;
	s->str = ft_arena_add(&b->strs, r->bt.p, r->bt.n);
	for (i = 0; i < r->npcs; i++) {
		s->pcs[i] = r->pcs[i];
		/* ft_build_frame may grow b->frames, never b->stacks: s stays valid */
		s->frames[i] = ft_build_frame(b, r->pcs[i]);
	}
	ft_map_put(&b->stack_by_str, h, r->bt.n | salt << 32, idx);
	*(uint32_t *)ft_vec_push(&b->unsaved_stacks) = idx;
	return idx + 1;
}

void ft_build_commit(struct ft_build *b)
{
	b->unsaved_stacks.len = 0;
	b->unsaved_frames.len = 0;
}

void ft_build_rollback(struct ft_build *b)
{
	size_t i;

	for (i = 0; i < b->unsaved_stacks.len; i++)
		FT_VEC_AT(&b->stacks, struct ft_stack,
			  *FT_VEC_AT(&b->unsaved_stacks, uint32_t, i))->db_id = 0;
	for (i = 0; i < b->unsaved_frames.len; i++)
		FT_VEC_AT(&b->frames, struct ft_frame,
			  *FT_VEC_AT(&b->unsaved_frames, uint32_t, i))->in_db = 0;
}
