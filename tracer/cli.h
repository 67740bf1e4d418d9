/*
 * cli.h - the commands of build/tracer. main.c parses options into ft_cli_opts and calls
 * one of these; each returns the process exit code (0 no findings, 1 findings, 2 usage,
 * I/O or infrastructure error).
 */
#ifndef FT_CLI_H
#define FT_CLI_H

struct ft_cli_opts {
	const char *kernel;    /* kernel ELF, or NULL */
	const char *db;        /* database path, or NULL */
	const char *scenario;  /* --scenario, or NULL: from the stream */
	const char *src_root;  /* --src-root, or NULL */
	const char *command;   /* the command line, recorded in sweeps.command */
	char **logs;           /* the LOG arguments (materialize: run ids) */
	int nlogs;
	long events;           /* bench-ingest: events to generate */
	int keep;              /* bench-ingest: enum ft_keep the runs are stored with */
	long chunk;            /* bytes per feed (1 proves lines split at every byte) */
	int cut;               /* enum ft_ending for a log's last run without an end record */
	int quiet;
};

int ft_cli_ingest(const struct ft_cli_opts *o);
int ft_cli_check(const struct ft_cli_opts *o);
int ft_cli_bench(const struct ft_cli_opts *o);
/* Print the record layouts (records.def), one line each: name, tokens, rest, fields. */
int ft_cli_layouts(void);
int ft_cli_materialize(const struct ft_cli_opts *o);

#endif
