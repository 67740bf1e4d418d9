/*
 * console.c - the host's lifeline on this machine: the portable virtio console transport
 * (faultlib/vcons.c) wired to the QEMU virt board. This file supplies the platform (the
 * eight virtio-mmio slots, the PLIC routing, a wfi sleep, the 10 MHz time CSR, the UART for
 * warnings, the transmit buffer) and keeps the console API the rest of the kernel calls.
 *
 * Ownership: everything is static; the 96 KiB transmit batch buffer lives in .noinit
 * (kernel.ld), so a boot does not spend time zeroing it. Errors: console_init() returns
 * -ENODEV when no usable device is found; afterwards nothing fails.
 */
#include "kernel.h"
#include "memlayout.h"
#include "riscv.h"
#include "faultlib/vcons.h"

#define TXBUF_SIZE (96 * 1024)
#define TIMEBASE_HZ 10000000      /* QEMU virt's time CSR */

static char txbuf[TXBUF_SIZE] __attribute__((section(".noinit")));

static void virtio_irq_enable(unsigned slot)
{
	plic_enable(VIRTIO_IRQ(slot));
}

/* an enabled device interrupt ends the wfi without a trap (plic.c) */
static void wait_irq(void)
{
	asm volatile("wfi");
}

static uint64_t clock_now(void)
{
	return rdtime();
}

int console_init(void)
{
	const struct fl_vcons_platform p = {
		.base = VIRTIO0,
		.stride = VIRTIO_STRIDE,
		.nslots = VIRTIO_SLOTS,
		.irq_enable = virtio_irq_enable,
		.wait = wait_irq,
		.irq_done = plic_ack_all,
		.clock = clock_now,
		.clock_hz = TIMEBASE_HZ,
		.log = uart_puts,
		.txbuf = txbuf,
		.txsize = sizeof(txbuf),
	};

	return fl_vcons_init(&p) ? -ENODEV : 0;
}

void console_flush(void)
{
	fl_vcons_flush();
}

void console_write(const char *buf, size_t len)
{
	fl_vcons_write(buf, len);
}

char *console_reserve(size_t max)
{
	return fl_vcons_reserve(max);
}

void console_commit(size_t len)
{
	fl_vcons_commit(len);
}

int console_getline(char *buf, size_t size)
{
	int n = fl_vcons_getline(buf, size);

	if (n == FL_VCONS_NODEV)
		panic("console_getline: no console");
	return n == FL_VCONS_OVERLONG ? -EINVAL : n;
}
