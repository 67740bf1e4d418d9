/*
 * store_query.c - reading runs back: resume (ft_db_run_done) and the CLI's one-line
 * report of a stored run (see store.h).
 */
#include "store_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"

/* ---- resume ------------------------------------------------------------------------ */

int ft_db_run_done(struct ft_db *db, int64_t build, const struct ft_run_key *key, int *fired,
		   enum ft_outcome *outcome)
{
	sqlite3_stmt *s = db->st[S_RUN_DONE];
	int rc, done = 0;

	sqlite3_reset(s);
	store_bind_key(s, build, key->scenario, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		enum ft_outcome o = ft_outcome_of((const char *)sqlite3_column_text(s, 1));

		/* an infrastructure failure measured nothing: it is run again */
		if (o != FT_INFRA) {
			done = 1;
			if (fired)
				*fired = sqlite3_column_int(s, 0);
			if (outcome)
				*outcome = o;
		}
	} else if (rc != SQLITE_DONE) {
		done = -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return done;
}
/* ---- the CLI's report --------------------------------------------------------------- */

/* "; past the bounds: ..." for a run that hit them (columns events_cut, findings_cut,
 * ops_unjudged from i on), else "". */
static const char *cut_note(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	long long ev = sqlite3_column_int64(s, i), fi = sqlite3_column_int64(s, i + 1),
		  ops = sqlite3_column_int64(s, i + 2);

	buf[0] = 0;
	if (ev || fi || ops)
		snprintf(buf, len, "; past the bounds: %lld findings and %lld events not stored, "
			 "%lld failed ops nested too deep to judge their unwind", fi, ev, ops);
	return buf;
}

void ft_store_print_run(struct ft_db *db, int64_t run_id, const char *log, long k, FILE *out)
{
	sqlite3_stmt *s;
	char note[200];

	if (!run_id || sqlite3_prepare_v2(db->h, "SELECT scenario, outcome, fired, nevents, "
					  "nmalformed, expected_panic, infra_reason, events_cut, "
					  "findings_cut, ops_unjudged FROM runs WHERE id=?", -1, &s,
					  NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, run_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *infra = (const char *)sqlite3_column_text(s, 6);

		const char *scen = (const char *)sqlite3_column_text(s, 0);

		fprintf(out, "%s run %ld: scenario %s: %s%s, fired %d, %lld events, %lld malformed"
			"%s%s%s\n", log, k, scen && *scen ? scen : "(unknown)",
			(const char *)sqlite3_column_text(s, 1),
			sqlite3_column_int(s, 5) ? " (expected panic)" : "",
			sqlite3_column_int(s, 2), (long long)sqlite3_column_int64(s, 3),
			(long long)sqlite3_column_int64(s, 4), infra ? ": " : "",
			infra ? infra : "", cut_note(s, 7, note, sizeof(note)));
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db->h, "SELECT class, severity, coalesce(func,'?'), message "
			       "FROM findings WHERE run=? ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, run_id);
	while (sqlite3_step(s) == SQLITE_ROW)
		fprintf(out, "  %s [%s] in %s: %s\n", (const char *)sqlite3_column_text(s, 0),
			(const char *)sqlite3_column_text(s, 1),
			(const char *)sqlite3_column_text(s, 2),
			(const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
}

