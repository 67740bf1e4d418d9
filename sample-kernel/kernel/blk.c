/*
 * blk.c - a virtio-blk driver (virtio-mmio version 2, one request queue, polled).
 *
 * Ownership: the driver state (struct blk_dev, obj_alloc) owns the ring memory (page_alloc
 * order 1: physically contiguous, handed to the device for DMA) and the in-flight table
 * (obj_alloc). A request owns its header/status struct (obj_alloc) and a bounce buffer
 * (page_alloc) only while it runs. The device may read and write the ring and the request's
 * buffers until it is reset or its queue disabled, so no DMA memory is freed before that.
 *
 * Resources (faultlib/resource.h): the device, claimed from the first DRIVER status write
 * until it is reset ("virtio-dev"); each ring descriptor, taken from the driver's free list
 * for one request and given back after it ("virtio-desc", by address); a request while the
 * device holds it ("blk-req", by address).
 *
 * Device errors: every point where the device can refuse or fail (a feature or the queue
 * refused, FAILED after DRIVER_OK, a request that never completes or completes with an
 * error status) first asks the fault hook (fl_io_fails, class io), so a sweep drives each
 * device-error path on a device that works.
 *
 * Error paths, two styles on purpose:
 *  - blk_probe() is a goto unwind ladder (Linux coding-style §7, aoeblk): one label per
 *    undo step, in reverse order of acquisition, named for what it undoes; the device is
 *    registered only as the last step, and the success path returns before the first label.
 *    The undo steps are device-register writes in a required order, not just frees, which a
 *    ladder shows in one place.
 *  - blk_transfer() uses scope guards (cleanup.h): its two temporaries are independent
 *    and freed on every exit, success included.
 */
#include "kernel.h"
#include "mem.h"
#include "riscv.h"
#include "virtio.h"
#include "blk.h"
#include "cleanup.h"
#include "faultlib/hook.h"
#include "faultlib/resource.h"

#define VIRTIO_F_VERSION_1_HI 1       /* feature bit 32: bit 0 of feature word 1 */
#define BLK_T_IN              0
#define BLK_T_OUT             1
#define BLK_S_OK              0
#define BLK_POLL_LIMIT        50000000UL
#define BLK_CHAIN             3       /* descriptors per request: header, data, status */

/* the ring block: descriptors and driver ring on the first page, device ring on the second */
struct blk_ring {
	struct vring_desc desc[VIRTIO_QSZ];
	struct vring_avail avail;
	uint8_t pad[PGSIZE - sizeof(struct vring_desc) * VIRTIO_QSZ - sizeof(struct vring_avail)];
	struct vring_used used;
};
#define BLK_RING_ORDER 1

struct blk_req {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} hdr;
	uint8_t status;
};

struct blk_dev {
	uintptr_t base;
	struct blk_ring *ring;
	struct blk_req **inflight;    /* by head descriptor */
	bool desc_busy[VIRTIO_QSZ];   /* the descriptor free list */
	uint16_t last_used;
	uint64_t capacity;            /* in sectors */
	bool broken;                  /* a request timed out: the device was reset */
};

static struct blk_dev *blk_registered;

static volatile uint32_t *reg(const struct blk_dev *dev, unsigned off)
{
	return (volatile uint32_t *)(dev->base + off);
}

static void reg_write64(const struct blk_dev *dev, unsigned lo_off, uint64_t v)
{
	*reg(dev, lo_off) = (uint32_t)v;
	*reg(dev, lo_off + 4) = (uint32_t)(v >> 32);
}

/*
 * Reset, acknowledge, negotiate VERSION_1 only. Returns 0 or -ENODEV (the device does not
 * offer VERSION_1 or does not accept it). Allocates nothing; the device is claimed (undo
 * with blk_reset) on every return.
 */
static int blk_negotiate(struct blk_dev *dev)
{
	*reg(dev, MMIO_STATUS) = 0;
	*reg(dev, MMIO_STATUS) = ST_ACK | ST_DRIVER;
	fl_res_acquire("virtio-dev", dev->base);
	*reg(dev, MMIO_DEV_FEAT_SEL) = 1;
	if (fl_io_fails() || !(*reg(dev, MMIO_DEV_FEAT) & VIRTIO_F_VERSION_1_HI))
		return -ENODEV;
	*reg(dev, MMIO_DRV_FEAT_SEL) = 0;
	*reg(dev, MMIO_DRV_FEAT) = 0;
	*reg(dev, MMIO_DRV_FEAT_SEL) = 1;
	*reg(dev, MMIO_DRV_FEAT) = VIRTIO_F_VERSION_1_HI;
	*reg(dev, MMIO_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	if (fl_io_fails() || !(*reg(dev, MMIO_STATUS) & ST_FEATURES_OK))
		return -ENODEV;
	return 0;
}

/* Reset the device: it stops all DMA and forgets the driver's claim. */
static void blk_reset(struct blk_dev *dev)
{
	*reg(dev, MMIO_STATUS) = 0;
	fl_res_release("virtio-dev", dev->base);
}

/* Give queue 0 the ring and enable it. Returns 0 or -ENODEV (queue too small or in use). */
static int blk_queue_enable(struct blk_dev *dev)
{
	*reg(dev, MMIO_QUEUE_SEL) = 0;
	if (fl_io_fails() || *reg(dev, MMIO_QUEUE_READY) ||
	    *reg(dev, MMIO_QUEUE_NUM_MAX) < VIRTIO_QSZ)
		return -ENODEV;
	*reg(dev, MMIO_QUEUE_NUM) = VIRTIO_QSZ;
	reg_write64(dev, MMIO_QUEUE_DESC, (uintptr_t)dev->ring->desc);
	reg_write64(dev, MMIO_QUEUE_DRIVER, (uintptr_t)&dev->ring->avail);
	reg_write64(dev, MMIO_QUEUE_DEVICE, (uintptr_t)&dev->ring->used);
	*reg(dev, MMIO_QUEUE_READY) = 1;
	return 0;
}

/* Stop the device using queue 0 (the value is read back to synchronise, as the spec asks). */
static void blk_queue_disable(struct blk_dev *dev)
{
	*reg(dev, MMIO_QUEUE_SEL) = 0;
	*reg(dev, MMIO_QUEUE_READY) = 0;
	(void)*reg(dev, MMIO_QUEUE_READY);
}

/*
 * blk_probe - bring up the virtio-blk device at base and register it. Returns 0, -ENOMEM,
 * -ENODEV (the device refused our features or queue) or -EIO (it failed at DRIVER_OK). On
 * failure every step is undone in reverse order and the device is left reset.
 */
static NOINLINE int blk_probe(uintptr_t base)
{
	struct blk_dev *dev;
	int rc;

	dev = obj_alloc(sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->base = base;

	rc = blk_negotiate(dev);
	if (rc)
		goto out_reset_device;

	rc = -ENOMEM;
	dev->ring = page_alloc(BLK_RING_ORDER);
	if (!dev->ring)
		goto out_reset_device;
	memset(dev->ring, 0, sizeof(*dev->ring));

	dev->inflight = obj_alloc(VIRTIO_QSZ * sizeof(*dev->inflight));
	if (!dev->inflight)
		goto out_free_ring;

	rc = blk_queue_enable(dev);
	if (rc)
		goto out_free_inflight;

	dev->capacity = *(volatile uint64_t *)(base + MMIO_CONFIG);
	*reg(dev, MMIO_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	if (fl_io_fails() || (*reg(dev, MMIO_STATUS) & (ST_NEEDS_RESET | ST_FAILED))) {
		rc = -EIO;
		goto out_disable_queue;
	}

	blk_registered = dev;          /* register last: nothing can fail after this */
	return 0;

out_disable_queue:
	blk_queue_disable(dev);
out_free_inflight:
	obj_free(dev->inflight);
out_free_ring:
	page_free(dev->ring);
out_reset_device:
	blk_reset(dev);
	obj_free(dev);
	return rc;
}

/*
 * The init step: probe the first virtio-blk device. Returns 0 (also when there is no
 * device: not an error) or blk_probe's error, with nothing left allocated. On success the
 * device is registered; blk_fini frees it.
 */
int blk_init(void)
{
	uintptr_t base = virtio_find(VIRTIO_ID_BLOCK);
	int id;

	if (!base)
		return 0;
	id = op_begin("blk_probe");
	return op_end(id, blk_probe(base));
}

/* Unregister, stop the device, then free what the probe acquired in reverse. Idempotent. */
void blk_fini(void)
{
	struct blk_dev *dev = blk_registered;

	if (!dev)
		return;
	blk_registered = NULL;
	if (!dev->broken)              /* a reset stops all DMA before the memory goes */
		blk_reset(dev);
	obj_free(dev->inflight);
	page_free(dev->ring);
	obj_free(dev);
}

struct blk_dev *blk_default(void)
{
	return blk_registered;
}

uint64_t blk_capacity(const struct blk_dev *dev)
{
	return dev ? dev->capacity : 0;
}

/*
 * Take BLK_CHAIN free descriptors from the free list into d[]. Returns 0, or -EBUSY (taking
 * nothing) when the ring has fewer free. Give them back with blk_chain_free.
 */
static int blk_chain_alloc(struct blk_dev *dev, uint16_t d[BLK_CHAIN])
{
	unsigned n = 0;

	for (uint16_t i = 0; i < VIRTIO_QSZ && n < BLK_CHAIN; i++)
		if (!dev->desc_busy[i])
			d[n++] = i;
	if (n < BLK_CHAIN)
		return -EBUSY;
	for (n = 0; n < BLK_CHAIN; n++) {
		dev->desc_busy[d[n]] = true;
		fl_res_acquire("virtio-desc", (uintptr_t)&dev->ring->desc[d[n]]);
	}
	return 0;
}

static void blk_chain_free(struct blk_dev *dev, const uint16_t d[BLK_CHAIN])
{
	for (unsigned n = BLK_CHAIN; n-- > 0;) {
		dev->desc_busy[d[n]] = false;
		fl_res_release("virtio-desc", (uintptr_t)&dev->ring->desc[d[n]]);
	}
}

/*
 * Wait until the device has used `want` requests. Returns false when it does not within
 * BLK_POLL_LIMIT polls, or when the fault hook says it never will (class io).
 */
static bool blk_wait_used(const struct blk_ring *q, uint16_t want)
{
	if (fl_io_fails())
		return false;
	for (unsigned long spins = 0; spins < BLK_POLL_LIMIT; spins++)
		if (*(const volatile uint16_t *)&q->used.idx == want)
			return true;
	return false;
}

/*
 * Submit req over data on the descriptor chain d and wait for it. 0 or -EIO (no answer in
 * time: the device is reset and marked broken; or an error status).
 */
static int blk_submit_wait(struct blk_dev *dev, const uint16_t d[BLK_CHAIN],
			   struct blk_req *req, void *data, uint32_t len, bool write)
{
	struct blk_ring *q = dev->ring;
	uint16_t want = (uint16_t)(dev->last_used + 1);

	q->desc[d[0]] = (struct vring_desc){ (uintptr_t)&req->hdr, sizeof(req->hdr),
					     VRING_DESC_F_NEXT, d[1] };
	q->desc[d[1]] = (struct vring_desc){ (uintptr_t)data, len,
		(uint16_t)(VRING_DESC_F_NEXT | (write ? 0 : VRING_DESC_F_WRITE)), d[2] };
	q->desc[d[2]] = (struct vring_desc){ (uintptr_t)&req->status, 1, VRING_DESC_F_WRITE, 0 };
	dev->inflight[d[0]] = req;
	fl_res_acquire("blk-req", (uintptr_t)req);
	q->avail.ring[q->avail.idx % VIRTIO_QSZ] = d[0];
	fence();
	*(volatile uint16_t *)&q->avail.idx = (uint16_t)(q->avail.idx + 1);
	fence();
	*reg(dev, MMIO_QUEUE_NOTIFY) = 0;

	if (!blk_wait_used(q, want)) {
		/* the device never answered: reset it, so it can no longer touch the request's
		 * memory once our caller frees it */
		blk_reset(dev);
		dev->broken = true;
		dev->inflight[d[0]] = NULL;
		fl_res_release("blk-req", (uintptr_t)req);
		return -EIO;
	}
	fence();
	dev->last_used = want;
	dev->inflight[d[0]] = NULL;
	fl_res_release("blk-req", (uintptr_t)req);
	*reg(dev, MMIO_INT_ACK) = *reg(dev, MMIO_INT_STATUS);
	return fl_io_fails() || req->status != BLK_S_OK ? -EIO : 0;
}

/*
 * One request on the descriptor chain d: allocates the request and a bounce buffer for the
 * duration of the call and frees both on every path. 0, -ENOMEM or -EIO.
 */
static int blk_transfer(struct blk_dev *dev, const uint16_t d[BLK_CHAIN], uint64_t sector,
			void *buf, uint32_t len, bool write)
{
	scoped_free(obj) struct blk_req *req = obj_alloc(sizeof(*req));
	if (!req)
		return -ENOMEM;
	scoped_free(page) void *bounce = page_alloc(0);
	if (!bounce)
		return -ENOMEM;

	req->hdr.type = write ? BLK_T_OUT : BLK_T_IN;
	req->hdr.sector = sector;
	req->status = 0xff;
	if (write)
		memcpy(bounce, buf, len);
	else
		memset(bounce, 0, len);
	int rc = blk_submit_wait(dev, d, req, bounce, len, write);
	if (rc == 0 && !write)
		memcpy(buf, bounce, len);
	return rc;
}

/*
 * blk_rw - read or write count sectors at sector between the device and buf. Returns 0,
 * -ENODEV (no device), -EINVAL (beyond the disk or too large), -EBUSY (no free
 * descriptors), -ENOMEM, -EIO. Holds a descriptor chain, a request and a bounce buffer for
 * the duration of the call and gives all three back on every path.
 */
int blk_rw(struct blk_dev *dev, uint64_t sector, void *buf, unsigned count, bool write)
{
	uint32_t len = count * BLK_SECTOR;
	uint16_t d[BLK_CHAIN];
	int rc;

	if (!dev)
		return -ENODEV;
	if (dev->broken)
		return -EIO;
	if (!count || len > BLK_MAX_BYTES || sector >= dev->capacity ||
	    count > dev->capacity - sector)
		return -EINVAL;
	rc = blk_chain_alloc(dev, d);
	if (rc)
		return rc;
	rc = blk_transfer(dev, d, sector, buf, len, write);
	blk_chain_free(dev, d);
	return rc;
}
