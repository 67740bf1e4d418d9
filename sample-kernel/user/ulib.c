/* ulib.c - small helpers for the user programs: formatted output, memory, fork helpers. */
#include <stdarg.h>
#include "ulib.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

static void put_num(char **o, char *end, unsigned long v, unsigned base, int neg)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg && *o < end)
		*(*o)++ = '-';
	while (n && *o < end)
		*(*o)++ = tmp[--n];
}

void printf(const char *fmt, ...)
{
	char buf[160], *o = buf, *end = buf + sizeof(buf) - 1;
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt && o < end; fmt++) {
		int lng = 0;
		if (*fmt != '%') {
			*o++ = *fmt;
			continue;
		}
		if (*++fmt == 'l')
			lng = 1, fmt++;
		if (*fmt == 'd') {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&o, end, v < 0 ? -(unsigned long)v : (unsigned long)v, 10, v < 0);
		} else if (*fmt == 'x') {
			put_num(&o, end, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0);
		} else if (*fmt == 's') {
			for (const char *s = va_arg(ap, const char *); *s && o < end; s++)
				*o++ = *s;
		} else {
			break;
		}
	}
	va_end(ap);
	write(buf, (unsigned long)(o - buf));
}

/* Fork a child that exits with fn(arg). Returns the child's pid, or fork's error. */
int spawn(int (*fn)(long), long arg)
{
	int pid = fork();

	if (pid == 0)
		exit(fn(arg));
	return pid;
}

/*
 * Reap one child, which must be pid: returns pid (its status in *status), wait's error, or
 * BAD_RESULT when the child reaped was another one.
 */
int wait_for(int pid, int *status)
{
	int got = wait(status, 0);

	if (got < 0)
		return got;
	return got == pid ? got : BAD_RESULT;
}

/* spawn(fn, arg), then wait_for() it: the child's pid (status in *status) or the error. */
int run_child(int (*fn)(long), long arg, int *status)
{
	int pid = spawn(fn, arg);

	return pid < 0 ? pid : wait_for(pid, status);
}
