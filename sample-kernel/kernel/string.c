/* string.c - the freestanding string functions the compiler and the kernel rely on. */
#include "kernel.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	uint64_t w = (unsigned char)c * 0x0101010101010101UL;

	while (n && ((uintptr_t)p & 7)) {
		*p++ = (unsigned char)c;
		n--;
	}
	for (; n >= 32; n -= 32, p += 32) {
		((uint64_t *)p)[0] = w;
		((uint64_t *)p)[1] = w;
		((uint64_t *)p)[2] = w;
		((uint64_t *)p)[3] = w;
	}
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if ((((uintptr_t)dp | (uintptr_t)sp) & 7) == 0) {
		for (; n >= 32; n -= 32, dp += 32, sp += 32) {
			uint64_t a = ((const uint64_t *)sp)[0], b = ((const uint64_t *)sp)[1];
			uint64_t c = ((const uint64_t *)sp)[2], e = ((const uint64_t *)sp)[3];
			((uint64_t *)dp)[0] = a;
			((uint64_t *)dp)[1] = b;
			((uint64_t *)dp)[2] = c;
			((uint64_t *)dp)[3] = e;
		}
	}
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}
