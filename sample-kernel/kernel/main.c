/*
 * main.c - S-mode boot: UART, trap vector, allocators, virtio console, then hello and the
 * command loop (scenario.c). Nothing here allocates; a kernel without a console cannot talk
 * to the host, so it says why on the UART and powers off with status 1.
 */
#include "kernel.h"
#include "mem.h"
#include "faultlib/cov.h"
#include "faultlib/record.h"
#include "restart.h"

extern const char image_start[], etext[];

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

		ksnprintf(id, sizeof(id), "%s", fl_kernel_build_id());
		uart_printf("faultline %s %lu KiB free\n", id, page_free_count() * 4);
	}
	serve_host();
}
