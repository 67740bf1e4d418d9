/*
 * console.c - the virtio console (virtio-mmio version 2, device id 3, port 0 only): the
 * host's lifeline. Commands come in on the receive queue (0), records go out on the
 * transmit queue (1).
 *
 * Ownership: everything is static (rings, receive buffers, the transmit batch buffer);
 * nothing is allocated, so no injected fault can cut the channel that reports it. Output is
 * batched in txbuf and flushed when nearly full, before waiting for input, and on
 * panic/trap/end. The driver polls (no interrupts). Errors: console_init() returns -ENODEV
 * when no usable device is found; afterwards nothing fails (a host that stops reading stalls
 * the flush, which is the host's timeout to handle).
 */
#include "kernel.h"
#include "memlayout.h"
#include "riscv.h"

#define MMIO_MAGIC        0x000
#define MMIO_VERSION      0x004
#define MMIO_DEVICE_ID    0x008
#define MMIO_DEV_FEAT     0x010
#define MMIO_DEV_FEAT_SEL 0x014
#define MMIO_DRV_FEAT     0x020
#define MMIO_DRV_FEAT_SEL 0x024
#define MMIO_QUEUE_SEL    0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM    0x038
#define MMIO_QUEUE_READY  0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INT_STATUS   0x060
#define MMIO_INT_ACK      0x064
#define MMIO_STATUS       0x070
#define MMIO_QUEUE_DESC   0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0

#define VIRTIO_MAGIC      0x74726976
#define VIRTIO_ID_CONSOLE 3

#define ST_ACK         1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8

#define VRING_DESC_F_WRITE 2

#define QSZ        8
#define RXBUF_SIZE 256
#define TXBUF_SIZE (96 * 1024)

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSZ];
	uint16_t used_event;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct {
		uint32_t id;
		uint32_t len;
	} ring[QSZ];
	uint16_t avail_event;
};

struct vq {
	struct vring_desc desc[QSZ] __attribute__((aligned(16)));
	struct vring_avail avail __attribute__((aligned(16)));
	struct vring_used used __attribute__((aligned(16)));
	uint16_t last_used;
};

static uintptr_t base;
static struct vq rxq __attribute__((aligned(4096)));
static struct vq txq __attribute__((aligned(4096)));
static char rxbuf[QSZ][RXBUF_SIZE];
static char txbuf[TXBUF_SIZE];
static size_t txlen;

/* the receive buffer being consumed: its descriptor, bytes received, bytes consumed */
static int rx_cur = -1;
static uint32_t rx_len, rx_pos;

static volatile uint32_t *reg(unsigned off)
{
	return (volatile uint32_t *)(base + off);
}

static void reg_write64(unsigned lo_off, uint64_t v)
{
	*reg(lo_off) = (uint32_t)v;
	*reg(lo_off + 4) = (uint32_t)(v >> 32);
}

static uint16_t used_idx(struct vq *q)
{
	return *(volatile uint16_t *)&q->used.idx;
}

/* hand descriptor d to the device and publish it */
static void vq_push(struct vq *q, unsigned qnum, uint16_t d)
{
	q->avail.ring[q->avail.idx % QSZ] = d;
	fence();
	*(volatile uint16_t *)&q->avail.idx = q->avail.idx + 1;
	fence();
	*reg(MMIO_QUEUE_NOTIFY) = qnum;
}

/* Set up queue qnum over q. Returns 0, or -ENODEV when the device offers too small a queue. */
static int vq_setup(struct vq *q, unsigned qnum)
{
	*reg(MMIO_QUEUE_SEL) = qnum;
	if (*reg(MMIO_QUEUE_READY) || *reg(MMIO_QUEUE_NUM_MAX) < QSZ)
		return -ENODEV;
	*reg(MMIO_QUEUE_NUM) = QSZ;
	reg_write64(MMIO_QUEUE_DESC, (uintptr_t)q->desc);
	reg_write64(MMIO_QUEUE_DRIVER, (uintptr_t)&q->avail);
	reg_write64(MMIO_QUEUE_DEVICE, (uintptr_t)&q->used);
	*reg(MMIO_QUEUE_READY) = 1;
	return 0;
}

static uintptr_t find_console(void)
{
	for (unsigned i = 0; i < VIRTIO_SLOTS; i++) {
		volatile uint32_t *r = (volatile uint32_t *)(VIRTIO0 + i * VIRTIO_STRIDE);
		if (r[MMIO_MAGIC / 4] == VIRTIO_MAGIC && r[MMIO_VERSION / 4] == 2 &&
		    r[MMIO_DEVICE_ID / 4] == VIRTIO_ID_CONSOLE)
			return (uintptr_t)r;
	}
	return 0;
}

/*
 * Find and start the console. Returns 0, or -ENODEV (no modern virtio console in any slot,
 * or it refused our features/queues); on failure the device is left marked FAILED.
 */
int console_init(void)
{
	uint32_t st;

	base = find_console();
	if (!base)
		return -ENODEV;
	*reg(MMIO_STATUS) = 0;
	st = ST_ACK | ST_DRIVER;
	*reg(MMIO_STATUS) = st;
	*reg(MMIO_DEV_FEAT_SEL) = 1;
	if (!(*reg(MMIO_DEV_FEAT) & 1))       /* VIRTIO_F_VERSION_1 */
		goto out_failed;
	*reg(MMIO_DRV_FEAT_SEL) = 0;
	*reg(MMIO_DRV_FEAT) = 0;                /* no MULTIPORT: port 0 only */
	*reg(MMIO_DRV_FEAT_SEL) = 1;
	*reg(MMIO_DRV_FEAT) = 1;
	st |= ST_FEATURES_OK;
	*reg(MMIO_STATUS) = st;
	if (!(*reg(MMIO_STATUS) & ST_FEATURES_OK))
		goto out_failed;
	if (vq_setup(&rxq, 0) || vq_setup(&txq, 1))
		goto out_failed;
	for (uint16_t i = 0; i < QSZ; i++) {
		rxq.desc[i] = (struct vring_desc){ (uintptr_t)rxbuf[i], RXBUF_SIZE,
						   VRING_DESC_F_WRITE, 0 };
		rxq.avail.ring[i] = i;
	}
	fence();
	rxq.avail.idx = QSZ;
	st |= ST_DRIVER_OK;
	*reg(MMIO_STATUS) = st;
	fence();
	*reg(MMIO_QUEUE_NOTIFY) = 0;
	return 0;

out_failed:
	*reg(MMIO_STATUS) = 0x80;
	base = 0;
	return -ENODEV;
}

void console_flush(void)
{
	uint16_t want;

	if (!txlen || !base)
		return;
	txq.desc[0] = (struct vring_desc){ (uintptr_t)txbuf, (uint32_t)txlen, 0, 0 };
	want = txq.last_used + 1;
	vq_push(&txq, 1, 0);
	while (used_idx(&txq) != want)
		;
	txq.last_used = want;
	*reg(MMIO_INT_ACK) = *reg(MMIO_INT_STATUS);
	txlen = 0;
}

void console_write(const char *buf, size_t len)
{
	while (len) {
		size_t n = TXBUF_SIZE - txlen;
		if (n > len)
			n = len;
		memcpy(txbuf + txlen, buf, n);
		txlen += n;
		buf += n;
		len -= n;
		/* keep room for a whole record so a line is rarely split across flushes */
		if (txlen > TXBUF_SIZE - 1024)
			console_flush();
	}
}

char *console_reserve(size_t max)
{
	if (txlen + max > TXBUF_SIZE)
		console_flush();
	return txbuf + txlen;
}

void console_commit(size_t len)
{
	txlen += len;
	if (txlen > TXBUF_SIZE - 1024)
		console_flush();
}

/* Next received byte, waiting for the device; consumed buffers are handed back. */
static char rx_getc(void)
{
	while (rx_cur < 0 || rx_pos == rx_len) {
		if (rx_cur >= 0) {
			vq_push(&rxq, 0, (uint16_t)rx_cur);
			rx_cur = -1;
		}
		while (used_idx(&rxq) == rxq.last_used)
			;
		fence();
		unsigned slot = rxq.last_used % QSZ;
		rx_cur = (int)rxq.used.ring[slot].id % QSZ;
		rx_len = rxq.used.ring[slot].len;
		if (rx_len > RXBUF_SIZE)
			rx_len = RXBUF_SIZE;
		rx_pos = 0;
		rxq.last_used++;
		*reg(MMIO_INT_ACK) = *reg(MMIO_INT_STATUS);
	}
	return rxbuf[rx_cur][rx_pos++];
}

int console_getline(char *buf, size_t size)
{
	size_t n = 0;
	bool overlong = false;
	char c;

	console_flush();
	if (!base)
		panic("console_getline: no console");
	while ((c = rx_getc()) != '\n') {
		if (c == '\r')
			continue;
		if (n + 1 < size)
			buf[n++] = c;
		else
			overlong = true;
	}
	buf[n] = 0;
	return overlong ? -EINVAL : (int)n;
}
