/*
 * virtio_mmio.h - virtio-mmio (version 2, "modern") registers, status bits and split-ring
 * layouts, portable: only <stdint.h> and <stdbool.h>. Used by the console transport (vcons.c) and, through
 * the kernel's include/virtio.h, by the sample kernel's other drivers. Rings hold VIRTIO_QSZ
 * entries.
 */
#ifndef FAULTLIB_VIRTIO_MMIO_H
#define FAULTLIB_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#define MMIO_MAGIC         0x000
#define MMIO_VERSION       0x004
#define MMIO_DEVICE_ID     0x008
#define MMIO_DEV_FEAT      0x010
#define MMIO_DEV_FEAT_SEL  0x014
#define MMIO_DRV_FEAT      0x020
#define MMIO_DRV_FEAT_SEL  0x024
#define MMIO_QUEUE_SEL     0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM     0x038
#define MMIO_QUEUE_READY   0x044
#define MMIO_QUEUE_NOTIFY  0x050
#define MMIO_INT_STATUS    0x060
#define MMIO_INT_ACK       0x064
#define MMIO_STATUS        0x070
#define MMIO_QUEUE_DESC    0x080
#define MMIO_QUEUE_DRIVER  0x090
#define MMIO_QUEUE_DEVICE  0x0a0
#define MMIO_CONFIG        0x100

#define VIRTIO_MAGIC       0x74726976
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3

#define ST_ACK             1
#define ST_DRIVER          2
#define ST_DRIVER_OK       4
#define ST_FEATURES_OK     8
#define ST_NEEDS_RESET     64
#define ST_FAILED          128

#define VRING_DESC_F_NEXT  1
#define VRING_DESC_F_WRITE 2

#define VIRTIO_QSZ         8

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTIO_QSZ];
	uint16_t used_event;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct {
		uint32_t id;
		uint32_t len;
	} ring[VIRTIO_QSZ];
	uint16_t avail_event;
};

/* true when the register block at regs is a modern virtio-mmio device with this id */
static inline bool virtio_mmio_is(uintptr_t regs, uint32_t device_id)
{
	volatile uint32_t *r = (volatile uint32_t *)regs;

	return r[MMIO_MAGIC / 4] == VIRTIO_MAGIC && r[MMIO_VERSION / 4] == 2 &&
	       r[MMIO_DEVICE_ID / 4] == device_id;
}

#endif
