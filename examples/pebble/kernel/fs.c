/*
 * fs.c - pebblefs: sector 0 holds the superblock, a directory of fixed-size entries follows
 * at dir_sector, and each file is a run of contiguous sectors. The disk is untrusted: the
 * superblock's counts and every entry's extent are bounded before use.
 */
#include "pebble.h"

#define FS_MAGIC     "PEBBLEFS"
#define FS_MAX_FILES 64
#define FS_MAX_FILE  (64 * 1024)
#define NAME_LEN     24

struct super {
	char magic[8];
	uint32_t nfiles;
	uint32_t dir_sector;
};

struct dirent {
	char name[NAME_LEN];            /* NUL-padded; a full-length name has no NUL */
	uint32_t start;                 /* first sector */
	uint32_t size;                  /* bytes */
};

#define DIRENTS_PER_SECTOR (SECTOR_SIZE / sizeof(struct dirent))

struct mount {
	struct disk *disk;
	struct super *sb;               /* the superblock sector as read */
	struct dirent *dir;             /* sb->nfiles entries */
};

static int read_super(struct mount *m)
{
	int rc = disk_read(m->disk, 0, m->sb);

	if (rc)
		return rc;
	if (memcmp(m->sb->magic, FS_MAGIC, 8) || !m->sb->nfiles ||
	    m->sb->nfiles > FS_MAX_FILES || !m->sb->dir_sector)
		return -EINVAL;
	return 0;
}

/*
 * Mount the pebblefs on d. Returns 0 and the mount in *out (it keeps d, which must outlive
 * it), or -ENOMEM, -EIO, or -EINVAL (no pebblefs there); on failure everything allocated
 * here is freed.
 */
int fs_mount(struct disk *d, struct mount **out)
{
	unsigned nsect;
	struct mount *m;
	int rc = -ENOMEM;

	m = kmalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->disk = d;
	m->sb = kmalloc(SECTOR_SIZE);
	if (!m->sb)
		goto out_free_mount;
	rc = read_super(m);
	if (rc)
		goto out_free_super;
	nsect = (m->sb->nfiles + DIRENTS_PER_SECTOR - 1) / DIRENTS_PER_SECTOR;
	m->dir = kmalloc(nsect * SECTOR_SIZE);
	if (!m->dir) {
		rc = -ENOMEM;
		goto out_free_super;
	}
	for (unsigned i = 0; i < nsect; i++) {
		rc = disk_read(d, m->sb->dir_sector + i, (char *)m->dir + i * SECTOR_SIZE);
		if (rc)
			goto out_free_dir;
	}
	*out = m;
	return 0;

out_free_dir:
	kfree(m->dir);
out_free_super:
	kfree(m->sb);
out_free_mount:
	kfree(m);
	return rc;
}

/* Free the mount (not its disk); NULL is ignored. */
void fs_unmount(struct mount *m)
{
	if (!m)
		return;
	kfree(m->dir);
	kfree(m->sb);
	kfree(m);
}

static const struct dirent *lookup(struct mount *m, const char *name)
{
	size_t n = strlen(name);

	if (n > NAME_LEN)
		return NULL;
	for (uint32_t i = 0; i < m->sb->nfiles; i++) {
		const struct dirent *e = &m->dir[i];

		if (!strncmp(e->name, name, n) && (n == NAME_LEN || !e->name[n]))
			return e;
	}
	return NULL;
}

/* Copy the file at e into buf, a sector at a time through bounce. Returns 0 or an error. */
static int read_extent(struct mount *m, const struct dirent *e, char *buf, char *bounce)
{
	for (uint32_t off = 0; off < e->size; off += SECTOR_SIZE) {
		uint32_t n = e->size - off < SECTOR_SIZE ? e->size - off : SECTOR_SIZE;
		int rc = disk_read(m->disk, e->start + off / SECTOR_SIZE, bounce);

		if (rc)
			return rc;
		memcpy(buf + off, bounce, n);
	}
	return 0;
}

/*
 * Read the whole file name. Returns 0 with a kmalloc'd copy, NUL-terminated, in *data (the
 * caller kfrees it) and its size in *len; or -ENOENT, -EINVAL (its size is out of bounds),
 * -ENOMEM or -EIO, with nothing allocated.
 */
int fs_read(struct mount *m, const char *name, char **data, size_t *len)
{
	const struct dirent *e = lookup(m, name);
	char *buf, *bounce;
	int rc;

	if (!e)
		return -ENOENT;
	if (e->size > FS_MAX_FILE)
		return -EINVAL;
	buf = kmalloc(e->size + 1);
	if (!buf)
		return -ENOMEM;
	bounce = kmalloc(SECTOR_SIZE);
	if (!bounce) {
		rc = -ENOMEM;
		goto out_free_buf;
	}
	rc = read_extent(m, e, buf, bounce);
	if (rc)
		goto out_free_bounce;
	kfree(bounce);
	buf[e->size] = 0;
	*data = buf;
	*len = e->size;
	return 0;

out_free_bounce:
	kfree(bounce);
out_free_buf:
	kfree(buf);
	return rc;
}

void fs_list(struct mount *m)
{
	char name[NAME_LEN + 1];

	for (uint32_t i = 0; i < m->sb->nfiles; i++) {
		memcpy(name, m->dir[i].name, NAME_LEN);
		name[NAME_LEN] = 0;
		kprintf("%s\t%u\n", name, m->dir[i].size);
	}
}
