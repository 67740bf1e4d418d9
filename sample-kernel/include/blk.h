/* blk.h - the virtio block device (blk.c). */
#ifndef KERNEL_BLK_H
#define KERNEL_BLK_H

#include "types.h"

#define BLK_SECTOR    512
#define BLK_MAX_BYTES 2048          /* the largest request: 4 sectors */

struct blk_dev;

/* init step: probe the first virtio-blk device, if there is one */
int  blk_init(void);
void blk_fini(void);
struct blk_dev *blk_default(void);  /* the registered device, or NULL */
uint64_t blk_capacity(const struct blk_dev *dev);
int  blk_rw(struct blk_dev *dev, uint64_t sector, void *buf, unsigned count, bool write);

#endif
