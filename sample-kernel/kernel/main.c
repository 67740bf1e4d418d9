/*
 * main.c - S-mode boot: UART, trap vector, allocators, virtio console, then `hello` and the
 * command loop. Nothing here allocates; a kernel without a console cannot talk to the host,
 * so it says why on the UART and powers off with status 1.
 */
#include "kernel.h"
#include "mem.h"
#include "faultlib/cov.h"
#include "faultlib/hook.h"
#include "faultlib/record.h"
#include "restart.h"

extern const char build_id_note[], build_id_note_end[], image_start[], etext[];

static char build_id_buf[2 * 40 + 1];
const char *build_id_hex = build_id_buf;

/* The GNU build-id note: namesz, descsz, type, "GNU\0", then the id bytes. */
static void read_build_id(void)
{
	const uint32_t *h = (const uint32_t *)build_id_note;
	uint32_t namesz, descsz;
	const uint8_t *desc;
	char *o = build_id_buf;

	if (build_id_note_end - build_id_note < 16) {
		build_id_buf[0] = '0';
		return;
	}
	namesz = h[0];
	descsz = h[1];
	desc = (const uint8_t *)build_id_note + 12 + ((namesz + 3) & ~3U);
	if (descsz > 40 || desc + descsz > (const uint8_t *)build_id_note_end)
		descsz = 0;
	for (uint32_t i = 0; i < descsz; i++) {
		*o++ = "0123456789abcdef"[desc[i] >> 4];
		*o++ = "0123456789abcdef"[desc[i] & 15];
	}
	if (o == build_id_buf)
		*o++ = '0';
	*o = 0;
}

static const struct fl_transport transport = {
	.out = console_write,
	.flush = console_flush,
	.reserve = console_reserve,
	.commit = console_commit,
	.stack_bounds = stack_bounds,
};

void main(void)
{
	uart_init();
	trap_init();
	read_build_id();
	page_init();
	obj_init();
	fl_record_init(&transport);
	fl_cov_init((uintptr_t)image_start, (uintptr_t)etext);
	if (console_init()) {
		uart_puts("faultline: no virtio console (need virtio-mmio version 2: "
			  "-global virtio-mmio.force-legacy=false); powering off\n");
		power_off(1);
	}
	/*
	 * QEMU writes the UART to its file a byte per syscall (~3 us each): the banner is short
	 * (the whole build id is in hello) and a warm restart stays quiet
	 */
	if (!restart_warm_start) {
		char id[13];

		ksnprintf(id, sizeof(id), "%s", build_id_hex);
		uart_printf("faultline %s %lu KiB free\n", id, page_free_count() * 4);
	}
	fl_rec_hello(build_id_hex);
	cmd_loop();
}
