/*
 * store.h - the sqlite side of the tracer (schema in tracer/schema.sql, embedded at build
 * time): opening and migrating, builds, and writing one finished run in one transaction.
 * The public entry points are in tracer.h; these are the ones run.c and the CLI add.
 */
#ifndef FT_STORE_H
#define FT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "build.h"
#include "run.h"
#include "tracer.h"

#define FT_SCHEMA_VERSION 6

/* The in-memory state of a build, loaded from the database on first use. NULL + err. */
struct ft_build *ft_store_build(struct ft_db *db, int64_t build, char *err, size_t errlen);

/* Register a build known only by its id (no ELF: no symbols, hello's build id unchecked). */
int ft_db_add_anonymous(struct ft_db *db, const char *build_id, int64_t *build_out,
			char *err, size_t errlen);

/* Write a checked run (runs, events, ops, findings, malformed, new stacks and frames) in
 * one transaction, replacing a stored run with the same key; as how->keep says, a run with
 * neither findings nor fault mode none only as its runs row and malformed lines (*in_full
 * 0). 0, or -1 with err. */
int ft_store_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		 int64_t *run_id, int *in_full, char *err, size_t errlen);

/* Give a run stored without its events (runs.in_full 0) its events, ops, findings and
 * malformed lines again, from its compressed raw log (runs.raw_log_z): the log is parsed
 * and checked as when it was swept, and stored under the same run id. 0 (also for a run
 * stored in full), or -1 with err (no such run, no log kept, a corrupt log). */
int ft_store_materialize(struct ft_db *db, int64_t run_id, char *err, size_t errlen);

/* Print one stored run and its findings, one line each (the CLI's report). */
void ft_store_print_run(struct ft_db *db, int64_t run_id, const char *log, long k, FILE *out);

#endif
