/* covmap.c - coverage points from RISC-V code, their lines from DWARF (see covmap.h). */
#include "covmap.h"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <string.h>

static uint64_t hook_addr(const struct ft_symtab *st)
{
	size_t i;

	for (i = 0; i < st->syms.len; i++) {
		const struct ft_sym *s = FT_VEC_AT(&st->syms, struct ft_sym, i);

		if (strcmp(ft_sym_name(st, s), FT_COV_HOOK) == 0)
			return s->lo;
	}
	return 0;
}

static int64_t sext(uint64_t v, int bits)
{
	return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/*
 * Length of the call to target at p (at most avail bytes) that links ra: 4 for `jal ra`,
 * 8 for `auipc ra` + `jalr ra` (no linker relaxation), else 0.
 */
static unsigned call_len(const uint8_t *p, size_t avail, uint64_t pc, uint64_t target)
{
	uint32_t i, j;

	if (avail < 4)
		return 0;
	i = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if ((i & 0xfff) == 0x0ef) {           /* jal ra, imm */
		uint64_t imm = (i >> 31) << 20 | ((i >> 12) & 0xff) << 12 |
			       ((i >> 20) & 1) << 11 | ((i >> 21) & 0x3ff) << 1;

		return pc + (uint64_t)sext(imm, 21) == target ? 4 : 0;
	}
	if ((i & 0xfff) == 0x097 && avail >= 8) { /* auipc ra, hi; jalr ra, lo(ra) */
		j = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		    (uint32_t)p[7] << 24;
		if ((j & 0xfffff) != 0x080e7)
			return 0;
		return pc + (uint64_t)sext(i & 0xfffff000, 32) + (uint64_t)sext(j >> 20, 12) ==
		       target ? 8 : 0;
	}
	return 0;
}

/* 1 for an instruction after which control never falls through: j, jr, ret (jal x0, jalr
 * x0, c.j, c.jr). */
static int is_jump(const uint8_t *p, unsigned len)
{
	uint32_t i = (uint32_t)p[0] | (uint32_t)p[1] << 8;

	if (len == 2)
		return (i & 0xe003) == 0xa001 || ((i & 0xf07f) == 0x8002 && (i >> 7 & 31));
	return (i & 0xfff) == 0x06f || (i & 0xfff) == 0x067;
}

static void push_bound(struct ft_vec *bounds, uint64_t addr, int64_t point)
{
	struct ft_cov_bound *b = ft_vec_push(bounds);

	b->addr = addr;
	b->point = point;
}

/* Decode [lo, hi) of one function inside data (loaded at base); push its points. */
static void scan_func(const uint8_t *data, uint64_t base, size_t size, uint64_t lo,
		      uint64_t hi, uint64_t target, struct ft_vec *rets, struct ft_vec *bounds)
{
	uint64_t pc = lo;
	int after_jump = 0;

	while (pc + 2 <= hi && pc - base + 2 <= size) {
		const uint8_t *p = data + (pc - base);
		size_t avail = (size_t)((hi < base + size ? hi : base + size) - pc);
		unsigned n = call_len(p, avail, pc, target);

		if (n) {
			push_bound(bounds, pc, (int64_t)rets->len);
			*(uint64_t *)ft_vec_push(rets) = pc + n;
			after_jump = 0;
		} else {
			n = (p[0] & 3) == 3 ? 4 : 2;
			if (after_jump == 1)
				push_bound(bounds, pc, -1);
			after_jump = is_jump(p, n) ? 1 : after_jump ? 2 : 0;
		}
		pc += n;
	}
}

size_t ft_cov_points(const struct ft_symtab *st, struct ft_vec *rets, struct ft_vec *bounds)
{
	uint64_t target = hook_addr(st);
	Elf_Scn *scn = NULL;

	if (!target || !st->elf)
		return 0;
	while ((scn = elf_nextscn(st->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		/* symbols are sorted by address, so points come out sorted */
		for (i = 0; i < st->syms.len; i++) {
			const struct ft_sym *s = FT_VEC_AT(&st->syms, struct ft_sym, i);

			if (s->lo >= sh.sh_addr && s->lo < sh.sh_addr + d->d_size &&
			    s->lo != target && (i + 1 == st->syms.len ||
			    FT_VEC_AT(&st->syms, struct ft_sym, i + 1)->lo >= s->hi))
				scan_func(d->d_buf, sh.sh_addr, d->d_size, s->lo, s->hi, target,
					  rets, bounds);
		}
	}
	return rets->len;
}

/* index of the last element whose leading uint64_t is <= x in a vector sorted by it, or -1 */
static int64_t last_le(const struct ft_vec *v, uint64_t x)
{
	size_t lo = 0, hi = v->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (*(const uint64_t *)((const char *)v->data + mid * v->elsz) <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64_t)lo - 1;
}

int64_t ft_cov_point_at(const struct ft_vec *rets, uint64_t pc)
{
	int64_t i = last_le(rets, pc);

	return i >= 0 && FT_VEC_AT(rets, uint64_t, i)[0] == pc ? i : -1;
}

/* The point whose block holds addr: the last bound at or before addr in addr's function, or
 * the function's first bound for its prologue. -1 when there is none or it has no point. */
static int64_t point_of(const struct ft_symtab *st, const struct ft_vec *bounds, uint64_t addr)
{
	const struct ft_sym *f = ft_symtab_find(st, addr);
	int64_t i = last_le(bounds, addr);
	const struct ft_cov_bound *b;

	if (!f)
		return -1;
	if (i < 0 || FT_VEC_AT(bounds, struct ft_cov_bound, i)->addr < f->lo)
		i++;
	if ((size_t)i >= bounds->len)
		return -1;
	b = FT_VEC_AT(bounds, struct ft_cov_bound, i);
	return b->addr < f->hi ? b->point : -1;
}

int ft_cov_lines(const struct ft_symtab *st, const struct ft_vec *bounds, ft_cov_line_fn fn,
		 void *ctx)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (!st->dw || !bounds->len)
		return 0;
	while (dwarf_nextcu(st->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Lines *lines;
		size_t n = 0, i;

		if (dwarf_offdie(st->dw, off + hsize, &cu) &&
		    dwarf_getsrclines(&cu, &lines, &n) == 0) {
			for (i = 0; i < n; i++) {
				Dwarf_Line *l = dwarf_onesrcline(lines, i);
				Dwarf_Addr a;
				bool end;
				int line, rc;
				int64_t p;
				const char *file;

				if (!l || dwarf_lineaddr(l, &a) || dwarf_lineendsequence(l, &end) ||
				    end || dwarf_lineno(l, &line) || line <= 0 ||
				    !(file = dwarf_linesrc(l, NULL, NULL)))
					continue;
				p = point_of(st, bounds, a);
				if (p >= 0 && (rc = fn(ctx, (uint32_t)p, file, line)))
					return rc;
			}
		}
		off = next;
	}
	return 0;
}
