/*
 * main.c - the injector's command line: parse and check options, then hand over to inject.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kelf.h"
#include "opts.h"
#include "parser.h"

static const char usage_text[] =
	"usage:\n"
	"  injector run   --kernel ELF --scenario S --fail N [--persist] [--class page|obj|io]\n"
	"                 [--site FUNC] [--mode fresh|reset|warm] [--timeout SEC] [--print-log]\n"
	"                 --db FILE\n"
	"  injector sweep --kernel ELF --scenario S[,S...]|all [--mode fresh|reset|warm]\n"
	"                 [--persist|--both] [--site FUNC] [--by-site] [--class page|obj|io]\n"
	"                 [-j J] [--timeout SEC] [--max-n N] [--suppressions FILE]\n"
	"                 [--profile FILE] [--no-analysis] --db FILE\n"
	"  injector scenarios --kernel ELF\n"
	"  injector floor --kernel NULL-ELF [--count N] [--timeout SEC]\n"
	"  injector boot  --kernel ELF --console-fd FD [--serial CHARDEV] [--mode fresh|reset|warm]\n"
	"common options: [--qemu BIN] [--src-root DIR] [--no-icount] [--quiet] [--guard]\n"
	"                [--no-sandbox] [--uart-limit BYTES[K|M|G]]\n"
	"exit status: 0 no findings, 1 findings (sweep: unique findings after suppressions,\n"
	"             as `python3 -m analysis findings` counts them), 2 usage or\n"
	"             infrastructure error,\n"
	"             130 interrupted (finished runs are kept; run again to resume)\n";

static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "injector: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

/* Largest N for --fail and --max-n: far beyond any sweep, and N + 1 cannot overflow. */
#define N_MAX 1000000000L
/* Longest --timeout, in seconds. */
#define TIMEOUT_MAX 86400.0

/* A whole decimal number from min to max into *out; otherwise a usage error naming opt and
 * the range. Returns -1 to continue, or the exit status. */
static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return usage("%s wants a number from %ld to %ld, not '%s'", opt, min, max, s);
	*out = v;
	return -1;
}

/* Seconds, more than 0 and at most max, into *out; otherwise a usage error naming opt and
 * the range. Returns -1 to continue, or the exit status. */
static int parse_seconds(const char *opt, const char *s, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > max)
		return usage("%s wants seconds, more than 0 and at most %g, not '%s'", opt, max, s);
	*out = v;
	return -1;
}

/* A comma-separated list with no empty element: "a" or "a,b", not "a,", ",a" or "a,,b". */
static bool is_list(const char *s)
{
	return *s && *s != ',' && s[strlen(s) - 1] != ',' && !strstr(s, ",,");
}

/* BYTES with an optional binary suffix K, M or G, from 1 to 1 TiB. */
static int parse_size(const char *s, long long *out)
{
	long long v, unit = 1;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 1)
		return -1;
	switch (*end) {
	case 'K': unit = 1LL << 10; end++; break;
	case 'M': unit = 1LL << 20; end++; break;
	case 'G': unit = 1LL << 30; end++; break;
	}
	if (*end || v > (1LL << 40) / unit)
		return -1;
	*out = v * unit;
	return 0;
}

static void join_command(struct opts *o, int argc, char **argv)
{
	size_t pos = 0;

	o->command[0] = 0;
	for (int i = 0; i < argc && pos + 2 < sizeof o->command; i++) {
		int r = snprintf(o->command + pos, sizeof o->command - pos, "%s%s", i ? " " : "",
				 argv[i]);
		if (r < 0)
			break;
		pos += (size_t)r;
	}
	if (pos >= sizeof o->command)
		o->command[sizeof o->command - 1] = 0;
}

enum { O_KERNEL = 256, O_DB, O_SCENARIO, O_FAIL, O_PERSIST, O_BOTH, O_CLASS, O_SITE,
       O_BYSITE, O_MODE, O_TIMEOUT, O_MAXN, O_PRINTLOG, O_QEMU, O_SRCROOT, O_NOICOUNT, O_GUARD,
       O_ICOUNT, O_QUIET, O_COUNT, O_CONSOLEFD, O_SERIAL, O_SUPPRESSIONS, O_PROFILE,
       O_NOANALYSIS, O_HELP, O_NOSANDBOX, O_UARTLIMIT };

static const struct option longopts[] = {
	{ "kernel", required_argument, NULL, O_KERNEL },
	{ "db", required_argument, NULL, O_DB },
	{ "scenario", required_argument, NULL, O_SCENARIO },
	{ "fail", required_argument, NULL, O_FAIL },
	{ "persist", no_argument, NULL, O_PERSIST },
	{ "both", no_argument, NULL, O_BOTH },
	{ "class", required_argument, NULL, O_CLASS },
	{ "site", required_argument, NULL, O_SITE },
	{ "by-site", no_argument, NULL, O_BYSITE },
	{ "mode", required_argument, NULL, O_MODE },
	{ "jobs", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "max-n", required_argument, NULL, O_MAXN },
	{ "print-log", no_argument, NULL, O_PRINTLOG },
	{ "qemu", required_argument, NULL, O_QEMU },
	{ "src-root", required_argument, NULL, O_SRCROOT },
	{ "guard", no_argument, NULL, O_GUARD },
	{ "no-icount", no_argument, NULL, O_NOICOUNT },
	{ "icount", no_argument, NULL, O_ICOUNT },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "count", required_argument, NULL, O_COUNT },
	{ "console-fd", required_argument, NULL, O_CONSOLEFD },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "suppressions", required_argument, NULL, O_SUPPRESSIONS },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "no-analysis", no_argument, NULL, O_NOANALYSIS },
	{ "help", no_argument, NULL, O_HELP },
	{ "no-sandbox", no_argument, NULL, O_NOSANDBOX },
	{ "uart-limit", required_argument, NULL, O_UARTLIMIT },
	{ NULL, 0, NULL, 0 },
};

/* Every option's default. */
static void default_opts(struct opts *o, char **argv)
{
	memset(o, 0, sizeof *o);
	o->argv0 = argv[0];
	o->fail = -1;
	o->jobs = sysconf(_SC_NPROCESSORS_ONLN);
	if (o->jobs < 1)
		o->jobs = 1;
	o->max_n = 100000;
	o->timeout = 5.0;
	o->icount = 1;
	o->mode = "fresh";
	o->qemu = getenv("FAULTLINE_QEMU") ? getenv("FAULTLINE_QEMU") : "qemu-system-riscv64";
	o->class_filter = "";
	o->site = "";
	o->console_fd = -1;
	o->serial = "stdio";
	o->sandbox = 1;
	o->file_max = QEMU_FILE_MAX_DEFAULT;
}

/* One option c (longopts[li] when li >= 0) with its value. Returns -1 to continue, or an
 * exit status. */
static int parse_opt(struct opts *o, int c, int li, char **argv)
{
	long v;
	int r;

	/* an empty value means nothing to any option (--db '' would open a temporary db) */
	if (optarg && !*optarg)
		return usage("--%s wants a value, not ''", li >= 0 ? longopts[li].name : "jobs");
	switch (c) {
	case O_KERNEL: o->kernel = optarg; break;
	case O_DB: o->db = optarg; break;
	case O_CONSOLEFD:
		if ((r = parse_long("--console-fd", optarg, 0, INT_MAX, &v)) >= 0)
			return r;
		o->console_fd = (int)v;
		break;
	case O_SERIAL: o->serial = optarg; break;
	case O_SCENARIO:
		if (!is_list(optarg))
			return usage("--scenario wants S or S1,S2,... (no empty name), not '%s'",
				     optarg);
		o->scenario = optarg;
		break;
	case O_FAIL:
		if ((r = parse_long("--fail", optarg, 1, N_MAX, &o->fail)) >= 0)
			return r;
		break;
	case O_PERSIST: o->persist = 1; break;
	case O_BOTH: o->both = 1; break;
	case O_CLASS:
		if (ft_class_by_name(optarg, strlen(optarg)) == FT_CL_NONE)
			return usage("--class is page, obj or io, not '%s'", optarg);
		o->class_filter = optarg;
		break;
	case O_SITE:
		if (strlen(optarg) >= 128 || strchr(optarg, ','))
			return usage("--site wants one function name (at most 127 characters), "
				     "not '%s'", optarg);
		o->site = optarg;
		break;
	case O_BYSITE: o->by_site = 1; break;
	case O_MODE:
		if (strcmp(optarg, "fresh") && strcmp(optarg, "reset") &&
		    strcmp(optarg, "warm"))
			return usage("--mode is fresh, reset or warm, not '%s'", optarg);
		o->mode = optarg;
		break;
	case 'j':
		if ((r = parse_long("-j", optarg, 1, 256, &o->jobs)) >= 0)
			return r;
		break;
	case O_TIMEOUT:
		if ((r = parse_seconds("--timeout", optarg, TIMEOUT_MAX, &o->timeout)) >= 0)
			return r;
		break;
	case O_MAXN:
		if ((r = parse_long("--max-n", optarg, 1, N_MAX, &o->max_n)) >= 0)
			return r;
		break;
	case O_PRINTLOG: o->print_log = 1; break;
	case O_QEMU: o->qemu = optarg; break;
	case O_SRCROOT: o->src_root = optarg; break;
	case O_GUARD: o->guard = 1; break;
	case O_NOICOUNT: o->icount = 0; break;
	case O_ICOUNT: o->icount = 1; break;
	case O_QUIET: o->quiet = 1; break;
	case O_COUNT:
		if ((r = parse_long("--count", optarg, 1, 100000, &o->count)) >= 0)
			return r;
		break;
	case O_SUPPRESSIONS:
	case O_PROFILE:
		if (access(optarg, R_OK) < 0)
			return usage("cannot read '%s'", optarg);
		*(c == O_PROFILE ? &o->profile : &o->suppressions) = optarg;
		break;
	case O_NOANALYSIS: o->no_analysis = 1; break;
	case O_HELP:
		fputs(usage_text, stdout);
		return 0;
	case O_NOSANDBOX: o->sandbox = 0; break;
	case O_UARTLIMIT:
		if (parse_size(optarg, &o->file_max) < 0)
			return usage("--uart-limit wants a size in bytes (suffix K, M or G) "
				     "from 1 to 1T, not '%s'", optarg);
		break;
	case ':':
		return usage("option '%s' needs a value", argv[optind - 1]);
	default:
		return usage("unknown option '%s'", argv[optind - 1]);
	}
	return -1;
}

/* The options that make no sense together or for this command. -1, or an exit status. */
static int check_opts(const struct opts *o)
{
	if (!o->kernel)
		return usage("%s", "--kernel ELF is required");
	if (!strcmp(o->cmd, "boot") && o->console_fd < 0)
		return usage("%s", "boot needs --console-fd FD (one end of a socketpair)");
	if (!strcmp(o->cmd, "scenarios") || !strcmp(o->cmd, "floor") || !strcmp(o->cmd, "boot"))
		return -1;
	if (!o->db)
		return usage("%s", "--db FILE is required");
	if (!o->scenario)
		return usage("%s", "--scenario is required");
	if (!strcmp(o->cmd, "run")) {
		if (o->fail < 0)
			return usage("%s", "run needs --fail N");
		if (o->both || o->by_site)
			return usage("%s", "--both and --by-site belong to sweep");
		if (strchr(o->scenario, ','))
			return usage("%s", "run takes one scenario");
		if (o->suppressions || o->profile || o->no_analysis)
			return usage("%s", "--suppressions, --profile and --no-analysis belong to sweep");
	} else {
		if (o->fail >= 0)
			return usage("%s", "--fail belongs to run; a sweep tries N = 1, 2, ...");
		if (o->persist && o->both)
			return usage("%s", "--persist and --both exclude each other");
		if (o->by_site && (o->persist || o->both))
			return usage("%s", "--by-site injects each call site once; drop --persist/--both");
		if (o->print_log)
			return usage("%s", "--print-log belongs to run");
	}
	return -1;
}

/* Returns -1 to continue, or an exit status. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	int c, r, li;

	default_opts(o, argv);
	join_command(o, argc, argv);
	if (argc < 2)
		return usage("%s", "missing command (run, sweep, scenarios, floor or boot)");
	o->cmd = argv[1];
	if (!strcmp(o->cmd, "-h") || !strcmp(o->cmd, "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(o->cmd, "run") && strcmp(o->cmd, "sweep") && strcmp(o->cmd, "scenarios") &&
	    strcmp(o->cmd, "floor") && strcmp(o->cmd, "boot"))
		return usage("unknown command '%s'", o->cmd);
	optind = 2;
	opterr = 0;
	for (li = -1; (c = getopt_long(argc, argv, ":j:", longopts, &li)) != -1; li = -1)
		if ((r = parse_opt(o, c, li, argv)) >= 0)
			return r;
	if (optind < argc)
		return usage("unexpected argument '%s'", argv[optind]);
	if ((r = check_opts(o)) >= 0)
		return r;
	if (!strcmp(o->cmd, "run"))
		o->jobs = 1;
	return -1;
}

/*
 * Refuse a kernel QEMU cannot boot and find the QEMU binary, once, before any machine
 * starts; fill the QEMU configuration every command uses. 0, or an exit status.
 */
static int check_kernel_and_qemu(struct opts *o)
{
	char err[PATH_MAX + 512];

	if (kelf_check(o->kernel, err, sizeof err) < 0) {
		fprintf(stderr, "injector: --kernel %s\n", err);
		return EXIT_USAGE;
	}
	if (!strcmp(o->cmd, "scenarios"))
		return 0;
	if (qemu_resolve(o->qemu, o->sandbox, &o->qbin, err, sizeof err) < 0) {
		fprintf(stderr, "injector: QEMU %s\n", err);
		return EXIT_USAGE;
	}
	o->qcfg = (struct qemu_cfg){
		.qemu = o->qbin.path,
		.kernel = o->kernel,
		.reset_mode = strcmp(o->mode, "fresh") != 0,
		.icount = o->icount,
		.sandbox = o->sandbox,
		.timeout_s = o->timeout,
		.file_max = o->file_max,
	};
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int r = parse_opts(&o, argc, argv);

	if (r >= 0)
		return r;
	r = check_kernel_and_qemu(&o);
	if (r)
		return r;
	if (!strcmp(o.cmd, "scenarios"))
		return list_scenarios(&o);
	if (!strcmp(o.cmd, "floor"))
		return measure_floor(&o);
	if (!strcmp(o.cmd, "boot"))
		return boot_kernel(&o);
	return inject(&o);
}
