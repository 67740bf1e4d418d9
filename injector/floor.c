/*
 * floor.c - `injector floor`: how long QEMU takes from start to exit with the injector's own
 * command line and devices, for a kernel that powers off at once (build/null.elf). This is
 * the floor every injection's cost is compared with in `make bench`.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opts.h"
#include "progress.h"
#include "qemu.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int measure_floor(const struct opts *o)
{
	struct qemu_cfg cfg = o->qcfg;
	long n = o->count > 0 ? o->count : 15;
	double *t = calloc((size_t)n, sizeof *t);
	char err[512];

	if (!t)
		return EXIT_USAGE;
	cfg.reset_mode = 0;     /* the kernel powers off: QEMU exits */
	for (long i = 0; i < n; i++) {
		struct qemu_proc q;
		double t0 = now_s();
		int st;

		if (qemu_spawn(&cfg, "/dev/null", "/dev/null", &q, err, sizeof err) < 0) {
			fprintf(stderr, "injector: %s\n", err);
			free(t);
			return EXIT_USAGE;
		}
		/* The console end is not read: a kernel that powers off at once never writes.
		 * One that does not (a real kernel waits for commands) is killed at --timeout. */
		while (!qemu_try_reap(&q, &st)) {
			double left = t0 + o->timeout - now_s();

			if (left <= 0) {
				qemu_kill(&q);
				fprintf(stderr, "injector: %s did not power off within %g s; `floor` "
					"wants a kernel that powers off at once (build/null.elf)\n",
					o->kernel, o->timeout);
				free(t);
				return EXIT_USAGE;
			}
			if (q.pidfd >= 0) {
				struct pollfd p = { .fd = q.pidfd, .events = POLLIN };

				poll(&p, 1, (int)(left * 1e3) + 1);
			} else {
				usleep(1000);
			}
		}
		t[i] = (now_s() - t0) * 1e3;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "injector: %s did not power off cleanly (status %d)\n",
				o->kernel, st);
			free(t);
			return EXIT_USAGE;
		}
	}
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	printf("floor_ms median %.2f min %.2f max %.2f runs %ld\n", t[n / 2], t[0], t[n - 1], n);
	free(t);
	return 0;
}
