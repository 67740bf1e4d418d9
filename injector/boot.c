/*
 * boot.c - `injector boot`: start the machine exactly as a sweep does and hand the console to
 * the caller. The caller (a test, a debugging session) owns the other end of the console
 * socketpair and speaks docs/protocol.md itself; this process becomes QEMU, so killing it
 * kills the machine. One place (qemu.c) knows how to start QEMU.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>

#include "opts.h"
#include "qemu.h"

int boot_kernel(const struct opts *o)
{
	char err[512];

	if (fcntl(o->console_fd, F_GETFD) < 0) {
		fprintf(stderr, "injector: --console-fd %d is not an open file descriptor\n",
			o->console_fd);
		return EXIT_USAGE;
	}
	qemu_exec(&o->qcfg, o->serial, o->console_fd, err, sizeof err);
	fprintf(stderr, "injector: %s\n", err);
	return EXIT_USAGE;
}
