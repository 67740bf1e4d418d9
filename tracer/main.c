/* main.c - build/tracer: option parsing only; the commands live in cli.c and bench.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tracer.h"
#include "version.h"

static const char usage[] =
	"usage: tracer ingest --kernel ELF --db FILE [options] LOG...\n"
	"       tracer check [--kernel ELF] [options] LOG...\n"
	"       tracer bench-ingest [--events N] [--keep findings|full] [--db FILE]\n"
	"       tracer layouts\n"
	"       tracer materialize --db FILE RUN...\n"
	"       tracer --version\n"
	"\n"
	"ingest  audit saved console logs (one run per hello line) into the database\n"
	"check   audit logs without keeping a database\n"
	"bench-ingest  measure ingest throughput on a synthetic sweep of clean runs, stored as\n"
	"              the injector stores a sweep (findings: rows only) or every one in full\n"
	"layouts  print the record layouts this tracer reads: name, tokens, rest, fields\n"
	"materialize   store again the events of runs kept without them (by run id), from\n"
	"              their compressed logs (injector sweep --keep-logs all)\n"
	"\n"
	"options: --scenario S     scenario name when the log has no `run` record\n"
	"         --src-root DIR   record file names relative to DIR\n"
	"         --cut infra|hang|crash  how a log's last run without `end` ended:\n"
	"                          the capture stopped (infra, default), the board hung,\n"
	"                          or the board died\n"
	"         --chunk N        feed the parser N bytes at a time (default 4096)\n"
	"         --quiet          print nothing but errors\n"
	"exit: 0 no findings, 1 findings, 2 usage, I/O or infrastructure error\n";

static int bad_usage(const char *why)
{
	fprintf(stderr, "tracer: %s\n%s", why, usage);
	return 2;
}

/* The command line as one string, for sweeps.command. */
static char *joined(int argc, char **argv)
{
	size_t n = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	s = malloc(n);
	if (!s)
		return NULL;
	s[0] = 0;
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Read the options after the command into o: -1 to go on, else the exit code (help, usage). */
static int parse_options(int argc, char **argv, struct ft_cli_opts *o)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "scenario", required_argument, NULL, 's' },
		{ "src-root", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "cut", required_argument, NULL, 'u' },
		{ "keep", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "k:d:s:r:n:qhc:u:K:", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'd': o->db = optarg; break;
		case 's': o->scenario = optarg; break;
		case 'r': o->src_root = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'n':
			o->events = strtol(optarg, &end, 10);
			if (*end || o->events <= 0)
				return bad_usage("--events wants a positive number");
			break;
		case 'c':
			o->chunk = strtol(optarg, &end, 10);
			if (*end || o->chunk <= 0)
				return bad_usage("--chunk wants a positive number");
			break;
		case 'u':
			if (!strcmp(optarg, "infra"))
				o->cut = FT_END_LOST;
			else if (!strcmp(optarg, "hang"))
				o->cut = FT_END_TIMEOUT;
			else if (!strcmp(optarg, "crash"))
				o->cut = FT_END_EXITED;
			else
				return bad_usage("--cut wants infra, hang or crash");
			break;
		case 'K':
			if (!strcmp(optarg, "findings"))
				o->keep = FT_KEEP_FINDINGS;
			else if (!strcmp(optarg, "full"))
				o->keep = FT_KEEP_FULL;
			else
				return bad_usage("--keep wants findings or full");
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return bad_usage("bad option");
		}
	}
	o->logs = argv + optind;
	o->nlogs = argc - optind;
	return -1;
}

/* Run command cmd with its options; its exit code. */
static int run_command(const char *cmd, const struct ft_cli_opts *o)
{
	if (!strcmp(cmd, "ingest")) {
		if (!o->kernel)
			return bad_usage("ingest needs --kernel ELF");
		if (!o->db)
			return bad_usage("ingest needs --db FILE");
		return o->nlogs ? ft_cli_ingest(o) : bad_usage("ingest needs at least one LOG");
	}
	if (!strcmp(cmd, "check"))
		return o->nlogs ? ft_cli_check(o) : bad_usage("check needs at least one LOG");
	if (!strcmp(cmd, "layouts"))
		return o->nlogs ? bad_usage("layouts takes no LOG") : ft_cli_layouts();
	if (!strcmp(cmd, "materialize")) {
		if (!o->db)
			return bad_usage("materialize needs --db FILE");
		return o->nlogs ? ft_cli_materialize(o) : bad_usage("materialize needs a RUN id");
	}
	if (!strcmp(cmd, "bench-ingest"))
		return o->nlogs ? bad_usage("bench-ingest takes no LOG") : ft_cli_bench(o);
	return bad_usage("unknown command");
}

int main(int argc, char **argv)
{
	struct ft_cli_opts o;
	const char *cmd;
	char *line;
	int rc;

	memset(&o, 0, sizeof(o));
	o.events = 1000000;
	o.chunk = 4096;
	o.cut = FT_END_LOST;
	o.keep = FT_KEEP_FINDINGS;
	if (argc < 2)
		return bad_usage("missing command");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("tracer %s\n", FAULTLINE_VERSION);
		return 0;
	}
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	line = joined(argc, argv);
	o.command = line ? line : cmd;
	rc = run_command(cmd, &o);
	free(line);
	return rc;
}
