/* uart.c - the 16550 UART of QEMU virt, polled, and a small kprintf on top of it. */
#include <stdarg.h>
#include "pebble.h"

#define UART0   0x10000000UL
#define REG_RBR 0
#define REG_THR 0
#define REG_LSR 5
#define LSR_DR   0x01
#define LSR_THRE 0x20

static volatile uint8_t *const uart = (volatile uint8_t *)UART0;

void uart_putc(char c)
{
	while (!(uart[REG_LSR] & LSR_THRE))
		;
	uart[REG_THR] = (uint8_t)c;
}

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

int uart_getc(void)
{
	return uart[REG_LSR] & LSR_DR ? uart[REG_RBR] : -1;
}

static void put_num(unsigned long v, unsigned base, bool negative)
{
	char buf[24];
	int i = 0;

	do {
		buf[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		uart_putc('-');
	while (i)
		uart_putc(buf[--i]);
}

/* %s %c %d %u %x with an optional l (long), %p; nothing else */
void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		bool lng = false;
		long d;

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		if (*++fmt == 'l') {
			lng = true;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			uart_puts(va_arg(ap, const char *));
			break;
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case 'd':
			d = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(d < 0 ? -(unsigned long)d : (unsigned long)d, 10, d < 0);
			break;
		case 'u':
			put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, false);
			break;
		case 'x':
			put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, false);
			break;
		case 'p':
			put_num((uintptr_t)va_arg(ap, void *), 16, false);
			break;
		default:
			uart_putc('%');
			if (!*fmt)
				goto out;
			uart_putc(*fmt);
		}
	}
out:
	va_end(ap);
}
