/*
 * scenarios.c - what faultline runs in pebble after boot (the after-boot model: the root
 * disk is open and mounted before every run's baseline; `run boot` injects boot itself).
 * Each scenario undoes what it did, so a run ends as it began.
 */
#include "pebble.h"
#include "faultlib/port.h"

/*
 * `run boot`: the kit runs boot() itself as the run, in an op named boot. The entry puts the
 * name in the scenario table, where the host looks for the scenarios a kernel offers, and
 * names the port's init: the kit's default in the after-boot model (faultlib/port.h).
 */
FL_SCENARIO(FL_BOOT_SCENARIO, boot);

/* read the motd, two sectors long, through the root mount and check how it starts */
static int scen_read(void)
{
	static const char start[] = "Welcome to pebble.";
	char *data;
	size_t len;
	int rc = fs_read(root_fs, "motd", &data, &len);

	if (rc)
		return rc;
	rc = len < sizeof(start) || strncmp(data, start, sizeof(start) - 1) ? -EIO : 0;
	kfree(data);
	return rc;
}
FL_SCENARIO("read", scen_read);

/* mount the root disk a second time, then unmount that mount */
static int scen_mount(void)
{
	struct mount *m;
	int rc = fs_mount(root_disk, &m);

	if (rc)
		return rc;
	fs_unmount(m);
	return 0;
}
FL_SCENARIO("mount", scen_mount);
