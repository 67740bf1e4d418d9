/*
 * store_db.h - what the store's files share and nothing else includes: the open database
 * (its sqlite handle, the run writer's prepared statements, the builds in memory) and the
 * small sqlite helpers. store_schema.c opens and migrates, store_build.c registers and
 * loads builds, store_run.c writes runs, store_query.c reads them back.
 */
#ifndef FT_STORE_DB_H
#define FT_STORE_DB_H

#include <sqlite3.h>

#include "store.h"

/* The run writer's prepared statements (store_run.c holds their SQL). */
enum {
	S_OP, S_FINDING, S_MALFORMED, S_RUN, S_STACK, S_STACK_ID, S_FRAME, S_FIND_RUN,
	S_DEL_EVENTS, S_DEL_OPS, S_DEL_FINDINGS, S_DEL_MALFORMED, S_DEL_RUN, S_RUN_DONE,
	S_EVENTS_FROM_RUN, S_COUNT
};

struct ft_db {
	sqlite3 *h;
	sqlite3_stmt *st[S_COUNT];
	struct ft_run *storing; /* the run ft_run_events shows, while it is stored */
	struct ft_build **builds;
	size_t nbuilds;
};

/* store_schema.c */
void store_now_iso(char *buf, size_t len);
/* Run sql (one or more statements). 0, or -1 with err. */
int store_exec(struct ft_db *db, const char *sql, char *err, size_t errlen);
/* Put "sqlite: what: <sqlite's message>" in err; returns -1. */
int store_err(struct ft_db *db, char *err, size_t errlen, const char *what);

/* store_run.c */
/* Register ft_run_events and prepare the writer's statements. 0, or -1 with err. */
int store_run_prepare(struct ft_db *db, char *err, size_t errlen);
/* Step a statement that returns no row and reset it: 0, or -1. */
int store_step_done(sqlite3_stmt *s);
void store_bind_text(sqlite3_stmt *s, int i, const char *t);   /* NULL binds NULL */
void store_bind_i64(sqlite3_stmt *s, int i, int has, int64_t v); /* !has binds NULL */
const char *store_nz(const char *s);                            /* NULL as "" */
/* Bind a run key (build, scenario, modes, site, n) to parameters 1..9. */
void store_bind_key(sqlite3_stmt *s, int64_t build, const char *scenario,
		    const struct ft_run_key *key);

#endif
