/*
 * main.c - boot: open the disk, mount its file system, then serve commands. Boot is never
 * undone: the disk and the root mount live until power-off. Without them pebble is of no
 * use, so a boot that fails panics.
 */
#include "pebble.h"

struct disk *root_disk;
struct mount *root_fs;

void shell(void);

/* Open the root disk and mount it. Returns 0, or an error with the disk closed again. */
static int boot(void)
{
	int rc = disk_open(&root_disk);

	if (rc)
		return rc;
	rc = fs_mount(root_disk, &root_fs);
	if (rc) {
		disk_close(root_disk);
		root_disk = NULL;
	}
	return rc;
}

void main(void)
{
	uart_puts("pebble: booting\n");
	if (boot())
		panic("boot: cannot mount the root file system on the disk in virtio slot 0");
	uart_puts("pebble: root file system mounted\n");
	shell();
}
