/*
 * pebble.h - everything pebble's files share: a small RISC-V kernel for QEMU virt that
 * boots, mounts the file system on its disk (virtio-blk in virtio-mmio slot 0), then serves
 * commands typed on the UART.
 */
#ifndef PEBBLE_H
#define PEBBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENOMEM 12
#define EIO    5
#define ENOENT 2
#define EINVAL 22
#define ENODEV 19

#define NOINLINE __attribute__((noinline))
#define NORETURN __attribute__((noreturn))

#define RAM_END     0x88000000UL      /* -m 128M */
#define PAGE_SIZE   4096
#define SECTOR_SIZE 512

/* uart.c */
void uart_putc(char c);
void uart_puts(const char *s);
int uart_getc(void);                  /* -1 when no byte is waiting */
void kprintf(const char *fmt, ...);

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strlen(const char *s);

/* heap.c: a first-fit heap over pages carved from the RAM after the kernel */
struct heap_usage {
	unsigned long blocks;             /* blocks handed out and not freed */
	unsigned long bytes;              /* their sizes as requested */
};
void *kmalloc(size_t size);
void kfree(void *p);
void heap_usage(struct heap_usage *u);

/* disk.c: the virtio-blk disk in virtio-mmio slot 0 */
struct disk;
int disk_open(struct disk **out);
void disk_close(struct disk *d);
int disk_read(struct disk *d, uint64_t sector, void *buf);

/* fs.c: pebblefs, a flat directory of contiguous files */
struct mount;
int fs_mount(struct disk *d, struct mount **out);
void fs_unmount(struct mount *m);
int fs_read(struct mount *m, const char *name, char **data, size_t *len);
void fs_list(struct mount *m);

/* main.c */
extern struct disk *root_disk;
extern struct mount *root_fs;
void main(void);

/* panic.c */
NORETURN void panic(const char *msg);
NORETURN void power_off(int code);
void trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp);

#endif
