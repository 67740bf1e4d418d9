/*
 * profile.h - the kernel profile (docs/profile.md): one INI file per kernel, read with
 * libinih. Every key of the format is checked here by name (unknown sections and keys, and a
 * key given twice, are errors naming FILE:LINE); the values that stand for command-line
 * options are checked by main.c through the option parser, the machine's here.
 */
#ifndef FAULTLINE_INJECTOR_PROFILE_H
#define FAULTLINE_INJECTOR_PROFILE_H

#include <stddef.h>

#include "qemu.h"

/* The longest line either parser of the format reads (libinih's fixed line buffer). */
#define PROFILE_LINE_MAX 196

enum profile_key {
	PK_ELF,
	PK_BINARY, PK_MACHINE, PK_MEMORY, PK_SMP, PK_BIOS, PK_VIRTIO, PK_DRIVES, PK_ARGS,
	PK_BOOT, PK_RUN,
	PK_SCENARIOS, PK_MODE, PK_FAULT,
	PK_ALLOCATORS, PK_INTERNAL, PK_ATOMIC, PK_NOT_ATOMIC, PK_SUPPRESSIONS,
	PK_MIN_ERROR_COVERAGE,
	PK_COUNT
};

struct profile_value {
	char *text;  /* NULL: not given; the lines of a multi-line value joined by spaces */
	int line;
};

struct profile {
	const char *path;
	struct profile_value v[PK_COUNT];
	struct qemu_machine machine;
};

/*
 * Read the profile at path into *p: 0, or -1 with "FILE:LINE: reason" in err. The machine
 * (p->machine) starts from qemu_default_machine and takes the profile's [qemu] values,
 * checked; the other values are only stored.
 */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

/* "FILE:LINE: [section] key", naming where value k came from, in buf. */
const char *profile_where(const struct profile *p, enum profile_key k, char *buf,
			  size_t len);

/* A path value made relative to the profile's directory (a malloc'd string), or NULL. */
char *profile_path(const struct profile *p, const char *value);

#endif
