/*
 * vcons.h - the faultline console transport, portable: a driver for a virtio console
 * (virtio-mmio version 2, device id 3) that depends on no kernel code, only on the
 * compiler's freestanding headers. The kernel describes its platform once (where the
 * virtio-mmio slots are, how to sleep until a device interrupt, a clock, a log line, the
 * transmit buffer) and then has a byte channel to the host: batched output that plugs into
 * record.h's struct fl_transport, and line input for the command loop. What the platform
 * leaves 0 or NULL takes QEMU virt's default, so on that board fl_vcons_start(NULL) is the
 * whole console: found in any of the eight slots, polled, with a static 4 KiB buffer.
 *
 * Ports: with MULTIPORT the driver prefers port 1, a `virtserialport` (QEMU throttles it
 * when the host is slow, so nothing is lost); port 0, a `virtconsole`, works but QEMU drops
 * its output while the host is not reading, and init logs a warning.
 *
 * Ownership: rings and receive buffers are static here, the transmit buffer is the
 * platform's; nothing is allocated, so no injected fault can cut the channel that reports
 * it. Single-threaded: the caller serializes all calls.
 */
#ifndef FAULTLIB_VCONS_H
#define FAULTLIB_VCONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest transmit buffer init accepts: a whole record line, plus the flush slack. */
#define FL_VCONS_TXBUF_MIN 4096

/* QEMU virt's virtio-mmio slots */
#define FL_VIRT_VIRTIO_BASE   0x10001000
#define FL_VIRT_VIRTIO_STRIDE 0x1000
#define FL_VIRT_VIRTIO_SLOTS  8

struct fl_vcons_platform {
	/*
	 * virtio-mmio register blocks to scan: slot i at base + i * stride, for i < nslots
	 * (base 0: QEMU virt's, FL_VIRT_VIRTIO_*)
	 */
	uintptr_t base;
	uintptr_t stride;
	unsigned nslots;
	/* optional: route slot's device interrupt so that it ends wait() (called before reset) */
	void (*irq_enable)(unsigned slot);
	/*
	 * Sleep until a device interrupt may have arrived (wfi, or return at once to poll;
	 * NULL: poll). The driver then acknowledges the device and calls irq_done(), optional,
	 * to complete the interrupt at the interrupt controller.
	 */
	void (*wait)(void);
	void (*irq_done)(void);
	/*
	 * a monotonic clock and its rate: bounds the multiport handshake to 100 ms. Optional:
	 * without one (a kernel that cannot read time) the bound is 100000 polls of the device
	 * (port.h's fl_poll_clock).
	 */
	uint64_t (*clock)(void);
	uint64_t clock_hz;
	/* optional: one warning line (newline included) for the human-readable log */
	void (*log)(const char *msg);
	/*
	 * The transmit batch buffer, txsize >= FL_VCONS_TXBUF_MIN bytes; its contents never
	 * outlive a flush, so it need not be zeroed at boot. Bigger batches, fewer notifies.
	 * NULL: a static buffer of FL_VCONS_TXBUF_MIN bytes.
	 */
	char *txbuf;
	size_t txsize;
};

/*
 * Find and start the first modern virtio console among the platform's slots (p NULL: all
 * defaults). Returns 0, or -1 (no such device, it refused our features or queues, it has no
 * port we can use, or the platform's buffer is too small); a device that was found is then
 * left marked FAILED. The platform is copied; the buffer it names must stay valid.
 */
int fl_vcons_init(const struct fl_vcons_platform *p);
/*
 * fl_vcons_init, then the console as record.h's transport (fl_record_init; the port's
 * stack bounds come with fl_port_main). Returns 0, or -1 as fl_vcons_init.
 */
int fl_vcons_start(const struct fl_vcons_platform *p);
bool fl_vcons_ready(void);

/* Output: buffered, pushed when nearly full, before reading input, and by flush(). */
void fl_vcons_write(const char *buf, size_t len);
void fl_vcons_flush(void);
/* zero-copy output: room for max bytes (max <= txsize), then append len of them */
char *fl_vcons_reserve(size_t max);
void fl_vcons_commit(size_t len);

#define FL_VCONS_OVERLONG (-1)
#define FL_VCONS_NODEV    (-2)
/*
 * Read one line (without its '\n'; '\r' dropped) into buf, flushing output first and
 * sleeping until it is complete. Returns its length; FL_VCONS_OVERLONG when it did not fit
 * in size-1 bytes (the whole line is discarded, buf holds its start); FL_VCONS_NODEV
 * before a successful init.
 */
int fl_vcons_getline(char *buf, size_t size);

#endif
