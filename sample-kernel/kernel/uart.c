/*
 * uart.c - the 16550 UART: the human-readable log (boot, panics, traps). Output only,
 * polled; allocates nothing. The host's records go over the virtio console, not here.
 */
#include <stdarg.h>
#include "kernel.h"
#include "memlayout.h"

#define REG(r) ((volatile uint8_t *)(UART0 + (r)))
#define THR 0
#define IER 1
#define FCR 2
#define LCR 3
#define LSR 5
#define LSR_THRE (1 << 5)

void uart_init(void)
{
	*REG(IER) = 0;
	*REG(LCR) = 3;          /* 8 data bits, no parity */
	*REG(FCR) = 7;          /* FIFOs on and cleared */
}

static void uart_putc(char c)
{
	while (!(*REG(LSR) & LSR_THRE))
		;
	*REG(THR) = (uint8_t)c;
}

void uart_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
}

/* a small printf: %s %c %d %u %x %p with l/z length, field width and 0-padding */
static void fmt_num(char **o, char *end, uint64_t v, unsigned base, bool neg, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n && *o < end)
		*(*o)++ = pad;
	while (n && *o < end)
		*(*o)++ = buf[--n];
}

static void vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	char *o = out, *end = out + size - 1;

	for (; *fmt && o < end; fmt++) {
		if (*fmt != '%') {
			*o++ = *fmt;
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng = 1, fmt++;
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			fmt_num(&o, end, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			fmt_num(&o, end, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				10, false, width, pad);
			break;
		case 'x':
			fmt_num(&o, end, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				16, false, width, pad);
			break;
		case 'p':
			fmt_num(&o, end, (uintptr_t)va_arg(ap, void *), 16, false, width, pad);
			break;
		case 'c':
			*o++ = (char)va_arg(ap, int);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s && o < end; s++)
				*o++ = *s;
			break;
		}
		case '%':
			*o++ = '%';
			break;
		default:
			*o = 0;   /* unknown conversion: stop here rather than misread varargs */
			return;
		}
	}
	*o = 0;
}

void uart_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	uart_puts(buf);
}

/* format into buf (always NUL-terminated, truncated to size) with uart_printf's conversions */
void ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(buf, size, fmt, ap);
	va_end(ap);
}
