/*
 * store_schema.c - opening a database: the schema (tracer/schema.sql, embedded at build
 * time), its version and numbered migrations, WAL, and the helpers the other store_*.c
 * share (see store_db.h, docs/schema.md).
 */
#include "store_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"

extern const char ft_schema_sql[]; /* tracer/schema.sql, embedded at build time */

/*
 * Numbered migrations: entry v turns a version v-1 database into version v, and runs in one
 * transaction with the version bump. Version 1 is tracer/schema.sql itself (which always
 * describes the newest version; a fresh database is created from it directly).
 */
static const char *const migrations[FT_SCHEMA_VERSION + 1] = {
	[1] = NULL,
	/* 2: indexes for sweep-wide questions (outcomes per N, findings per class) */
	[2] = "CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs(sweep, n);"
	      "CREATE INDEX IF NOT EXISTS findings_by_class ON findings(class, func);",
	/* 3: what the bounds on judging and storing a run left out */
	[3] = "ALTER TABLE runs ADD COLUMN events_cut INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE runs ADD COLUMN findings_cut INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE runs ADD COLUMN ops_unjudged INTEGER NOT NULL DEFAULT 0;",
	/* 4: error-path coverage: each run's blocks, each build's blocks and their lines */
	[4] = "ALTER TABLE runs ADD COLUMN coverage BLOB;"
	      "CREATE TABLE cov_points (build INTEGER NOT NULL REFERENCES builds(id),"
	      " idx INTEGER NOT NULL, pc INTEGER NOT NULL, func TEXT,"
	      " PRIMARY KEY (build, idx)) WITHOUT ROWID;"
	      "CREATE TABLE cov_lines (build INTEGER NOT NULL REFERENCES builds(id),"
	      " point INTEGER NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,"
	      " PRIMARY KEY (build, point, file, line)) WITHOUT ROWID;",
	/* 5: lazy storage: runs without findings kept as their row (and raw log, by option) */
	[5] = "ALTER TABLE runs ADD COLUMN in_full INTEGER NOT NULL DEFAULT 1;"
	      "ALTER TABLE runs ADD COLUMN fault_class TEXT;"
	      "ALTER TABLE runs ADD COLUMN raw_log_z BLOB;"
	      "UPDATE runs SET fault_class = (SELECT class FROM events"
	      " WHERE run = runs.id AND seq = runs.fault_event);",
	/*
	 * 6: guard mode is part of what identifies a run (a guarded run may find what a plain
	 * one cannot), so runs is rebuilt with it in its key. An old run was guarded when the
	 * kernel acknowledged `guard on` in its events, or (stored without events) when its
	 * sweep's command asked for it.
	 */
	[6] = "ALTER TABLE sweeps ADD COLUMN guard INTEGER NOT NULL DEFAULT 0;"
	      "UPDATE sweeps SET guard = 1 WHERE instr(' ' || command || ' ', ' --guard ') > 0;"
	      "CREATE TABLE runs_v6 (id INTEGER PRIMARY KEY, sweep INTEGER REFERENCES sweeps(id),"
	      " build INTEGER NOT NULL REFERENCES builds(id), scenario TEXT NOT NULL,"
	      " exec_mode TEXT NOT NULL, fault_mode TEXT NOT NULL,"
	      " class_filter TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '',"
	      " site_lo INTEGER NOT NULL DEFAULT 0, site_hi INTEGER NOT NULL DEFAULT 0,"
	      " n INTEGER NOT NULL, outcome TEXT NOT NULL, fired INTEGER NOT NULL,"
	      " ended INTEGER NOT NULL, attempts INTEGER, result_rc INTEGER,"
	      " expected_panic INTEGER NOT NULL DEFAULT 0, fault_event INTEGER, fault_pc INTEGER,"
	      " fault_stack INTEGER REFERENCES stacks(id), infra_reason TEXT, exit_status INTEGER,"
	      " wall_ms REAL, raw_log TEXT, nevents INTEGER NOT NULL, nmalformed INTEGER NOT NULL,"
	      " finished_at TEXT NOT NULL, events_cut INTEGER NOT NULL DEFAULT 0,"
	      " findings_cut INTEGER NOT NULL DEFAULT 0, ops_unjudged INTEGER NOT NULL DEFAULT 0,"
	      " coverage BLOB, in_full INTEGER NOT NULL DEFAULT 1, fault_class TEXT,"
	      " raw_log_z BLOB, guard INTEGER NOT NULL DEFAULT 0,"
	      " UNIQUE (build, scenario, exec_mode, fault_mode, class_filter, site, site_lo,"
	      " site_hi, n, guard));"
	      "INSERT INTO runs_v6 SELECT *, id IN (SELECT run FROM events WHERE kind = 'ok' AND"
	      " name = 'guard') OR sweep IN (SELECT id FROM sweeps WHERE guard = 1) FROM runs;"
	      "DROP TABLE runs;"
	      "ALTER TABLE runs_v6 RENAME TO runs;"
	      "CREATE INDEX runs_by_sweep ON runs(sweep, n);",
};

void store_now_iso(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_exec(struct ft_db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ft_set_err(err, errlen, "sqlite: %s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_err(struct ft_db *db, char *err, size_t errlen, const char *what)
{
	ft_set_err(err, errlen, "sqlite: %s: %s", what, sqlite3_errmsg(db->h));
	return -1;
}
#define FOREIGN_DB (-2)
#define BUSY_TIMEOUT_MS 30000

/* Read meta.schema_version; 0 when the database is empty, FOREIGN_DB when it holds tables
 * but no faultline meta table (another program's database). -1 on error. */
static int schema_version(struct ft_db *db)
{
	sqlite3_stmt *s;
	int v = 0, rc;

	rc = sqlite3_prepare_v2(db->h, "SELECT count(*) FILTER (WHERE name='meta'), count(*) "
				"FROM sqlite_master", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return -1;
	}
	v = sqlite3_column_int(s, 0);
	if (!v && sqlite3_column_int(s, 1))
		v = FOREIGN_DB;
	sqlite3_finalize(s);
	if (v <= 0)
		return v;
	if (sqlite3_prepare_v2(db->h, "SELECT value FROM meta WHERE key='schema_version'", -1,
			       &s, NULL) != SQLITE_OK)
		return -1;
	v = sqlite3_step(s) == SQLITE_ROW ? atoi((const char *)sqlite3_column_text(s, 0)) : 0;
	sqlite3_finalize(s);
	return v;
}

static int set_version(struct ft_db *db, int v, char *err, size_t errlen)
{
	char sql[200], ts[32];

	store_now_iso(ts, sizeof(ts));
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta(key,value) VALUES('schema_version','%d');"
		 "INSERT OR IGNORE INTO meta(key,value) VALUES('created_at','%s');", v, ts);
	return store_exec(db, sql, err, errlen);
}

/* The schema version of a database this tracer may write to (0: empty), or -1 with err for
 * a file it must leave alone: another program's database, a newer schema, not a database.
 * Only reads. */
static int writable_version(struct ft_db *db, char *err, size_t errlen)
{
	int v = schema_version(db);

	if (v == FOREIGN_DB)
		ft_set_err(err, errlen, "not a faultline database (it has tables but no meta table)");
	else if (v < 0)
		store_err(db, err, errlen, "reading the schema version");
	else if (v > FT_SCHEMA_VERSION)
		ft_set_err(err, errlen, "database schema version %d is newer than this tracer "
			   "supports (%d)", v, FT_SCHEMA_VERSION);
	else
		return v;
	return -1;
}

/* The names of the enum's n values, comma-separated, in enum order. */
static void name_list(char *buf, size_t len, int n, const char *(*name)(int))
{
	size_t o = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", name(i));
}

static const char *outcome_at(int i)
{
	return ft_outcome_name((enum ft_outcome)i);
}

static const char *fclass_at(int i)
{
	return ft_fclass_name((enum ft_fclass)i);
}

/*
 * Record in meta the outcomes and finding classes this tracer writes, so that a reader
 * knows every name it may meet in runs.outcome and findings.class (analysis refuses a
 * database with one it does not know). Rewritten at every open by a writer.
 */
static int set_vocabulary(struct ft_db *db, char *err, size_t errlen)
{
	static const struct { const char *key; int n; const char *(*name)(int); } lists[] = {
		{ "outcomes", FT_NOUTCOME, outcome_at },
		{ "finding_classes", FT_F_COUNT, fclass_at },
	};
	sqlite3_stmt *s;
	char names[1024];
	size_t i;
	int rc = 0;

	if (sqlite3_prepare_v2(db->h, "INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)", -1,
			       &s, NULL) != SQLITE_OK)
		return store_err(db, err, errlen, "recording the outcomes");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && rc == 0; i++) {
		name_list(names, sizeof(names), lists[i].n, lists[i].name);
		sqlite3_bind_text(s, 1, lists[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, names, -1, SQLITE_STATIC);
		rc = store_step_done(s);
	}
	sqlite3_finalize(s);
	return rc < 0 ? store_err(db, err, errlen, "recording the outcomes") : 0;
}

static int migrate(struct ft_db *db, char *err, size_t errlen)
{
	int v;

	if (store_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	v = writable_version(db, err, errlen);
	if (v < 0)
		goto out_rollback;
	if (v == 0) {
		if (store_exec(db, ft_schema_sql, err, errlen) < 0 ||
		    set_version(db, FT_SCHEMA_VERSION, err, errlen) < 0)
			goto out_rollback;
	} else {
		for (v = v + 1; v <= FT_SCHEMA_VERSION; v++)
			if ((migrations[v] && store_exec(db, migrations[v], err, errlen) < 0) ||
			    set_version(db, v, err, errlen) < 0)
				goto out_rollback;
	}
	if (set_vocabulary(db, err, errlen) < 0)
		goto out_rollback;
	return store_exec(db, "COMMIT", err, errlen);

out_rollback:
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Switch to WAL. With another process creating the same file this can fail with
 * SQLITE_BUSY without the busy timeout being used (sqlite does not wait to upgrade a read
 * lock to a write lock: the other side may be waiting for it), so it is tried again, for
 * as long as the busy timeout would wait.
 */
static int set_wal(struct ft_db *db, char *err, size_t errlen)
{
	int rc, waited_ms = 0;

	while ((rc = sqlite3_exec(db->h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) ==
	       SQLITE_BUSY && waited_ms < BUSY_TIMEOUT_MS)
		waited_ms += sqlite3_sleep(10);
	return rc == SQLITE_OK ? 0 : store_err(db, err, errlen, "switching to WAL");
}

int ft_db_open(const char *path, struct ft_db **out, char *err, size_t errlen)
{
	struct ft_db *db;

	db = ft_xrealloc(NULL, sizeof(*db));
	memset(db, 0, sizeof(*db));
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		ft_set_err(err, errlen, "cannot open database %s: %s", path,
			   db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto out_close;
	}
	sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
	/* refuse a file that is not ours before anything is written: switching to WAL
	 * rewrites the header (migrate() checks again under the write lock) */
	if (writable_version(db, err, errlen) < 0 ||
	    store_exec(db, "PRAGMA page_size=65536", err, errlen) < 0 || set_wal(db, err, errlen) < 0 ||
	    store_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
		 err, errlen) < 0)
		goto out_close;
	if (migrate(db, err, errlen) < 0)
		goto out_close;
	if (store_run_prepare(db, err, errlen) < 0)
		goto out_close;
	*out = db;
	return 0;

out_close:
	ft_db_close(db);
	if (err && errlen && strncmp(err, "cannot open database", 20)) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", err);
		ft_set_err(err, errlen, "%s: %s", path, msg);
	}
	return -1;
}

void ft_db_close(struct ft_db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	for (i = 0; i < db->nbuilds; i++)
		ft_build_free(db->builds[i]);
	free(db->builds);
	sqlite3_close(db->h);
	free(db);
}
