/*
 * blktest - block I/O through the virtio-blk driver: write 4 sectors, read them back, and
 * check that bad requests are refused (-EINVAL). The data read is not compared with what was
 * written: the null-co drive the host attaches keeps nothing. Exits 0, the failing request's
 * error, or BAD_RESULT.
 */
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
