/*
 * profile.c - read a kernel profile with libinih (docs/profile.md) and check its machine.
 * analysis/profile.py reads the same format with configparser; the two hold the same table.
 */
#define _GNU_SOURCE
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *section, *name;
} keys[PK_COUNT] = {
	[PK_ELF] = { "kernel", "elf" },
	[PK_BINARY] = { "qemu", "binary" },
	[PK_MACHINE] = { "qemu", "machine" },
	[PK_MEMORY] = { "qemu", "memory" },
	[PK_SMP] = { "qemu", "smp" },
	[PK_BIOS] = { "qemu", "bios" },
	[PK_VIRTIO] = { "qemu", "virtio" },
	[PK_DRIVES] = { "qemu", "drives" },
	[PK_ARGS] = { "qemu", "args" },
	[PK_BOOT] = { "timeouts", "boot" },
	[PK_RUN] = { "timeouts", "run" },
	[PK_SCENARIOS] = { "sweep", "scenarios" },
	[PK_MODE] = { "sweep", "mode" },
	[PK_FAULT] = { "sweep", "fault" },
	[PK_ALLOCATORS] = { "analysis", "allocators" },
	[PK_INTERNAL] = { "analysis", "internal" },
	[PK_ATOMIC] = { "analysis", "atomic" },
	[PK_NOT_ATOMIC] = { "analysis", "not_atomic" },
	[PK_SUPPRESSIONS] = { "analysis", "suppressions" },
	[PK_MIN_ERROR_COVERAGE] = { "pytest", "min_error_coverage" },
};

const struct qemu_machine qemu_default_machine = {
	.machine = "virt",
	.memory = "128M",
	.smp = "1",
	.bios = "none",
	.slot = { "console", "virtio-blk-device,drive=d0" },
	.nslots = 2,
	.drive = { "driver=null-co,size=1M,if=none,id=d0" },
	.ndrives = 1,
};

/* One parse: the file, the line being read, and the first error. */
struct parse {
	FILE *f;
	struct profile *p;
	int line;
	int section_line;    /* of the last [section] header */
	bool indented;       /* the line starts with blanks: a continuation for libinih */
	char *err;
	size_t errlen;
};

/* "FILE:LINE: " and the reason, for the line being read; 0 (libinih: stop). */
static int fail(struct parse *ps, const char *fmt, ...)
{
	int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->p->path, ps->line);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ps->errlen)
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return 0;
}

/* libinih's reader: fgets that counts lines and refuses one too long for its buffer. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	size_t n;

	if (ps->err[0] || !fgets(str, num, ps->f))
		return NULL;
	ps->line++;
	n = strcspn(str, "\r\n");
	if (n > PROFILE_LINE_MAX || (!str[n] && !feof(ps->f))) {
		fail(ps, "line longer than %d characters", PROFILE_LINE_MAX);
		return NULL;
	}
	ps->indented = str[0] == ' ' || str[0] == '\t';
	if (str[strspn(str, " \t")] == '[')
		ps->section_line = ps->line;
	return str;
}

/* Append a continuation line to a value, joined by a space. */
static char *join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s %s", a, b) < 0 ? NULL : s;
}

/* libinih's handler: one key (or one continuation line of the key before). */
static int store(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct profile_value *v;
	char *text;
	int k;

	for (k = 0; k < PK_COUNT; k++)
		if (!strcmp(keys[k].section, section) && !strcmp(keys[k].name, name))
			break;
	if (!*section)
		return fail(ps, "a key before any [section]");
	if (k == PK_COUNT) {
		for (k = 0; k < PK_COUNT && strcmp(keys[k].section, section); k++)
			;
		if (k == PK_COUNT) {
			ps->line = ps->section_line;
			return fail(ps, "unknown section [%s]", section);
		}
		return fail(ps, "unknown key '%s' in [%s]", name, section);
	}
	v = &ps->p->v[k];
	if (v->text && !ps->indented)
		return fail(ps, "'%s' given twice in [%s]", name, section);
	text = v->text ? join(v->text, value) : strdup(value);
	if (!text)
		return fail(ps, "out of memory");
	free(v->text);
	v->text = text;
	if (!v->line)
		v->line = ps->line;
	return 1;
}

const char *profile_where(const struct profile *p, enum profile_key k, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%s:%d: [%s] %s", p->path, p->v[k].line, keys[k].section,
		 keys[k].name);
	return buf;
}

char *profile_path(const struct profile *p, const char *value)
{
	const char *slash = strrchr(p->path, '/');
	char *s;

	if (value[0] == '/' || !slash)
		return strdup(value);
	return asprintf(&s, "%.*s/%s", (int)(slash - p->path), p->path, value) < 0 ? NULL : s;
}

/* A QEMU argument: printable, no blank, an option's value (no leading '-') unless dash. */
static bool is_word(const char *s, bool dash)
{
	if (!*s || (*s == '-' && !dash) || strlen(s) > QEMU_DEVICE_MAX)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

/* Split the value of k into at most max words in out (pointing into a copy that lives as
 * long as the process); -1 with a reason when it will not. */
static int words(struct parse *ps, enum profile_key k, const char **out, int max, int *n)
{
	char where[PATH_MAX + 64], *save, *w, *text = strdup(ps->p->v[k].text);

	*n = 0;
	if (!text) {
		snprintf(ps->err, ps->errlen, "out of memory");
		return -1;
	}
	for (w = strtok_r(text, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (*n == max || !is_word(w, k == PK_ARGS)) {
			profile_where(ps->p, k, where, sizeof where);
			if (*n == max)
				snprintf(ps->err, ps->errlen, "%s takes at most %d values", where, max);
			else
				snprintf(ps->err, ps->errlen, "%s wants QEMU arguments, not '%s'",
					 where, w);
			return -1;
		}
		out[(*n)++] = w;
	}
	return 0;
}

/* The one word of k; -1 with a reason when it is not one. */
static int word(struct parse *ps, enum profile_key k, const char **out)
{
	int n;

	if (words(ps, k, out, 1, &n) < 0 || n != 1) {
		char where[PATH_MAX + 64];

		snprintf(ps->err, ps->errlen, "%s wants one value, not '%s'",
			 profile_where(ps->p, k, where, sizeof where), ps->p->v[k].text);
		return -1;
	}
	return 0;
}

/* memory: 1 to 999999 with a suffix M or G; smp: 1 to 64. */
static bool is_memory(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n && n <= 6 && *s != '0' && (s[n] == 'M' || s[n] == 'G') && !s[n + 1];
}

static bool is_smp(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return !errno && end != s && !*end && isdigit((unsigned char)*s) && v >= 1 && v <= 64;
}

/* Each slot is console, none or a device placed by the injector; exactly one console. */
static const char *bad_slots(const struct qemu_machine *m)
{
	int consoles = 0;

	for (int i = 0; i < m->nslots; i++) {
		if (!strcmp(m->slot[i], "console"))
			consoles++;
		else if (strstr(m->slot[i], "bus="))
			return "a slot's device takes no bus= (its place in the list is its slot)";
	}
	return consoles == 1 ? NULL : "wants the word console in exactly one slot";
}

static int machine(struct parse *ps)
{
	struct qemu_machine *m = &ps->p->machine;
	struct profile_value *v = ps->p->v;
	char where[PATH_MAX + 64];
	const char *bad = NULL;
	enum profile_key k;

	*m = qemu_default_machine;
	if ((v[PK_MACHINE].text && word(ps, PK_MACHINE, &m->machine) < 0) ||
	    (v[PK_MEMORY].text && word(ps, PK_MEMORY, &m->memory) < 0) ||
	    (v[PK_SMP].text && word(ps, PK_SMP, &m->smp) < 0) ||
	    (v[PK_BIOS].text && word(ps, PK_BIOS, &m->bios) < 0) ||
	    (v[PK_VIRTIO].text && words(ps, PK_VIRTIO, m->slot, QEMU_SLOTS, &m->nslots) < 0) ||
	    (v[PK_DRIVES].text &&
	     words(ps, PK_DRIVES, m->drive, QEMU_DRIVES_MAX, &m->ndrives) < 0) ||
	    (v[PK_ARGS].text && words(ps, PK_ARGS, m->arg, QEMU_ARGS_MAX, &m->nargs) < 0))
		return -1;
	if (!is_memory(m->memory)) {
		k = PK_MEMORY;
		bad = "wants a size in M or G (128M, 1G)";
	} else if (!is_smp(m->smp)) {
		k = PK_SMP;
		bad = "wants a number of harts from 1 to 64";
	} else if ((bad = bad_slots(m))) {
		k = PK_VIRTIO;
	}
	if (bad) {
		snprintf(ps->err, ps->errlen, "%s %s, not '%s'",
			 profile_where(ps->p, k, where, sizeof where), bad, v[k].text ?: "");
		return -1;
	}
	if (strchr(m->bios, '/') && !(m->bios = profile_path(ps->p, m->bios))) {
		snprintf(ps->err, ps->errlen, "out of memory");
		return -1;
	}
	return 0;
}

int profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
	struct parse ps = { .p = p, .err = err, .errlen = errlen };
	int r;

	memset(p, 0, sizeof *p);
	p->path = path;
	err[0] = 0;
	ps.f = fopen(path, "r");
	if (!ps.f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = ini_parse_stream(read_line, &ps, store, &ps);
	fclose(ps.f);
	if (err[0])
		return -1;
	if (r) {
		snprintf(err, errlen, "%s:%d: not a [section], key = value, or an indented "
			 "continuation", path, r);
		return -1;
	}
	return machine(&ps);
}
