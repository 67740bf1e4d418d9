/*
 * kelf.h - what the injector reads from the kernel ELF itself: whether QEMU can boot it at
 * all, and the scenarios it offers.
 *
 * The sample kernel registers scenarios with SCENARIO("name", fn) into the `.scenarios`
 * section, an array of { const char *name; int (*fn)(void); } (two 64-bit words each).
 * Another kernel can offer the same section to get `--scenario all`.
 */
#ifndef FAULTLINE_INJECTOR_KELF_H
#define FAULTLINE_INJECTOR_KELF_H

#include <stddef.h>

#define KELF_NAME_MAX 63

struct kelf_scenarios {
	char (*name)[KELF_NAME_MAX + 1];
	size_t n;
};

/*
 * A kernel QEMU can boot: a 64-bit RISC-V executable ELF whose segments and sections all lie
 * inside the file. 0, or -1 with one line in err ("PATH: not a 64-bit RISC-V executable
 * (why)"). The file is untrusted; read with libelf.
 */
int kelf_check(const char *elf_path, char *err, size_t errlen);

/* Read the scenario names, in section order. 0, or -1 with a reason in err. */
int kelf_scenarios(const char *elf_path, struct kelf_scenarios *out, char *err, size_t errlen);
void kelf_scenarios_free(struct kelf_scenarios *s);

/* 1 if name is in the list. */
int kelf_has(const struct kelf_scenarios *s, const char *name);

#endif
