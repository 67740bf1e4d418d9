/*
 * disk.c - the virtio-blk disk (virtio-mmio version 2) that pebble expects in slot 0 at
 * 0x10001000: it does not scan the other slots. One queue of three descriptors, one request
 * at a time, polled; the request header is allocated per read.
 */
#include "pebble.h"

#define DISK_REGS  0x10001000UL

#define R_MAGIC       0x000
#define R_VERSION     0x004
#define R_DEVICE_ID   0x008
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT    0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL   0x030
#define R_QUEUE_MAX   0x034
#define R_QUEUE_NUM   0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS      0x070
#define R_QUEUE_DESC  0x080
#define R_QUEUE_AVAIL 0x090
#define R_QUEUE_USED  0x0a0

#define VIRTIO_MAGIC  0x74726976
#define ID_BLOCK      2
#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_FAILED      128
#define F_VERSION_1_HI 1                /* feature bit 32: word 1, bit 0 */

#define QSIZE   4
#define D_NEXT  1
#define D_WRITE 2
#define BLK_T_IN 0

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSIZE];
};

struct used {
	uint16_t flags;
	uint16_t idx;
	struct {
		uint32_t id;
		uint32_t len;
	} ring[QSIZE];
};

struct blk_req {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
	uint8_t status;
};

struct disk {
	volatile uint32_t *regs;
	struct desc *desc;
	struct avail *avail;
	struct used *used;
	uint16_t used_seen;
};

static uint32_t reg_read(struct disk *d, unsigned off)
{
	return d->regs[off / 4];
}

static void reg_write(struct disk *d, unsigned off, uint32_t v)
{
	d->regs[off / 4] = v;
}

static void reg_write64(struct disk *d, unsigned off, const void *p)
{
	reg_write(d, off, (uint32_t)(uintptr_t)p);
	reg_write(d, off + 4, (uint32_t)((uintptr_t)p >> 32));
}

/* Negotiate VERSION_1 only and hand the device its queue. Returns 0 or -EIO. */
static int device_start(struct disk *d)
{
	reg_write(d, R_STATUS, 0);
	reg_write(d, R_STATUS, S_ACK);
	reg_write(d, R_STATUS, S_ACK | S_DRIVER);
	reg_write(d, R_DRV_FEAT_SEL, 0);
	reg_write(d, R_DRV_FEAT, 0);
	reg_write(d, R_DRV_FEAT_SEL, 1);
	reg_write(d, R_DRV_FEAT, F_VERSION_1_HI);
	reg_write(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(reg_read(d, R_STATUS) & S_FEATURES_OK))
		return -EIO;
	reg_write(d, R_QUEUE_SEL, 0);
	if (reg_read(d, R_QUEUE_MAX) < QSIZE)
		return -EIO;
	reg_write(d, R_QUEUE_NUM, QSIZE);
	reg_write64(d, R_QUEUE_DESC, d->desc);
	reg_write64(d, R_QUEUE_AVAIL, d->avail);
	reg_write64(d, R_QUEUE_USED, d->used);
	reg_write(d, R_QUEUE_READY, 1);
	reg_write(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 0;
}

/*
 * Open the disk in slot 0. Returns 0 and the disk in *out, or -ENODEV (slot 0 holds no
 * modern virtio-blk device), -ENOMEM or -EIO (the device refused us: it is left FAILED);
 * on failure everything allocated here is freed.
 */
int disk_open(struct disk **out)
{
	volatile uint32_t *regs = (volatile uint32_t *)DISK_REGS;
	struct disk *d;
	int rc = -ENOMEM;

	if (regs[R_MAGIC / 4] != VIRTIO_MAGIC || regs[R_VERSION / 4] != 2 ||
	    regs[R_DEVICE_ID / 4] != ID_BLOCK)
		return -ENODEV;
	d = kmalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	d->regs = regs;
	d->desc = kmalloc(sizeof(struct desc) * QSIZE);
	if (!d->desc)
		goto out_free_disk;
	d->avail = kmalloc(sizeof(struct avail));
	if (!d->avail)
		goto out_free_desc;
	d->used = kmalloc(sizeof(struct used));
	if (!d->used)
		goto out_free_avail;
	memset(d->avail, 0, sizeof(struct avail));
	memset(d->used, 0, sizeof(struct used));
	rc = device_start(d);
	if (rc)
		goto out_fail_device;
	*out = d;
	return 0;

out_fail_device:
	reg_write(d, R_STATUS, S_FAILED);
	kfree(d->used);
out_free_avail:
	kfree(d->avail);
out_free_desc:
	kfree(d->desc);
out_free_disk:
	kfree(d);
	return rc;
}

/* Reset the device and free the disk; NULL is ignored. */
void disk_close(struct disk *d)
{
	if (!d)
		return;
	reg_write(d, R_STATUS, 0);
	kfree(d->used);
	kfree(d->avail);
	kfree(d->desc);
	kfree(d);
}

static void set_desc(struct desc *dp, const void *addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	dp->addr = (uintptr_t)addr;
	dp->len = len;
	dp->flags = flags;
	dp->next = next;
}

/* Read one sector into buf (SECTOR_SIZE bytes). Returns 0, -ENOMEM or -EIO. */
int disk_read(struct disk *d, uint64_t sector, void *buf)
{
	struct blk_req *req = kmalloc(sizeof(*req));
	int rc;

	if (!req)
		return -ENOMEM;
	req->type = BLK_T_IN;
	req->reserved = 0;
	req->sector = sector;
	req->status = 0xff;
	set_desc(&d->desc[0], req, 16, D_NEXT, 1);
	set_desc(&d->desc[1], buf, SECTOR_SIZE, D_NEXT | D_WRITE, 2);
	set_desc(&d->desc[2], &req->status, 1, D_WRITE, 0);
	d->avail->ring[d->avail->idx % QSIZE] = 0;
	asm volatile("fence rw, rw" ::: "memory");
	d->avail->idx++;
	asm volatile("fence rw, rw" ::: "memory");
	reg_write(d, R_QUEUE_NOTIFY, 0);
	while (*(volatile uint16_t *)&d->used->idx == d->used_seen)
		;
	asm volatile("fence rw, rw" ::: "memory");
	d->used_seen++;
	rc = req->status == 0 ? 0 : -EIO;
	kfree(req);
	return rc;
}
