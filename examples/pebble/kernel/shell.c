/* shell.c - commands typed on the UART: ls, cat <file>, mem, off. */
#include "pebble.h"

#define LINE_MAX 80

static void read_line(char *line, size_t size)
{
	size_t n = 0;

	for (;;) {
		int c = uart_getc();

		if (c < 0)
			continue;
		if (c == '\r' || c == '\n')
			break;
		if (n + 1 < size) {
			line[n++] = (char)c;
			uart_putc((char)c);
		}
	}
	uart_putc('\n');
	line[n] = 0;
}

static void cat(const char *name)
{
	char *data;
	size_t len;
	int rc = fs_read(root_fs, name, &data, &len);

	if (rc) {
		kprintf("cat: %s: error %d\n", name, rc);
		return;
	}
	uart_puts(data);
	kfree(data);
}

void shell(void)
{
	char line[LINE_MAX];
	struct heap_usage u;

	for (;;) {
		uart_puts("pebble> ");
		read_line(line, sizeof(line));
		if (!strcmp(line, "ls")) {
			fs_list(root_fs);
		} else if (!strncmp(line, "cat ", 4)) {
			cat(line + 4);
		} else if (!strcmp(line, "mem")) {
			heap_usage(&u);
			kprintf("%lu blocks, %lu bytes in use\n", u.blocks, u.bytes);
		} else if (!strcmp(line, "off")) {
			power_off(0);
		} else if (line[0]) {
			kprintf("%s: unknown command\n", line);
		}
	}
}
