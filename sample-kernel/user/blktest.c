/* blktest - block I/O through the virtio-blk driver: write, read back, reject bad requests. */
#include "ulib.h"

static char buf[2048];

int main(long arg)
{
	int rc;

	(void)arg;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (char)i;
	rc = blkrw(1, buf, 4, 1);
	if (rc)
		return rc;
	rc = blkrw(1, buf, 4, 0);
	if (rc)
		return rc;
	if (blkrw(1UL << 40, buf, 1, 0) != -EINVAL || blkrw(0, buf, 5, 0) != -EINVAL)
		return BAD_RESULT;
	printf("blktest: wrote and read 4 sectors");
	return 0;
}
