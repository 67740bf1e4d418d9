/*
 * exectest - exec: a failed exec returns to the old image intact; a forked child execs a
 * new image (also with live mmap regions, which go with the old image) and its exit status
 * proves the new image ran. Argument 1: be the new image (exit 42); 2: map memory, then exec.
 * Its image has a hole (user.ld's .far), so every exec of it also builds a zero page.
 */
#include "ulib.h"

#define NEW_IMAGE_STATUS 42

static volatile int marker = 1234;
static volatile int far_marker __attribute__((section(".far"))) = 5678;

int main(long arg)
{
	int rc, pid, st;

	if (arg == 1)
		return far_marker == 5678 ? NEW_IMAGE_STATUS : BAD_RESULT;
	if (arg == 2) {
		long a = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		if (a < 0)
			return (int)a;
		*(volatile int *)a = 1;
		return exec("exectest", 1);      /* returns only on failure */
	}

	rc = exec("no-such-program", 0);
	if (rc != -ENOENT || marker != 1234)
		return BAD_RESULT;
	for (long mode = 1; mode <= 2; mode++) {
		pid = fork();
		if (pid < 0)
			return pid;
		if (pid == 0)
			exit(exec("exectest", mode));
		rc = wait_for(pid, &st);
		if (rc < 0)
			return rc;
		if (st != NEW_IMAGE_STATUS)
			return st < 0 ? st : BAD_RESULT;
	}
	printf("exectest: exec failed cleanly, then replaced two images");
	return 0;
}
