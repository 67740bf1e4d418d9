/*
 * kelf.c - the kernel ELF (see kelf.h): the up-front check, with libelf, and a bounds-checked
 * reader for the `.scenarios` section of a 64-bit little-endian ELF. The file is untrusted:
 * every offset is checked against its size.
 */
#define _GNU_SOURCE
#include "kelf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct image {
	unsigned char *p;
	size_t len;
	const Elf64_Shdr *sh;
	size_t nsh;
};

static int load(const char *path, struct image *im, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rbe");
	long sz;

	memset(im, 0, sizeof *im);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    sz > (1L << 30)) {
		snprintf(err, errlen, "%s: cannot size the file", path);
		fclose(f);
		return -1;
	}
	im->len = (size_t)sz;
	im->p = malloc(im->len ? im->len : 1);
	if (!im->p || fread(im->p, 1, im->len, f) != im->len) {
		snprintf(err, errlen, "%s: cannot read the file", path);
		fclose(f);
		free(im->p);
		im->p = NULL;
		return -1;
	}
	fclose(f);
	return 0;
}

static int check_header(struct image *im, const char *path, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)im->p;

	if (im->len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "%s: not a 64-bit little-endian ELF file", path);
		return -1;
	}
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > im->len ||
	    (size_t)eh->e_shnum > (im->len - eh->e_shoff) / sizeof(Elf64_Shdr) ||
	    eh->e_shstrndx >= eh->e_shnum) {
		snprintf(err, errlen, "%s: bad section header table", path);
		return -1;
	}
	im->sh = (const Elf64_Shdr *)(im->p + eh->e_shoff);
	im->nsh = eh->e_shnum;
	return 0;
}

/* A NUL-terminated string at file offset off within [off, end); NULL if not terminated. */
static const char *str_at(const struct image *im, uint64_t off, uint64_t end)
{
	if (off >= end || end > im->len)
		return NULL;
	if (!memchr(im->p + off, 0, end - off))
		return NULL;
	return (const char *)im->p + off;
}

static const Elf64_Shdr *find_section(const struct image *im, const char *name)
{
	const Elf64_Shdr *strs = &im->sh[((const Elf64_Ehdr *)im->p)->e_shstrndx];

	if (strs->sh_offset > im->len || strs->sh_size > im->len - strs->sh_offset)
		return NULL;
	for (size_t i = 0; i < im->nsh; i++) {
		const char *n = str_at(im, strs->sh_offset + im->sh[i].sh_name,
				       strs->sh_offset + strs->sh_size);

		if (n && !strcmp(n, name))
			return &im->sh[i];
	}
	return NULL;
}

/* The string at virtual address va, from whichever loaded section holds it. */
static const char *str_at_va(const struct image *im, uint64_t va)
{
	for (size_t i = 0; i < im->nsh; i++) {
		const Elf64_Shdr *s = &im->sh[i];

		if (s->sh_type != SHT_PROGBITS || !(s->sh_flags & SHF_ALLOC))
			continue;
		if (va < s->sh_addr || va - s->sh_addr >= s->sh_size)
			continue;
		if (s->sh_offset > im->len || s->sh_size > im->len - s->sh_offset)
			return NULL;
		return str_at(im, s->sh_offset + (va - s->sh_addr), s->sh_offset + s->sh_size);
	}
	return NULL;
}

int kelf_scenarios(const char *elf_path, struct kelf_scenarios *out, char *err, size_t errlen)
{
	struct image im;
	const Elf64_Shdr *sec;
	size_t count;

	memset(out, 0, sizeof *out);
	if (load(elf_path, &im, err, errlen) < 0)
		return -1;
	if (check_header(&im, elf_path, err, errlen) < 0)
		goto out_free;
	sec = find_section(&im, ".scenarios");
	if (!sec) {
		snprintf(err, errlen, "%s has no .scenarios section: name the scenarios with "
			 "--scenario a,b,c", elf_path);
		goto out_free;
	}
	if (sec->sh_offset > im.len || sec->sh_size > im.len - sec->sh_offset ||
	    sec->sh_size % 16) {
		snprintf(err, errlen, "%s: malformed .scenarios section", elf_path);
		goto out_free;
	}
	count = sec->sh_size / 16;
	out->name = calloc(count ? count : 1, sizeof *out->name);
	if (!out->name) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t va;
		const char *s;

		memcpy(&va, im.p + sec->sh_offset + 16 * i, sizeof va);
		s = str_at_va(&im, va);
		if (!s || !*s || strlen(s) > KELF_NAME_MAX || strchr(s, ' ')) {
			snprintf(err, errlen, "%s: scenario %zu has no readable name", elf_path, i);
			kelf_scenarios_free(out);
			goto out_free;
		}
		snprintf(out->name[out->n++], sizeof out->name[0], "%s", s);
	}
	free(im.p);
	return 0;
out_free:
	free(im.p);
	return -1;
}

void kelf_scenarios_free(struct kelf_scenarios *s)
{
	free(s->name);
	s->name = NULL;
	s->n = 0;
}

int kelf_has(const struct kelf_scenarios *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return 1;
	return 0;
}

/* [off, off + size) lies inside a file of len bytes */
static int inside(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

/* The header tables, every loadable segment and every section with contents in the file. */
static int check_layout(Elf *e, const GElf_Ehdr *eh, uint64_t len, char *why, size_t whylen)
{
	Elf_Scn *scn = NULL;
	GElf_Phdr ph;
	GElf_Shdr sh;
	size_t nph, nsh, loads = 0;

	if (!inside(eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize, len) ||
	    !inside(eh->e_shoff, (uint64_t)eh->e_shnum * eh->e_shentsize, len)) {
		snprintf(why, whylen, "header tables end past the end of the file: truncated?");
		return -1;
	}
	if (elf_getphdrnum(e, &nph) < 0 || elf_getshdrnum(e, &nsh) < 0) {
		snprintf(why, whylen, "unreadable headers: %s", elf_errmsg(-1));
		return -1;
	}
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(e, (int)i, &ph)) {
			snprintf(why, whylen, "unreadable program header %zu: %s", i,
				 elf_errmsg(-1));
			return -1;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		if (!inside(ph.p_offset, ph.p_filesz, len)) {
			snprintf(why, whylen, "segment %zu ends past the end of the file: "
				 "truncated?", i);
			return -1;
		}
	}
	if (!loads) {
		snprintf(why, whylen, "no loadable segment");
		return -1;
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh)) {
			snprintf(why, whylen, "unreadable section header: %s", elf_errmsg(-1));
			return -1;
		}
		if (sh.sh_type != SHT_NOBITS && !inside(sh.sh_offset, sh.sh_size, len)) {
			snprintf(why, whylen, "section %zu ends past the end of the file: "
				 "truncated?", elf_ndxscn(scn));
			return -1;
		}
	}
	return 0;
}

/* Why e is not a kernel QEMU's riscv64 `virt` machine can load, in why; 0 if it is one. */
static int check_kernel(Elf *e, uint64_t len, char *why, size_t whylen)
{
	GElf_Ehdr eh;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(why, whylen, "not an ELF file");
		return -1;
	}
	if (gelf_getclass(e) != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(why, whylen, "a %s-bit %s-endian ELF",
			 gelf_getclass(e) == ELFCLASS32 ? "32" : "64",
			 eh.e_ident[EI_DATA] == ELFDATA2MSB ? "big" : "little");
		return -1;
	}
	if (eh.e_machine != EM_RISCV) {
		snprintf(why, whylen, "ELF machine %u; RISC-V is %u", eh.e_machine, EM_RISCV);
		return -1;
	}
	if (eh.e_type != ET_EXEC) {
		snprintf(why, whylen, "ELF type %u; an executable is %u", eh.e_type, ET_EXEC);
		return -1;
	}
	return check_layout(e, &eh, len, why, whylen);
}

int kelf_check(const char *elf_path, char *err, size_t errlen)
{
	char why[256];
	struct stat sb;
	Elf *e;
	int fd, r;

	fd = open(elf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", elf_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", elf_path);
		close(fd);
		return -1;
	}
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	r = e ? check_kernel(e, (uint64_t)sb.st_size, why, sizeof why) : -1;
	if (!e)
		snprintf(why, sizeof why, "%s", elf_errmsg(-1));
	if (r < 0)
		snprintf(err, errlen, "%s: not a 64-bit RISC-V executable (%s)", elf_path, why);
	elf_end(e);
	close(fd);
	return r;
}
