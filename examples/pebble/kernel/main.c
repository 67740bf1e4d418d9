/*
 * main.c - boot: open the disk, mount its file system, then serve commands. Boot never
 * undoes itself: the disk and the root mount live until power-off. Without its disk pebble
 * is of no use, so a failure to open or mount it panics.
 */
#include "pebble.h"

struct disk *root_disk;
struct mount *root_fs;

void shell(void);

static void boot(void)
{
	if (disk_open(&root_disk))
		panic("boot: no disk in virtio-mmio slot 0");
	if (fs_mount(root_disk, &root_fs))
		panic("boot: cannot mount the root file system");
}

void main(void)
{
	uart_puts("pebble: booting\n");
	boot();
	uart_puts("pebble: root file system mounted\n");
	shell();
}
