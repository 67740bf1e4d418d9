/*
 * fuzz/pipeline.c - libFuzzer target for the whole per-run pipeline: the input is one run's
 * console stream, fed to a run (ft_run_begin, ft_run_feed), judged (ft_run_check), stored
 * (ft_run_finish) in an in-memory database and printed back as `tracer check` prints it.
 *
 * The kernel build is registered once, from the ELF named by FAULTLINE_FUZZ_KERNEL (the real
 * build/kernel.elf), so frames are symbolized with its symbols and DWARF. Its build-id check
 * is off: a hostile stream's hello need not name that build to reach the checks. How the host
 * saw the run end (exited, timeout, lost) follows from the input's length, so all three
 * endings are judged. Storing a run in memory never fails; if it does, the input is kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "build.h"
#include "store.h"
#include "tracer.h"

static struct ft_db *db;
static int64_t build;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *elf = getenv("FAULTLINE_FUZZ_KERNEL");
	struct ft_build *b;
	char err[512];

	(void)argc;
	(void)argv;
	if (!elf) {
		fprintf(stderr, "fuzz-pipeline: set FAULTLINE_FUZZ_KERNEL to the kernel ELF "
			"(build/kernel.elf)\n");
		exit(2);
	}
	if (ft_db_open(":memory:", &db, err, sizeof(err)) < 0 ||
	    ft_db_add_kernel(db, elf, NULL, &build, err, sizeof(err)) < 0 ||
	    !(b = ft_store_build(db, build, err, sizeof(err)))) {
		fprintf(stderr, "fuzz-pipeline: %s\n", err);
		exit(2);
	}
	b->check_build_id = 0;
	devnull = fopen("/dev/null", "w");
	if (!devnull) {
		perror("fuzz-pipeline: /dev/null");
		exit(2);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one key: each run replaces the last one stored, so the database stays small */
	static const struct ft_run_key key = { .scenario = "", .exec_mode = "log",
					       .fault_mode = "none", .class_filter = "",
					       .site = "fuzz", .n = 1 };
	struct ft_run_end how = { .how = (enum ft_ending)(size % 3), .exit_status = -1,
				    .infra_reason = "fuzz" };
	struct ft_run *r = ft_run_begin(db, build, 0, &key);
	struct ft_run_result res;
	char err[512];

	if (!r)
		abort();
	ft_run_feed(r, (const char *)data, size);
	ft_run_check(r, &how, &res);
	if (ft_run_finish(r, &how, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-pipeline: storing the run failed: %s\n", err);
		abort();
	}
	ft_store_print_run(db, res.run_id, "fuzz", 1, devnull);
	return 0;
}
