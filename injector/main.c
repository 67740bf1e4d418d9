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
#include "profile.h"
#include "version.h"

/* Each command and its own options, as `injector COMMAND --help` prints them. */
static const struct command {
	const char *name, *options;
} commands[] = {
	{ "run", "--kernel ELF --scenario S --fail N [--persist|--fault once|persist]\n"
		 "       [--class page|obj|io] [--site FUNC] [--mode fresh|reset|warm|snapshot]\n"
		 "       [--timeout SEC] [--print-log] --db FILE" },
	{ "sweep", "--kernel ELF --scenario S[,S...]|all\n"
		   "       [--mode fresh|reset|warm|snapshot]\n"
		   "       [--persist|--both|--fault once|persist|both] [--site FUNC] [--by-site]\n"
		   "       [--class page|obj|io] [-j J] [--timeout SEC] [--max-n N]\n"
		   "       [--suppressions FILE] [--no-analysis] [--keep-logs findings|all]\n"
		   "       --db FILE" },
	{ "scenarios", "--kernel ELF" },
	{ "floor", "--kernel NULL-ELF [--count N] [--timeout SEC]" },
	{ "boot", "--kernel ELF --console-fd FD [--serial CHARDEV] [--mode fresh|reset|warm]" },
};

static const char common_text[] =
	"common options: [--profile FILE] [--qemu BIN] [--src-root DIR] [--no-icount] [--quiet]\n"
	"                [--guard] [--no-sandbox] [--uart-limit BYTES[K|M|G]] [--help]\n"
	"  --profile FILE: the kernel profile (docs/profile.md) gives the ELF, the machine,\n"
	"  the timeouts and the sweep's defaults; an option given here wins over it\n"
	"exit status: 0 no findings, 1 findings (sweep: unique findings after suppressions,\n"
	"             as `python3 -m analysis findings` counts them), 2 usage or\n"
	"             infrastructure error,\n"
	"             130 interrupted (finished runs are kept; run again to resume)\n";

/* The usage of one command (cmd) or of all (NULL), to f. */
static void print_usage(FILE *f, const struct command *cmd)
{
	fputs(cmd ? "usage: " : "usage:\n", f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!cmd || cmd == &commands[i])
			fprintf(f, "%sinjector %s %s\n", cmd ? "" : "  ", commands[i].name,
				commands[i].options);
	if (!cmd)
		fputs("  injector --version\n", f);
	fputs(common_text, f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Where a profile value being checked as an option came from ("FILE:LINE: [s] key"). */
static const char *usage_where;

static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "injector: ");
	if (usage_where)
		fprintf(stderr, "%s: ", usage_where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr, NULL);
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
       O_NOANALYSIS, O_HELP, O_NOSANDBOX, O_UARTLIMIT, O_FAULT, O_KEEPLOGS, O_END };

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
	{ "fault", required_argument, NULL, O_FAULT },
	{ "keep-logs", required_argument, NULL, O_KEEPLOGS },
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
	o->boot_timeout = 10.0;
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

/* --fault (and [sweep] fault): once, persist (--persist) or both (--both). */
static int apply_fault(struct opts *o, const char *fault)
{
	if (strcmp(fault, "once") && strcmp(fault, "persist") && strcmp(fault, "both"))
		return usage("--fault is once, persist or both, not '%s'", fault);
	o->persist = !strcmp(fault, "persist");
	o->both = !strcmp(fault, "both");
	return -1;
}

/* A numeric option c (an fd, a count, seconds or a size) from arg. -1 to continue, or an
 * exit status. */
static int parse_number_opt(struct opts *o, int c, const char *arg)
{
	long v;
	int r;

	switch (c) {
	case O_CONSOLEFD:
		if ((r = parse_long("--console-fd", arg, 0, INT_MAX, &v)) >= 0)
			return r;
		o->console_fd = (int)v;
		break;
	case O_FAIL: return parse_long("--fail", arg, 1, N_MAX, &o->fail);
	case 'j': return parse_long("-j", arg, 1, 256, &o->jobs);
	case O_TIMEOUT: return parse_seconds("--timeout", arg, TIMEOUT_MAX, &o->timeout);
	case O_MAXN: return parse_long("--max-n", arg, 1, N_MAX, &o->max_n);
	case O_COUNT: return parse_long("--count", arg, 1, 100000, &o->count);
	case O_UARTLIMIT:
		if (parse_size(arg, &o->file_max) < 0)
			return usage("--uart-limit wants a size in bytes (suffix K, M or G) "
				     "from 1 to 1T, not '%s'", arg);
		break;
	}
	return -1;
}

/* An option c whose value arg must be one of a few words, a list, a function name or a
 * readable file. -1 to continue, or an exit status. */
static int parse_checked_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case O_SCENARIO:
		if (!is_list(arg))
			return usage("--scenario wants S or S1,S2,... (no empty name), not '%s'",
				     arg);
		o->scenario = arg;
		break;
	case O_FAULT: return apply_fault(o, arg);
	case O_CLASS:
		if (ft_class_by_name(arg, strlen(arg)) == FT_CL_NONE)
			return usage("--class is page, obj or io, not '%s'", arg);
		o->class_filter = arg;
		break;
	case O_SITE:
		if (strlen(arg) >= 128 || strchr(arg, ','))
			return usage("--site wants one function name (at most 127 characters), "
				     "not '%s'", arg);
		o->site = arg;
		break;
	case O_MODE:
		if (strcmp(arg, "fresh") && strcmp(arg, "reset") &&
		    strcmp(arg, "warm") && strcmp(arg, "snapshot"))
			return usage("--mode is fresh, reset, warm or snapshot, not '%s'", arg);
		o->mode = arg;
		break;
	case O_KEEPLOGS:
		if (strcmp(arg, "findings") && strcmp(arg, "all"))
			return usage("--keep-logs is findings or all, not '%s'", arg);
		o->keep_all_logs = !strcmp(arg, "all");
		break;
	case O_SUPPRESSIONS:
	case O_PROFILE:
		if (access(arg, R_OK) < 0)
			return usage("cannot read '%s'", arg);
		*(c == O_PROFILE ? &o->profile : &o->suppressions) = arg;
		break;
	}
	return -1;
}

/* One option c (longopts[li] when li >= 0) with its value arg. Returns -1 to continue, or
 * an exit status. */
static int parse_opt(struct opts *o, int c, int li, const char *arg, char **argv)
{
	/* an empty value means nothing to any option (--db '' would open a temporary db) */
	if (arg && !*arg)
		return usage("--%s wants a value, not ''", li >= 0 ? longopts[li].name : "jobs");
	switch (c) {
	case O_KERNEL: o->kernel = arg; break;
	case O_DB: o->db = arg; break;
	case O_SERIAL: o->serial = arg; break;
	case O_QEMU: o->qemu = arg; break;
	case O_SRCROOT: o->src_root = arg; break;
	case O_PERSIST: o->persist = 1; break;
	case O_BOTH: o->both = 1; break;
	case O_BYSITE: o->by_site = 1; break;
	case O_PRINTLOG: o->print_log = 1; break;
	case O_GUARD: o->guard = 1; break;
	case O_NOICOUNT: o->icount = 0; break;
	case O_ICOUNT: o->icount = 1; break;
	case O_QUIET: o->quiet = 1; break;
	case O_NOANALYSIS: o->no_analysis = 1; break;
	case O_NOSANDBOX: o->sandbox = 0; break;
	case O_CONSOLEFD: case O_FAIL: case 'j': case O_TIMEOUT: case O_MAXN: case O_COUNT:
	case O_UARTLIMIT:
		return parse_number_opt(o, c, arg);
	case O_SCENARIO: case O_FAULT: case O_CLASS: case O_SITE: case O_MODE: case O_KEEPLOGS:
	case O_SUPPRESSIONS: case O_PROFILE:
		return parse_checked_opt(o, c, arg);
	case O_HELP:
		print_usage(stdout, find_command(o->cmd));
		return 0;
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
		if (o->suppressions || o->no_analysis)
			return usage("%s", "--suppressions and --no-analysis belong to sweep");
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

/* The option whose value c is, as longopts indexes it. */
static int longopt_index(int c)
{
	int i;

	for (i = 0; longopts[i].name && longopts[i].val != c; i++)
		;
	return i;
}

/* A list value of the profile as an option wants it: "a b" -> "a,b". */
static char *comma_list(const char *text)
{
	char *s = strdup(text), *w = s, *save, *t;

	if (!s)
		return NULL;
	for (t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (w != s)
			*w++ = ',';
		memmove(w, t, strlen(t));
		w += strlen(t);
	}
	*w = 0;
	return s;
}

/* The profile's values that stand for options; scenarios and fault only for sweep. */
static const struct {
	enum profile_key key;
	int opt;
} profile_opts[] = {
	{ PK_ELF, O_KERNEL }, { PK_BINARY, O_QEMU }, { PK_RUN, O_TIMEOUT }, { PK_MODE, O_MODE },
	{ PK_SCENARIOS, O_SCENARIO }, { PK_FAULT, O_FAULT },
};

/* Whether the command line gave option c, or one that makes the same choice (--by-site
 * injects each site once). */
static bool given_opt(const bool *given, int c)
{
	if (c == O_FAULT && (given[O_PERSIST - O_KERNEL] || given[O_BOTH - O_KERNEL] ||
			     given[O_BYSITE - O_KERNEL]))
		return true;
	return given[c - O_KERNEL];
}

/* The value of key k as its option takes it: paths made relative to the profile. */
static char *option_value(const struct profile *p, enum profile_key k)
{
	const char *text = p->v[k].text;

	if (k == PK_SCENARIOS)
		return comma_list(text);
	if (k == PK_ELF || (k == PK_BINARY && strchr(text, '/')))
		return profile_path(p, text);
	return strdup(text);
}

/*
 * Read --profile and take each value the command line did not give (given[c - O_KERNEL]),
 * checked as its option would be, errors naming FILE:LINE. -1 to continue, or the exit
 * status.
 */
static int apply_profile(struct opts *o, const bool *given)
{
	static struct opts scratch;
	struct profile *p = &o->prof;
	char err[PATH_MAX + 512], where[PATH_MAX + 64];
	bool sweep = !strcmp(o->cmd, "sweep");
	int r = -1;

	if (profile_load(o->profile, p, err, sizeof err) < 0) {
		fprintf(stderr, "injector: %s\n", err);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof profile_opts / sizeof profile_opts[0] && r < 0; i++) {
		enum profile_key k = profile_opts[i].key;
		int c = profile_opts[i].opt;
		char *value;

		if (!p->v[k].text || given_opt(given, c))
			continue;
		if (!(value = option_value(p, k)))
			return usage("%s", "out of memory");
		usage_where = profile_where(p, k, where, sizeof where);
		/* checked for every command, taken only by those it is for */
		r = parse_opt((k == PK_SCENARIOS || k == PK_FAULT) && !sweep ? &scratch : o, c,
			      longopt_index(c), value, NULL);
	}
	if (r < 0 && p->v[PK_BOOT].text) {
		usage_where = profile_where(p, PK_BOOT, where, sizeof where);
		r = parse_seconds("the boot timeout", p->v[PK_BOOT].text, TIMEOUT_MAX,
				  &o->boot_timeout);
	}
	usage_where = NULL;
	return r;
}

/* Returns -1 to continue, or an exit status. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	bool given[O_END - O_KERNEL] = { false };
	int c, r, li;

	default_opts(o, argv);
	join_command(o, argc, argv);
	if (argc < 2)
		return usage("%s", "missing command (run, sweep, scenarios, floor or boot)");
	o->cmd = argv[1];
	if (!strcmp(o->cmd, "-h") || !strcmp(o->cmd, "--help")) {
		print_usage(stdout, NULL);
		return 0;
	}
	if (!strcmp(o->cmd, "--version")) {
		printf("injector %s\n", FAULTLINE_VERSION);
		return 0;
	}
	if (!find_command(o->cmd))
		return usage("unknown command '%s'", o->cmd);
	optind = 2;
	opterr = 0;
	for (li = -1; (c = getopt_long(argc, argv, ":j:", longopts, &li)) != -1; li = -1) {
		if ((r = parse_opt(o, c, li, optarg, argv)) >= 0)
			return r;
		if (c >= O_KERNEL && c < O_END)
			given[c - O_KERNEL] = true;
	}
	if (optind < argc)
		return usage("unexpected argument '%s'", argv[optind]);
	if (o->profile && (r = apply_profile(o, given)) >= 0)
		return r;
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
		.machine = o->profile ? &o->prof.machine : NULL,
		.boot_timeout_s = o->boot_timeout,
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
