/*
 * vcons.c - the virtio console driver behind vcons.h: commands come in on a port's receive
 * queue, records go out on its transmit queue.
 *
 * Ports: with MULTIPORT the driver runs the control queue handshake (DEVICE_READY, then
 * PORT_READY and PORT_OPEN for the port QEMU adds) and prefers port 1, a `virtserialport`:
 * QEMU throttles such a port when the host socket is full, so no record is ever lost. Port 0
 * (a `virtconsole`, also the only port without MULTIPORT) works too, but QEMU drops console
 * output while the host is not reading (hw/char/virtio-console.c: no throttling for
 * consoles), so a slow host can lose records; init logs a warning.
 *
 * Ownership: rings and receive buffers are static, the transmit batch buffer is the
 * platform's; nothing is allocated. Output is batched in txbuf and flushed when nearly
 * full, before waiting for input, and when the caller flushes (panic/trap/end): one notify
 * per batch, never per line. Waits go through the platform's wait(), woken by the device
 * interrupt. Errors: fl_vcons_init() returns -1 when no usable device is found; afterwards
 * nothing fails (a host that stops reading stalls the flush: the host's timeout handles it).
 */
#include "port.h"
#include "record.h"
#include "vcons.h"
#include "virtio_mmio.h"

/* full barrier, also ordering memory against device registers; a port may supply its own */
#ifndef FL_VCONS_MB
#define FL_VCONS_MB() __sync_synchronize()
#endif

#define QSZ        VIRTIO_QSZ
#define RXBUF_SIZE 256
#define TX_SLACK   1024            /* room kept for a whole record: lines rarely split */

struct vq {
	struct vring_desc desc[QSZ] __attribute__((aligned(16)));
	struct vring_avail avail __attribute__((aligned(16)));
	struct vring_used used __attribute__((aligned(16)));
	uint16_t last_used;
	unsigned num;                  /* queue index on the device */
};

/* multiport queue layout: port 0 = 0/1, control = 2/3, port n >= 1 = 2n+2 / 2n+3 */
#define Q_PORT0_RX 0
#define Q_CTRL_RX  2
#define Q_CTRL_TX  3
#define Q_PORT1_RX 4
#define NQUEUES    6

#define F_MULTIPORT 1              /* feature bit (low word) */

struct ctrl_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

#define CTRL_DEVICE_READY 0
#define CTRL_PORT_ADD     1
#define CTRL_PORT_READY   3
#define CTRL_PORT_OPEN    6

static struct fl_vcons_platform plat;
static uintptr_t base;             /* the device's registers; 0: no console */
static struct vq queues[NQUEUES];
static struct vq *rxq, *txq;       /* the port in use */
static char rxbuf[QSZ][RXBUF_SIZE];
static struct ctrl_msg ctrl_in[QSZ], ctrl_out;
static char *txbuf;
static size_t txlen, txsize;

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
static void vq_push(struct vq *q, uint16_t d)
{
	q->avail.ring[q->avail.idx % QSZ] = d;
	FL_VCONS_MB();
	*(volatile uint16_t *)&q->avail.idx = q->avail.idx + 1;
	FL_VCONS_MB();
	*reg(MMIO_QUEUE_NOTIFY) = q->num;
}

/* Sleep until q's device has used a buffer (the console's interrupt ends the wait). */
static void vq_wait(struct vq *q)
{
	while (used_idx(q) == q->last_used) {
		if (plat.wait)
			plat.wait();
		*reg(MMIO_INT_ACK) = *reg(MMIO_INT_STATUS);
		if (plat.irq_done)
			plat.irq_done();
	}
	FL_VCONS_MB();
}

/* Send one buffer on q and wait until the device has consumed it. */
static void vq_send(struct vq *q, const void *buf, uint32_t len)
{
	uint16_t want = q->last_used + 1;

	q->desc[0] = (struct vring_desc){ (uintptr_t)buf, len, 0, 0 };
	vq_push(q, 0);
	vq_wait(q);
	q->last_used = want;
}

/* Post QSZ device-writable buffers of size bytes each (buf[i] at buf + i * size). */
static void vq_post_rx(struct vq *q, void *buf, uint32_t size)
{
	for (uint16_t i = 0; i < QSZ; i++) {
		q->desc[i] = (struct vring_desc){ (uintptr_t)buf + i * size, size,
						  VRING_DESC_F_WRITE, 0 };
		q->avail.ring[i] = i;
	}
	FL_VCONS_MB();
	q->avail.idx = QSZ;
	FL_VCONS_MB();
	*reg(MMIO_QUEUE_NOTIFY) = q->num;
}

/* Set up queue qnum over q. Returns 0, or -1 when the device offers too small a queue. */
static int vq_setup(struct vq *q, unsigned qnum)
{
	q->num = qnum;
	*reg(MMIO_QUEUE_SEL) = qnum;
	if (*reg(MMIO_QUEUE_READY) || *reg(MMIO_QUEUE_NUM_MAX) < QSZ)
		return -1;
	*reg(MMIO_QUEUE_NUM) = QSZ;
	reg_write64(MMIO_QUEUE_DESC, (uintptr_t)q->desc);
	reg_write64(MMIO_QUEUE_DRIVER, (uintptr_t)&q->avail);
	reg_write64(MMIO_QUEUE_DEVICE, (uintptr_t)&q->used);
	*reg(MMIO_QUEUE_READY) = 1;
	return 0;
}

/* the first modern console's slot, or -1 */
static int find_console(void)
{
	for (unsigned i = 0; i < plat.nslots; i++)
		if (virtio_mmio_is(plat.base + i * plat.stride, VIRTIO_ID_CONSOLE))
			return (int)i;
	return -1;
}

static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
	ctrl_out = (struct ctrl_msg){ id, event, value };
	vq_send(&queues[Q_CTRL_TX], &ctrl_out, sizeof(ctrl_out));
}

/*
 * The multiport handshake: announce the driver, collect the ports QEMU adds (it answers
 * DEVICE_READY synchronously, so they are queued when the notify returns; a bounded wait of
 * 100 ms covers anything slower) and open the preferred one. Returns the port id, or -1.
 */
static int ctrl_open_port(void)
{
	struct vq *c = &queues[Q_CTRL_RX];
	int port = -1;
	uint64_t deadline;

	vq_post_rx(c, ctrl_in, sizeof(ctrl_in[0]));
	ctrl_send(0, CTRL_DEVICE_READY, 1);
	deadline = plat.clock() + plat.clock_hz / 10;
	while (port != 1 && plat.clock() < deadline) {
		if (used_idx(c) == c->last_used) {
			if (port >= 0)
				break;               /* got one and nothing more is queued */
			continue;
		}
		FL_VCONS_MB();
		uint16_t d = (uint16_t)(c->used.ring[c->last_used % QSZ].id % QSZ);
		struct ctrl_msg m = ctrl_in[d];
		c->last_used++;
		vq_push(c, d);
		if (m.event == CTRL_PORT_ADD && m.id <= 1 && (int)m.id > port)
			port = (int)m.id;
	}
	if (port < 0)
		return -1;
	ctrl_send((uint32_t)port, CTRL_PORT_READY, 1);
	ctrl_send((uint32_t)port, CTRL_PORT_OPEN, 1);
	return port;
}

/* QEMU virt's defaults for what the platform leaves 0 or NULL */
static void platform_defaults(void)
{
	static char default_txbuf[FL_VCONS_TXBUF_MIN];

	if (!plat.base) {
		plat.base = FL_VIRT_VIRTIO_BASE;
		plat.stride = FL_VIRT_VIRTIO_STRIDE;
		plat.nslots = FL_VIRT_VIRTIO_SLOTS;
	}
	if (!plat.clock) {
		plat.clock = fl_poll_clock;
		plat.clock_hz = FL_POLL_CLOCK_HZ;
	}
	if (!plat.txbuf) {
		plat.txbuf = default_txbuf;
		plat.txsize = sizeof(default_txbuf);
	}
}

int fl_vcons_init(const struct fl_vcons_platform *p)
{
	uint32_t st, feat;
	bool multiport;
	int port = 0, slot;

	plat = p ? *p : (struct fl_vcons_platform){ 0 };
	platform_defaults();
	if (plat.txsize < FL_VCONS_TXBUF_MIN)
		return -1;
	txbuf = plat.txbuf;
	txsize = plat.txsize;
	if ((slot = find_console()) < 0)
		return -1;
	base = plat.base + (unsigned)slot * plat.stride;
	if (plat.irq_enable)
		plat.irq_enable((unsigned)slot);
	*reg(MMIO_STATUS) = 0;
	st = ST_ACK | ST_DRIVER;
	*reg(MMIO_STATUS) = st;
	*reg(MMIO_DEV_FEAT_SEL) = 1;
	if (!(*reg(MMIO_DEV_FEAT) & 1))       /* VIRTIO_F_VERSION_1 */
		goto out_failed;
	*reg(MMIO_DEV_FEAT_SEL) = 0;
	feat = *reg(MMIO_DEV_FEAT);
	multiport = feat & (1U << F_MULTIPORT);
	*reg(MMIO_DRV_FEAT_SEL) = 0;
	*reg(MMIO_DRV_FEAT) = multiport ? 1U << F_MULTIPORT : 0;
	*reg(MMIO_DRV_FEAT_SEL) = 1;
	*reg(MMIO_DRV_FEAT) = 1;
	st |= ST_FEATURES_OK;
	*reg(MMIO_STATUS) = st;
	if (!(*reg(MMIO_STATUS) & ST_FEATURES_OK))
		goto out_failed;
	for (unsigned q = 0; q < (multiport ? NQUEUES : 2); q++)
		if (vq_setup(&queues[q], q))
			goto out_failed;
	st |= ST_DRIVER_OK;
	*reg(MMIO_STATUS) = st;
	if (multiport && (port = ctrl_open_port()) < 0)
		goto out_failed;
	rxq = &queues[port ? Q_PORT1_RX : Q_PORT0_RX];
	txq = rxq + 1;
	vq_post_rx(rxq, rxbuf, RXBUF_SIZE);
	if (port == 0 && plat.log)
		plat.log("console: port 0 (virtconsole) drops output when the host is slow; "
			 "use -device virtserialport,chardev=c0\n");
	return 0;

out_failed:
	*reg(MMIO_STATUS) = ST_FAILED;
	base = 0;
	return -1;
}

bool fl_vcons_ready(void)
{
	return base != 0;
}

static const struct fl_transport transport = {
	.out = fl_vcons_write, .flush = fl_vcons_flush,
	.reserve = fl_vcons_reserve, .commit = fl_vcons_commit,
};

int fl_vcons_start(const struct fl_vcons_platform *p)
{
	if (fl_vcons_init(p))
		return -1;
	fl_record_init(&transport);
	return 0;
}

void fl_vcons_flush(void)
{
	if (!txlen || !base)
		return;
	vq_send(txq, txbuf, (uint32_t)txlen);
	txlen = 0;
}

void fl_vcons_write(const char *buf, size_t len)
{
	while (len) {
		size_t n = txsize - txlen;
		if (n > len)
			n = len;
		for (size_t i = 0; i < n; i++)
			txbuf[txlen + i] = buf[i];
		txlen += n;
		buf += n;
		len -= n;
		if (txlen > txsize - TX_SLACK)
			fl_vcons_flush();
	}
}

char *fl_vcons_reserve(size_t max)
{
	if (txlen + max > txsize)
		fl_vcons_flush();
	return txbuf + txlen;
}

void fl_vcons_commit(size_t len)
{
	txlen += len;
	if (txlen > txsize - TX_SLACK)
		fl_vcons_flush();
}

/* Next received byte, waiting for the device; consumed buffers are handed back. */
static char rx_getc(void)
{
	while (rx_cur < 0 || rx_pos == rx_len) {
		if (rx_cur >= 0) {
			vq_push(rxq, (uint16_t)rx_cur);
			rx_cur = -1;
		}
		vq_wait(rxq);
		unsigned slot = rxq->last_used % QSZ;
		rx_cur = (int)(rxq->used.ring[slot].id % QSZ);
		rx_len = rxq->used.ring[slot].len;
		if (rx_len > RXBUF_SIZE)
			rx_len = RXBUF_SIZE;
		rx_pos = 0;
		rxq->last_used++;
	}
	return rxbuf[rx_cur][rx_pos++];
}

int fl_vcons_getline(char *buf, size_t size)
{
	size_t n = 0;
	bool overlong = false;
	char c;

	fl_vcons_flush();
	if (!base)
		return FL_VCONS_NODEV;
	while ((c = rx_getc()) != '\n') {
		if (c == '\r')
			continue;
		if (n + 1 < size)
			buf[n++] = c;
		else
			overlong = true;
	}
	buf[n] = 0;
	return overlong ? FL_VCONS_OVERLONG : (int)n;
}
