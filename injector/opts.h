/*
 * opts.h - the injector's parsed command line, shared by main.c (which fills it) and the
 * files that carry out a command.
 */
#ifndef FAULTLINE_INJECTOR_OPTS_H
#define FAULTLINE_INJECTOR_OPTS_H

#include "profile.h"
#include "qemu.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

struct opts {
	const char *cmd, *kernel, *db, *scenario, *class_filter, *site, *mode, *qemu,
		*src_root, *serial;
	const char *suppressions;  /* passed to the analysis that counts findings */
	const char *profile;       /* --profile: read into prof, passed to the analysis */
	long fail, jobs, max_n, count;
	int console_fd;       /* `boot`: the caller's end of the console */
	double timeout;
	double boot_timeout;  /* [timeouts] boot: QEMU start (or reset) to hello */
	int persist, both, by_site, print_log, icount, quiet, no_analysis;
	int guard;            /* --guard: freed memory unmapped in the kernel (guard mode) */
	int keep_all_logs;    /* --keep-logs all: runs without findings keep their log too */
	int sandbox;          /* 0: --no-sandbox */
	long long file_max;   /* --uart-limit */
	struct qemu_bin qbin; /* --qemu, resolved once */
	struct qemu_cfg qcfg; /* how every command starts QEMU (the kernel as given) */
	struct profile prof;  /* --profile, when given */
	char *argv0;
	char command[8192];   /* the command line, recorded with each sweep */
};

/* `injector run` and `injector sweep`: returns the exit status. */
int inject(struct opts *o);
/* `injector floor`: QEMU start-to-exit time for a kernel that powers off at once. */
int measure_floor(const struct opts *o);
/* `injector boot`: become QEMU running the kernel, the console on --console-fd. */
int boot_kernel(const struct opts *o);
/* `injector scenarios`: list what the kernel offers. */
int list_scenarios(const struct opts *o);

#endif
