/*
 * virtio.h - virtio-mmio for the kernel's drivers (blk.c): the portable register and ring
 * definitions (faultlib/virtio_mmio.h, shared with the console transport) and the probe of
 * this machine's slots.
 */
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include "types.h"
#include "memlayout.h"
#include "faultlib/virtio_mmio.h"

/* the register block of the first modern virtio-mmio device with this id, or 0 */
static inline uintptr_t virtio_find(uint32_t device_id)
{
	for (unsigned i = 0; i < VIRTIO_SLOTS; i++) {
		uintptr_t r = VIRTIO0 + i * VIRTIO_STRIDE;
		if (virtio_mmio_is(r, device_id))
			return r;
	}
	return 0;
}

#endif
