/*
 * symbols.h - a kernel ELF's function symbols, GNU build id and DWARF line table.
 * One ft_symtab per build; the store keeps it in memory so every pc is resolved once.
 */
#ifndef FT_SYMBOLS_H
#define FT_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ft_sym {
	uint64_t lo, hi;
	uint32_t name; /* offset in ft_symtab.names */
};

struct ft_symtab {
	struct ft_vec syms;    /* struct ft_sym, sorted by lo once ft_symtab_seal() ran */
	struct ft_arena names;
	int fd;                /* the ELF kept open for line lookups, -1 if none */
	void *elf;             /* Elf * */
	void *dw;              /* Dwarf *, NULL without DWARF */
	char build_id[129];    /* hex, "" if the ELF has no build-id note */
};

void ft_symtab_init(struct ft_symtab *st);
void ft_symtab_close(struct ft_symtab *st);

/* Read build id, function symbols and open the DWARF of an ELF file. 0, or -1 with err. */
int ft_symtab_load_elf(struct ft_symtab *st, const char *path, int want_symbols,
		       char *err, size_t errlen);

/* Add a symbol by hand (from the database); call ft_symtab_seal() after the last one. */
void ft_symtab_add(struct ft_symtab *st, uint64_t lo, uint64_t hi, const char *name);
void ft_symtab_seal(struct ft_symtab *st);

/* The function containing addr, or NULL. */
const struct ft_sym *ft_symtab_find(const struct ft_symtab *st, uint64_t addr);
static inline const char *ft_sym_name(const struct ft_symtab *st, const struct ft_sym *s)
{
	return s ? ft_arena_str(&st->names, s->name) : NULL;
}

/* File and line of addr from DWARF; 0, or -1 when unknown. *file stays valid while st is. */
int ft_symtab_line(const struct ft_symtab *st, uint64_t addr, const char **file, int *line);

/* When addr lies in code inlined into its function, a key naming the outermost inlined
 * call (the DIE of that instance): 0. When it does not (or without DWARF): -1. */
int ft_symtab_inline_site(const struct ft_symtab *st, uint64_t addr, uint64_t *key);

#endif
