/* symbols.c - ELF symbols, build id and DWARF lines via elfutils (see symbols.h). */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ft_symtab_init(struct ft_symtab *st)
{
	memset(st, 0, sizeof(*st));
	ft_vec_init(&st->syms, sizeof(struct ft_sym));
	ft_arena_init(&st->names);
	st->fd = -1;
}

void ft_symtab_close(struct ft_symtab *st)
{
	if (st->dw)
		dwarf_end(st->dw);
	if (st->elf)
		elf_end(st->elf);
	if (st->fd >= 0)
		close(st->fd);
	ft_vec_free(&st->syms);
	ft_arena_free(&st->names);
	st->dw = st->elf = NULL;
	st->fd = -1;
}

void ft_symtab_add(struct ft_symtab *st, uint64_t lo, uint64_t hi, const char *name)
{
	struct ft_sym *s = ft_vec_push(&st->syms);

	s->lo = lo;
	s->hi = hi;
	s->name = ft_arena_add(&st->names, name, strlen(name));
}

static int sym_cmp(const void *a, const void *b)
{
	const struct ft_sym *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	/* prefer the sized symbol when two start at one address */
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

void ft_symtab_seal(struct ft_symtab *st)
{
	struct ft_sym *s = st->syms.data;
	size_t n = st->syms.len, i;

	if (n)
		qsort(s, n, sizeof(*s), sym_cmp);
	/* an unsized label runs to the next symbol */
	for (i = 0; i < n; i++)
		if (s[i].hi <= s[i].lo)
			s[i].hi = (i + 1 < n && s[i + 1].lo > s[i].lo) ? s[i + 1].lo : s[i].lo + 1;
}

const struct ft_sym *ft_symtab_find(const struct ft_symtab *st, uint64_t addr)
{
	const struct ft_sym *s = st->syms.data;
	size_t lo = 0, hi = st->syms.len;

	/* the last symbol whose lo <= addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0) {
		const struct ft_sym *c = &s[--lo];

		if (addr < c->hi)
			return c;
		/* an earlier, larger symbol may still enclose addr (rare); look back a little */
		if (lo == 0 || s[lo - 1].hi <= addr)
			break;
	}
	return NULL;
}

static void read_build_id(struct ft_symtab *st, Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const unsigned char *desc = (const unsigned char *)d->d_buf + doff;
			size_t i;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((const char *)d->d_buf + noff, "GNU", 4) != 0 ||
			    nh.n_descsz == 0 || nh.n_descsz * 2 >= sizeof(st->build_id))
				continue;
			for (i = 0; i < nh.n_descsz; i++) {
				static const char hex[] = "0123456789abcdef";

				st->build_id[2 * i] = hex[desc[i] >> 4];
				st->build_id[2 * i + 1] = hex[desc[i] & 15];
			}
			st->build_id[2 * nh.n_descsz] = 0;
			return;
		}
	}
}

static void read_symbols(struct ft_symtab *st, Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int type;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name || name[0] == '$' || name[0] == '.')
				continue;
			if (type == STT_NOTYPE) {
				/* an assembly label: only inside executable sections */
				Elf_Scn *ts = elf_getscn(elf, sym.st_shndx);
				GElf_Shdr tsh;

				if (!ts || !gelf_getshdr(ts, &tsh) || !(tsh.sh_flags & SHF_EXECINSTR))
					continue;
			} else if (type != STT_FUNC) {
				continue;
			}
			ft_symtab_add(st, sym.st_value, sym.st_value + sym.st_size, name);
		}
	}
	ft_symtab_seal(st);
}

int ft_symtab_load_elf(struct ft_symtab *st, const char *path, int want_symbols,
		       char *err, size_t errlen)
{
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ft_set_err(err, errlen, "cannot open kernel ELF %s: %m", path);
		return -1;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		ft_set_err(err, errlen, "%s is not an ELF file", path);
		if (elf)
			elf_end(elf);
		close(fd);
		return -1;
	}
	read_build_id(st, elf);
	if (want_symbols)
		read_symbols(st, elf);
	st->fd = fd;
	st->elf = elf;
	st->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL); /* NULL: no line info */
	return 0;
}

/* The compilation unit containing addr. 0, or -1. */
static int cu_of(const struct ft_symtab *st, uint64_t addr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (!st->dw)
		return -1;
	if (dwarf_addrdie(st->dw, addr, cu))
		return 0;
	/* no usable .debug_aranges: scan the compilation units */
	while (dwarf_nextcu(st->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(st->dw, off + hsize, cu) && dwarf_haspc(cu, addr) == 1)
			return 0;
		off = next;
	}
	return -1;
}

int ft_symtab_line(const struct ft_symtab *st, uint64_t addr, const char **file, int *line)
{
	Dwarf_Die cu;
	Dwarf_Line *l;
	const char *src;

	if (cu_of(st, addr, &cu) < 0)
		return -1;
	l = dwarf_getsrc_die(&cu, addr);
	if (!l)
		return -1;
	src = dwarf_linesrc(l, NULL, NULL);
	if (!src || dwarf_lineno(l, line) != 0)
		return -1;
	*file = src;
	return 0;
}

int ft_symtab_inline_site(const struct ft_symtab *st, uint64_t addr, uint64_t *key)
{
	Dwarf_Die cu, *scopes = NULL;
	int n, i, rc = -1;

	if (cu_of(st, addr, &cu) < 0)
		return -1;
	n = dwarf_getscopes(&cu, addr, &scopes);
	/* scopes run from the innermost out to the CU: the last inlined instance before the
	 * enclosing subprogram is the call the function itself made */
	for (i = n - 1; i >= 0; i--) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_inlined_subroutine) {
			*key = dwarf_dieoffset(&scopes[i]);
			rc = 0;
			break;
		}
	}
	free(scopes);
	return rc;
}
