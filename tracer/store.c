/*
 * store.c - the sqlite store: open + migrate, builds/sweeps/run lookups, and writing one run
 * in one transaction with prepared statements (see store.h, tracer.h, docs/schema.md).
 */
#include "store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"
#include "covmap.h"

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
};

enum {
	S_OP, S_FINDING, S_MALFORMED, S_RUN, S_STACK, S_STACK_ID, S_FRAME, S_FIND_RUN,
	S_DEL_EVENTS, S_DEL_OPS, S_DEL_FINDINGS, S_DEL_MALFORMED, S_DEL_RUN, S_RUN_DONE,
	S_EVENTS_FROM_RUN, S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_EVENTS_FROM_RUN] = "INSERT INTO events(run,seq,kind,kseq,class,addr,size,pc,stack,op,"
			      "rc,name,text) SELECT ?1,* FROM ft_run_events",
	[S_OP] = "INSERT INTO ops(run,id,parent,name,pc,begin_seq,end_seq,rc) VALUES(?,?,?,?,?,?,?,?)",
	[S_FINDING] = "INSERT INTO findings(run,class,severity,func,pc,addr,size,alloc_stack,"
		      "free_stack,bad_stack,op_name,message,events)"
		      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_MALFORMED] = "INSERT INTO malformed(run,lineno,reason,text) VALUES(?,?,?,?)",
	[S_RUN] = "INSERT INTO runs(sweep,build,scenario,exec_mode,fault_mode,class_filter,site,"
		  "site_lo,site_hi,n,outcome,fired,ended,attempts,result_rc,expected_panic,"
		  "fault_event,fault_pc,fault_stack,infra_reason,exit_status,wall_ms,raw_log,"
		  "nevents,nmalformed,finished_at,events_cut,findings_cut,ops_unjudged,coverage)"
		  " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_STACK] = "INSERT INTO stacks(build,pcs) VALUES(?,?) ON CONFLICT DO NOTHING",
	[S_STACK_ID] = "SELECT id FROM stacks WHERE build=? AND pcs=?",
	[S_FRAME] = "INSERT INTO frames(build,pc,func,file,line) VALUES(?,?,?,?,?)"
		    " ON CONFLICT DO NOTHING",
	[S_FIND_RUN] = "SELECT id FROM runs WHERE build=? AND scenario=? AND exec_mode=? AND "
		       "fault_mode=? AND class_filter=? AND site=? AND site_lo=? AND site_hi=? "
		       "AND n=?",
	[S_DEL_EVENTS] = "DELETE FROM events WHERE run=?",
	[S_DEL_OPS] = "DELETE FROM ops WHERE run=?",
	[S_DEL_FINDINGS] = "DELETE FROM findings WHERE run=?",
	[S_DEL_MALFORMED] = "DELETE FROM malformed WHERE run=?",
	[S_DEL_RUN] = "DELETE FROM runs WHERE id=?",
	[S_RUN_DONE] = "SELECT fired, outcome FROM runs WHERE build=? AND scenario=? AND "
		       "exec_mode=? AND fault_mode=? AND class_filter=? AND site=? AND "
		       "site_lo=? AND site_hi=? AND n=?",
};

struct ft_db {
	sqlite3 *h;
	sqlite3_stmt *st[S_COUNT];
	struct ft_run *storing; /* the run ft_run_events shows, while it is stored */
	struct ft_build **builds;
	size_t nbuilds;
};

static const sqlite3_module evtab_module; /* ft_run_events, defined with insert_events */

static const char *const outcome_names[FT_NOUTCOME] = {
	[FT_CRASH] = "crash", [FT_PANIC] = "panic", [FT_HANG] = "hang", [FT_CORRUPT] = "corrupt",
	[FT_LEAK] = "leak", [FT_UNBALANCED] = "unbalanced", [FT_SWALLOWED] = "swallowed",
	[FT_HANDLED] = "handled",
	[FT_COMPLETED] = "completed", [FT_INFRA] = "infra",
};

const char *ft_outcome_name(enum ft_outcome o)
{
	return (unsigned)o < FT_NOUTCOME ? outcome_names[o] : "?";
}

int ft_outcome_is_finding(enum ft_outcome o)
{
	return o < FT_HANDLED;
}

static enum ft_outcome outcome_of(const char *s)
{
	int o;

	for (o = 0; o < FT_NOUTCOME; o++)
		if (s && strcmp(s, outcome_names[o]) == 0)
			return (enum ft_outcome)o;
	return FT_INFRA;
}

static void now_iso(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int exec(struct ft_db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ft_set_err(err, errlen, "sqlite: %s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int db_err(struct ft_db *db, char *err, size_t errlen, const char *what)
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

	now_iso(ts, sizeof(ts));
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta(key,value) VALUES('schema_version','%d');"
		 "INSERT OR IGNORE INTO meta(key,value) VALUES('created_at','%s');", v, ts);
	return exec(db, sql, err, errlen);
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
		db_err(db, err, errlen, "reading the schema version");
	else if (v > FT_SCHEMA_VERSION)
		ft_set_err(err, errlen, "database schema version %d is newer than this tracer "
			   "supports (%d)", v, FT_SCHEMA_VERSION);
	else
		return v;
	return -1;
}

static int migrate(struct ft_db *db, char *err, size_t errlen)
{
	int v;

	if (exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	v = writable_version(db, err, errlen);
	if (v < 0)
		goto out_rollback;
	if (v == 0) {
		if (exec(db, ft_schema_sql, err, errlen) < 0 ||
		    set_version(db, FT_SCHEMA_VERSION, err, errlen) < 0)
			goto out_rollback;
	} else {
		for (v = v + 1; v <= FT_SCHEMA_VERSION; v++)
			if ((migrations[v] && exec(db, migrations[v], err, errlen) < 0) ||
			    set_version(db, v, err, errlen) < 0)
				goto out_rollback;
	}
	return exec(db, "COMMIT", err, errlen);

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
	return rc == SQLITE_OK ? 0 : db_err(db, err, errlen, "switching to WAL");
}

int ft_db_open(const char *path, struct ft_db **out, char *err, size_t errlen)
{
	struct ft_db *db;
	int i;

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
	    exec(db, "PRAGMA page_size=65536", err, errlen) < 0 || set_wal(db, err, errlen) < 0 ||
	    exec(db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
		 err, errlen) < 0)
		goto out_close;
	if (migrate(db, err, errlen) < 0)
		goto out_close;
	if (sqlite3_create_module_v2(db->h, "ft_run_events", &evtab_module, db, NULL) !=
	    SQLITE_OK) {
		db_err(db, err, errlen, "registering ft_run_events");
		goto out_close;
	}
	for (i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(db->h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &db->st[i], NULL) != SQLITE_OK) {
			db_err(db, err, errlen, "preparing statements");
			goto out_close;
		}
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

/* ---- builds ------------------------------------------------------------------------- */

static struct ft_build *cached_build(struct ft_db *db, int64_t id)
{
	size_t i;

	for (i = 0; i < db->nbuilds; i++)
		if (db->builds[i]->id == id)
			return db->builds[i];
	return NULL;
}

static void cache_build(struct ft_db *db, struct ft_build *b)
{
	db->builds = ft_xrealloc(db->builds, (db->nbuilds + 1) * sizeof(*db->builds));
	db->builds[db->nbuilds++] = b;
}

static int64_t build_row(struct ft_db *db, const char *build_id)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT id FROM builds WHERE build_id=?", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, build_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return id;
}

static int insert_build(struct ft_db *db, const char *build_id, const char *elf,
			const char *src_root, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char ts[32];
	int rc;

	now_iso(ts, sizeof(ts));
	if (sqlite3_prepare_v2(db->h, "INSERT INTO builds(build_id,elf_path,src_root,added_at)"
			       " VALUES(?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return db_err(db, err, errlen, "adding a build");
	sqlite3_bind_text(s, 1, build_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, elf, -1, SQLITE_STATIC);
	if (src_root)
		sqlite3_bind_text(s, 3, src_root, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ts, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(db, err, errlen, "adding a build");
	*id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

static int insert_symbols(struct ft_db *db, const struct ft_build *b, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	size_t i;

	if (sqlite3_prepare_v2(db->h, "INSERT INTO symbols(build,lo,hi,name) VALUES(?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return db_err(db, err, errlen, "storing symbols");
	for (i = 0; i < b->st.syms.len; i++) {
		const struct ft_sym *y = FT_VEC_AT(&b->st.syms, struct ft_sym, i);

		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)y->lo);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)y->hi);
		sqlite3_bind_text(s, 4, ft_sym_name(&b->st, y), -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_finalize(s);
			return db_err(db, err, errlen, "storing symbols");
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return 0;
}

/* ---- coverage map (covmap.h) -------------------------------------------------------- */

static int step_done(sqlite3_stmt *s);
static void bind_opt_text(sqlite3_stmt *s, int i, const char *t);

struct cov_ins {
	struct ft_build *b;
	sqlite3_stmt *s;
};

static int insert_cov_line(void *ctx, uint32_t point, const char *file, int line)
{
	struct cov_ins *c = ctx;

	sqlite3_bind_int64(c->s, 1, c->b->id);
	sqlite3_bind_int64(c->s, 2, point);
	sqlite3_bind_text(c->s, 3, ft_build_rel_path(c->b, file), -1, SQLITE_STATIC);
	sqlite3_bind_int(c->s, 4, line);
	return step_done(c->s);
}

static int insert_cov_points(struct ft_db *db, struct ft_build *b)
{
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	if (sqlite3_prepare_v2(db->h, "INSERT INTO cov_points(build,idx,pc,func) VALUES(?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < b->cov_points.len && rc == 0; i++) {
		uint64_t pc = *FT_VEC_AT(&b->cov_points, uint64_t, i);

		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)pc);
		bind_opt_text(s, 4, ft_build_sym_name(b, ft_build_func_at(b, pc - 1)));
		rc = step_done(s);
	}
	sqlite3_finalize(s);
	return rc;
}

/* Store the points of a build registered with its ELF, and their lines, unless stored:
 * a build first seen before schema v4 gets them when its ELF is registered again. */
static int insert_cov_map(struct ft_db *db, struct ft_build *b, char *err, size_t errlen)
{
	struct ft_vec bounds;
	struct cov_ins c = { b, NULL };
	int have = 0, rc = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM cov_points WHERE build=?", -1, &c.s,
			       NULL) != SQLITE_OK)
		return db_err(db, err, errlen, "reading the coverage map");
	sqlite3_bind_int64(c.s, 1, b->id);
	if (sqlite3_step(c.s) == SQLITE_ROW)
		have = sqlite3_column_int(c.s, 0);
	sqlite3_finalize(c.s);
	ft_vec_init(&bounds, sizeof(struct ft_cov_bound));
	if (!have && ft_cov_points(&b->st, &b->cov_points, &bounds)) {
		rc = insert_cov_points(db, b);
		if (rc == 0 && sqlite3_prepare_v2(db->h, "INSERT OR IGNORE INTO cov_lines(build,"
						  "point,file,line) VALUES(?,?,?,?)", -1, &c.s,
						  NULL) == SQLITE_OK) {
			rc = ft_cov_lines(&b->st, &bounds, insert_cov_line, &c);
			sqlite3_finalize(c.s);
		} else {
			rc = -1;
		}
	}
	ft_vec_free(&bounds);
	return rc < 0 ? db_err(db, err, errlen, "storing the coverage map") : 0;
}

/* The points of a stored build, in bit order. */
static void load_cov_points(struct ft_db *db, struct ft_build *b)
{
	sqlite3_stmt *s;

	b->cov_points.len = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT pc FROM cov_points WHERE build=? ORDER BY idx", -1,
			       &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, b->id);
	while (sqlite3_step(s) == SQLITE_ROW)
		*(uint64_t *)ft_vec_push(&b->cov_points) = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
}

int ft_db_add_kernel(struct ft_db *db, const char *elf_path, const char *src_root,
		     int64_t *build_out, char *err, size_t errlen)
{
	struct ft_build *b = ft_build_new(0, NULL, src_root);
	struct ft_build *have;
	int64_t id;

	if (ft_symtab_load_elf(&b->st, elf_path, 1, err, errlen) < 0)
		goto out_free;
	if (!b->st.build_id[0]) {
		ft_set_err(err, errlen, "%s has no GNU build-id note (link it with "
			   "--build-id=sha1)", elf_path);
		goto out_free;
	}
	memcpy(b->build_id, b->st.build_id, sizeof(b->build_id));
	b->check_build_id = 1;
	if (exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		goto out_free;
	id = build_row(db, b->build_id);
	if (id < 0) {
		db_err(db, err, errlen, "looking up the build");
		goto out_rollback;
	}
	if (id > 0) {
		sqlite3_stmt *s;

		/* the same build seen again: remember where its ELF lives now */
		if (sqlite3_prepare_v2(db->h, "UPDATE builds SET elf_path=?, src_root="
				       "coalesce(?, src_root) WHERE id=?", -1, &s, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_text(s, 1, elf_path, -1, SQLITE_STATIC);
			if (src_root)
				sqlite3_bind_text(s, 2, src_root, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 3, id);
			sqlite3_step(s);
			sqlite3_finalize(s);
		}
		b->id = id;
	} else {
		if (insert_build(db, b->build_id, elf_path, src_root, &b->id, err, errlen) < 0)
			goto out_rollback;
		if (insert_symbols(db, b, err, errlen) < 0)
			goto out_rollback;
	}
	if (insert_cov_map(db, b, err, errlen) < 0)
		goto out_rollback;
	if (exec(db, "COMMIT", err, errlen) < 0)
		goto out_rollback;
	*build_out = b->id;
	have = cached_build(db, b->id);
	if (have) {
		if (!have->cov_points.len)
			load_cov_points(db, have);
		ft_build_free(b); /* runs in flight keep using the cached one */
	} else {
		load_cov_points(db, b);
		cache_build(db, b);
	}
	return 0;

out_rollback:
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
out_free:
	ft_build_free(b);
	return -1;
}

int ft_db_add_anonymous(struct ft_db *db, const char *build_id, int64_t *build_out,
			char *err, size_t errlen)
{
	int64_t id = build_row(db, build_id);

	if (id < 0)
		return db_err(db, err, errlen, "looking up the build");
	if (id == 0 && insert_build(db, build_id, "", NULL, &id, err, errlen) < 0)
		return -1;
	*build_out = id;
	return ft_store_build(db, id, err, errlen) ? 0 : -1;
}

struct ft_build *ft_store_build(struct ft_db *db, int64_t id, char *err, size_t errlen)
{
	struct ft_build *b = cached_build(db, id);
	sqlite3_stmt *s;
	char elf[4096] = "";

	if (b)
		return b;
	if (sqlite3_prepare_v2(db->h, "SELECT build_id, elf_path, src_root FROM builds "
			       "WHERE id=?", -1, &s, NULL) != SQLITE_OK) {
		db_err(db, err, errlen, "loading a build");
		return NULL;
	}
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		ft_set_err(err, errlen, "no build with id %" PRId64, id);
		return NULL;
	}
	b = ft_build_new(id, (const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 2));
	snprintf(elf, sizeof(elf), "%s", (const char *)sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
	b->check_build_id = elf[0] != 0;
	/* DWARF from the ELF if it is still there and still the same build */
	if (elf[0] && ft_symtab_load_elf(&b->st, elf, 0, NULL, 0) == 0 &&
	    strcmp(b->st.build_id, b->build_id) != 0) {
		ft_symtab_close(&b->st);
		ft_symtab_init(&b->st);
	}
	if (sqlite3_prepare_v2(db->h, "SELECT lo, hi, name FROM symbols WHERE build=?", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		while (sqlite3_step(s) == SQLITE_ROW)
			ft_symtab_add(&b->st, (uint64_t)sqlite3_column_int64(s, 0),
				      (uint64_t)sqlite3_column_int64(s, 1),
				      (const char *)sqlite3_column_text(s, 2));
		sqlite3_finalize(s);
	}
	ft_symtab_seal(&b->st);
	load_cov_points(db, b);
	cache_build(db, b);
	return b;
}

int ft_db_func_range(struct ft_db *db, int64_t build, const char *func, uint64_t *lo,
		     uint64_t *hi)
{
	struct ft_build *b = ft_store_build(db, build, NULL, 0);
	size_t i;

	if (!b || !func)
		return -1;
	for (i = 0; i < b->st.syms.len; i++) {
		const struct ft_sym *y = FT_VEC_AT(&b->st.syms, struct ft_sym, i);

		if (strcmp(ft_sym_name(&b->st, y), func) == 0) {
			*lo = y->lo;
			*hi = y->hi;
			return 0;
		}
	}
	return -1;
}

/* ---- sweeps and resume -------------------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

int ft_db_sweep(struct ft_db *db, int64_t build, const struct ft_run_key *key,
		const char *command, int64_t *sweep_out)
{
	sqlite3_stmt *s;
	char ts[32];
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT id FROM sweeps WHERE build=? AND scenario=? AND "
			       "exec_mode=? AND fault_mode=? AND class_filter=? AND site=? AND "
			       "command=? ORDER BY id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, build);
	sqlite3_bind_text(s, 2, nz(key->scenario), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, nz(key->exec_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, nz(key->fault_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, nz(key->class_filter), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, nz(key->site), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, nz(command), -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*sweep_out = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	now_iso(ts, sizeof(ts));
	if (sqlite3_prepare_v2(db->h, "INSERT INTO sweeps(build,scenario,exec_mode,fault_mode,"
			       "class_filter,site,command,started_at) VALUES(?,?,?,?,?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, build);
	sqlite3_bind_text(s, 2, nz(key->scenario), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, nz(key->exec_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, nz(key->fault_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, nz(key->class_filter), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, nz(key->site), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, nz(command), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, ts, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	*sweep_out = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int ft_db_sweep_finish(struct ft_db *db, int64_t sweep, double wall_s)
{
	sqlite3_stmt *s;
	char ts[32];
	int rc;

	now_iso(ts, sizeof(ts));
	if (sqlite3_prepare_v2(db->h, "UPDATE sweeps SET finished_at=?, "
			       "wall_s=coalesce(wall_s,0)+? WHERE id=?", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, ts, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, wall_s);
	sqlite3_bind_int64(s, 3, sweep);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_key(sqlite3_stmt *s, int64_t build, const char *scenario,
		     const struct ft_run_key *key)
{
	sqlite3_bind_int64(s, 1, build);
	sqlite3_bind_text(s, 2, nz(scenario), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, nz(key->exec_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, nz(key->fault_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, nz(key->class_filter), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, nz(key->site), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)key->site_lo);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)key->site_hi);
	sqlite3_bind_int64(s, 9, key->n);
}

int ft_db_run_done(struct ft_db *db, int64_t build, const struct ft_run_key *key, int *fired,
		   enum ft_outcome *outcome)
{
	sqlite3_stmt *s = db->st[S_RUN_DONE];
	int rc, done = 0;

	sqlite3_reset(s);
	bind_key(s, build, key->scenario, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		enum ft_outcome o = outcome_of((const char *)sqlite3_column_text(s, 1));

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

/* ---- writing a run ------------------------------------------------------------------ */

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_opt_i64(sqlite3_stmt *s, int i, int has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static void bind_opt_stack(struct ft_build *b, sqlite3_stmt *s, int i, uint32_t idx1)
{
	struct ft_stack *st = ft_build_stack_at(b, idx1);

	if (st && st->db_id)
		sqlite3_bind_int64(s, i, st->db_id);
	else
		sqlite3_bind_null(s, i);
}

static int save_build_cache(struct ft_db *db, struct ft_build *b)
{
	sqlite3_stmt *s;
	size_t i;

	s = db->st[S_FRAME];
	for (i = 0; i < b->unsaved_frames.len; i++) {
		struct ft_frame *f = ft_build_frame_at(b, *FT_VEC_AT(&b->unsaved_frames,
								   uint32_t, i));

		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)f->pc);
		bind_opt_text(s, 3, ft_build_sym_name(b, f->sym));
		bind_opt_text(s, 4, ft_arena_str(&b->strs, f->file));
		bind_opt_i64(s, 5, f->line != 0, f->line);
		if (step_done(s) < 0)
			return -1;
		f->in_db = 1;
	}
	for (i = 0; i < b->unsaved_stacks.len; i++) {
		struct ft_stack *st = FT_VEC_AT(&b->stacks, struct ft_stack,
						*FT_VEC_AT(&b->unsaved_stacks, uint32_t, i));
		const char *pcs = ft_arena_str(&b->strs, st->str);

		s = db->st[S_STACK];
		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_text(s, 2, pcs, -1, SQLITE_STATIC);
		if (step_done(s) < 0)
			return -1;
		if (sqlite3_changes(db->h) == 1) {
			st->db_id = sqlite3_last_insert_rowid(db->h);
			continue;
		}
		s = db->st[S_STACK_ID]; /* stored before (another process or an earlier open) */
		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_text(s, 2, pcs, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW) {
			sqlite3_reset(s);
			return -1;
		}
		st->db_id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return 0;
}

static int delete_old_run(struct ft_db *db, struct ft_run *r, const char *scenario)
{
	const struct ft_run_key key = { scenario, r->exec_mode, r->fault_mode, r->class_filter,
					r->site, r->site_lo, r->site_hi, r->n };
	sqlite3_stmt *s = db->st[S_FIND_RUN];
	int64_t old = 0;
	int i;

	bind_key(s, r->b->id, scenario, &key);
	if (sqlite3_step(s) == SQLITE_ROW)
		old = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (!old)
		return 0;
	for (i = S_DEL_EVENTS; i <= S_DEL_RUN; i++) {
		sqlite3_bind_int64(db->st[i], 1, old);
		if (step_done(db->st[i]) < 0)
			return -1;
	}
	return 0;
}

/* Which optional event columns a record kind fills. */
enum { C_ADDR = 1, C_SIZE = 2, C_PC = 4, C_RC = 8 };
static const uint8_t event_cols[FT_K_COUNT] = {
	[FT_K_HELLO] = C_RC, [FT_K_ALLOC] = C_ADDR | C_SIZE | C_PC, [FT_K_FREE] = C_ADDR | C_PC,
	[FT_K_FAULT] = C_SIZE | C_PC, [FT_K_OOM] = C_SIZE | C_PC, [FT_K_BADFREE] = C_ADDR | C_PC,
	[FT_K_OPBEGIN] = C_PC, [FT_K_OPEND] = C_RC, [FT_K_REF] = C_ADDR | C_PC | C_RC,
	[FT_K_RESULT] = C_RC, [FT_K_PANIC] = C_PC, [FT_K_TRAP] = C_ADDR | C_PC, [FT_K_END] = C_RC,
	[FT_K_RECOVER] = C_PC,
	[FT_K_STATE] = C_ADDR | C_PC | C_RC,
	[FT_K_ACQ] = C_ADDR | C_PC, [FT_K_REL] = C_ADDR | C_PC,
	[FT_K_POISON] = C_ADDR | C_SIZE | C_PC,
};

/*
 * ft_run_events: a read-only virtual table over the events of the run being stored. The
 * INSERT ... SELECT through it moves every event into `events` without a bind call per
 * column, which is the bulk of the ingest cost.
 */
struct evtab {
	sqlite3_vtab base;
	struct ft_db *db;
};

struct evcur {
	sqlite3_vtab_cursor base;
	uint32_t i;
};

static int evtab_connect(sqlite3 *h, void *aux, int argc, const char *const *argv,
			 sqlite3_vtab **out, char **err)
{
	struct evtab *t;
	int rc;

	(void)argc;
	(void)argv;
	(void)err;
	rc = sqlite3_declare_vtab(h, "CREATE TABLE x(seq, kind, kseq, class, addr, size, pc, "
				  "stack, op, rc, name, text)");
	if (rc != SQLITE_OK)
		return rc;
	t = sqlite3_malloc(sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->db = aux;
	*out = &t->base;
	return SQLITE_OK;
}

static int evtab_disconnect(sqlite3_vtab *t)
{
	sqlite3_free(t);
	return SQLITE_OK;
}

static int evtab_best_index(sqlite3_vtab *t, sqlite3_index_info *info)
{
	(void)t;
	info->estimatedCost = 1e6;
	return SQLITE_OK;
}

static int evtab_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out)
{
	struct evcur *c = sqlite3_malloc(sizeof(*c));

	(void)t;
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int evtab_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int evtab_filter(sqlite3_vtab_cursor *c, int idx, const char *idxs, int argc,
			sqlite3_value **argv)
{
	(void)idx;
	(void)idxs;
	(void)argc;
	(void)argv;
	((struct evcur *)c)->i = 0;
	return SQLITE_OK;
}

static struct ft_run *evtab_run(sqlite3_vtab_cursor *c)
{
	return ((struct evtab *)c->pVtab)->db->storing;
}

/* The events stored: all of them, or the first and the last FT_EVENTS_KEEP / 2. */
static int evtab_next(sqlite3_vtab_cursor *c)
{
	struct evcur *cur = (struct evcur *)c;

	if (++cur->i == FT_EVENTS_KEEP / 2)
		cur->i += ft_run_events_cut(evtab_run(c));
	return SQLITE_OK;
}

static int evtab_eof(sqlite3_vtab_cursor *c)
{
	struct ft_run *r = evtab_run(c);

	return !r || ((struct evcur *)c)->i >= r->events.len;
}

static void res_int(sqlite3_context *ctx, int has, int64_t v)
{
	if (has)
		sqlite3_result_int64(ctx, v);
	else
		sqlite3_result_null(ctx);
}

static void res_text(sqlite3_context *ctx, const char *t)
{
	if (t)
		sqlite3_result_text(ctx, t, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
}

static int evtab_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	struct ft_run *r = evtab_run(c);
	uint32_t i = ((struct evcur *)c)->i;
	const struct ft_event *e = ft_run_ev(r, i);
	uint8_t cols = event_cols[e->kind];

	switch (col) {
	case 0: sqlite3_result_int64(ctx, i); break;
	case 1: res_text(ctx, ft_kind_name((enum ft_kind)e->kind)); break;
	case 2: res_int(ctx, e->has_kseq, e->kseq); break;
	case 3: res_text(ctx, ft_class_name(e->cls)); break;
	case 4: res_int(ctx, cols & C_ADDR, (int64_t)e->addr); break;
	case 5: res_int(ctx, cols & C_SIZE, e->size); break;
	case 6: res_int(ctx, cols & C_PC, (int64_t)e->pc); break;
	case 7: {
		struct ft_stack *st = ft_build_stack_at(r->b, e->stack);

		res_int(ctx, st && st->db_id, st ? st->db_id : 0);
		break;
	}
	case 8: res_int(ctx, e->op != FT_NO_OP, e->op); break;
	case 9: res_int(ctx, cols & C_RC, e->rc); break;
	case 10: res_text(ctx, ft_arena_str(&r->strs, e->name)); break;
	default: res_text(ctx, ft_arena_str(&r->strs, e->text)); break;
	}
	return SQLITE_OK;
}

static int evtab_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	*rowid = ((struct evcur *)c)->i;
	return SQLITE_OK;
}

static const sqlite3_module evtab_module = {
	.iVersion = 0,
	.xConnect = evtab_connect,
	.xBestIndex = evtab_best_index,
	.xDisconnect = evtab_disconnect,
	.xOpen = evtab_open,
	.xClose = evtab_close,
	.xFilter = evtab_filter,
	.xNext = evtab_next,
	.xEof = evtab_eof,
	.xColumn = evtab_column,
	.xRowid = evtab_rowid,
};

static int insert_events(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	sqlite3_stmt *s = db->st[S_EVENTS_FROM_RUN];
	int rc;

	db->storing = r;
	sqlite3_bind_int64(s, 1, run_id);
	rc = step_done(s);
	db->storing = NULL;
	return rc;
}

static int insert_ops(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	sqlite3_stmt *s = db->st[S_OP];
	size_t i;

	for (i = 0; i < r->ops.len; i++) {
		const struct ft_op *o = FT_VEC_AT(&r->ops, struct ft_op, i);

		if (!ft_run_ev_stored(r, o->begin))
			continue; /* an op is stored with its op+ */
		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_int64(s, 2, o->id);
		bind_opt_i64(s, 3, o->parent != FT_NO_OP, o->parent);
		sqlite3_bind_text(s, 4, ft_arena_str(&r->strs, o->name), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)o->pc);
		sqlite3_bind_int64(s, 6, o->begin);
		if (o->end != FT_NONE) {
			sqlite3_bind_int64(s, 7, o->end);
			sqlite3_bind_int64(s, 8, o->rc);
		} else {
			sqlite3_bind_null(s, 7);
			sqlite3_bind_null(s, 8);
		}
		if (step_done(s) < 0)
			return -1;
	}
	return 0;
}

static int insert_findings(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	sqlite3_stmt *s = db->st[S_FINDING];
	size_t i;

	for (i = 0; i < r->findings.len; i++) {
		const struct ft_finding *f = FT_VEC_AT(&r->findings, struct ft_finding, i);
		char evs[FT_FEV_MAX * 12 + 1] = "";
		size_t o = 0;
		int k;

		uint32_t ev[FT_FEV_MAX];

		memcpy(ev, f->ev, sizeof(ev));
		qsort(ev, (size_t)f->nev, sizeof(ev[0]), ft_cmp_u32);
		for (k = 0; k < f->nev; k++)
			o += (size_t)snprintf(evs + o, sizeof(evs) - o, "%s%u", k ? "," : "", ev[k]);
		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_text(s, 2, ft_fclass_name(f->cls), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, f->warning ? "warning" : "error", -1, SQLITE_STATIC);
		bind_opt_text(s, 4, f->func);
		bind_opt_i64(s, 5, f->has_pc, (sqlite3_int64)f->pc);
		bind_opt_i64(s, 6, f->has_addr, (sqlite3_int64)f->addr);
		bind_opt_i64(s, 7, f->has_size, f->size);
		bind_opt_stack(r->b, s, 8, f->alloc_stack);
		bind_opt_stack(r->b, s, 9, f->free_stack);
		bind_opt_stack(r->b, s, 10, f->bad_stack);
		bind_opt_text(s, 11, ft_arena_str(&r->strs, f->op_name));
		sqlite3_bind_text(s, 12, ft_arena_str(&r->strs, f->message), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 13, evs, -1, SQLITE_TRANSIENT);
		if (step_done(s) < 0)
			return -1;
	}
	return 0;
}

static int insert_malformed(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	sqlite3_stmt *s = db->st[S_MALFORMED];
	size_t i;

	for (i = 0; i < r->bad.len; i++) {
		const struct ft_malformed *m = FT_VEC_AT(&r->bad, struct ft_malformed, i);

		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)m->lineno);
		sqlite3_bind_text(s, 3, m->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, ft_arena_str(&r->strs, m->text), -1, SQLITE_STATIC);
		if (step_done(s) < 0)
			return -1;
	}
	return 0;
}

static int insert_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		      const char *scenario, int64_t *run_id)
{
	sqlite3_stmt *s = db->st[S_RUN];
	char ts[32];
	int rc;

	now_iso(ts, sizeof(ts));
	sqlite3_clear_bindings(s);
	if (r->sweep > 0)
		sqlite3_bind_int64(s, 1, r->sweep);
	sqlite3_bind_int64(s, 2, r->b->id);
	sqlite3_bind_text(s, 3, scenario, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->exec_mode, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->fault_mode, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->class_filter, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, r->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)r->site_lo);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)r->site_hi);
	sqlite3_bind_int64(s, 10, r->n);
	sqlite3_bind_text(s, 11, ft_outcome_name(r->outcome), -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 12, r->saw_end ? (int)r->end_fired : 0);
	sqlite3_bind_int(s, 13, r->saw_end);
	if (r->saw_end)
		sqlite3_bind_int64(s, 14, r->end_attempts);
	if (r->has_result)
		sqlite3_bind_int64(s, 15, r->result_rc);
	sqlite3_bind_int(s, 16, r->expected_panic);
	if (r->first_fault != FT_NONE) {
		const struct ft_event *f = ft_run_ev(r, r->first_fault);

		sqlite3_bind_int64(s, 17, r->first_fault);
		sqlite3_bind_int64(s, 18, (sqlite3_int64)f->pc);
		bind_opt_stack(r->b, s, 19, f->stack);
	}
	bind_opt_text(s, 20, r->infra_reason);
	if (how->exit_status != -1)
		sqlite3_bind_int(s, 21, how->exit_status);
	sqlite3_bind_double(s, 22, how->wall_ms);
	bind_opt_text(s, 23, how->raw_log);
	sqlite3_bind_int64(s, 24, (sqlite3_int64)r->events.len);
	sqlite3_bind_int64(s, 25, (sqlite3_int64)r->nmalformed);
	sqlite3_bind_text(s, 26, ts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 27, ft_run_events_cut(r));
	sqlite3_bind_int64(s, 28, (sqlite3_int64)r->findings_cut);
	sqlite3_bind_int64(s, 29, (sqlite3_int64)r->ops_unjudged);
	if (r->cov.len)
		sqlite3_bind_blob(s, 30, r->cov.data, (int)r->cov.len, SQLITE_STATIC);
	rc = step_done(s);
	sqlite3_clear_bindings(s);
	if (rc < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int ft_store_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		 int64_t *run_id, char *err, size_t errlen)
{
	const char *scenario = r->scenario && *r->scenario ? r->scenario :
			       r->stream_scenario ? ft_arena_str(&r->strs, r->stream_scenario) : "";

	if (exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	if (delete_old_run(db, r, scenario) < 0 || save_build_cache(db, r->b) < 0 ||
	    insert_run(db, r, how, scenario, run_id) < 0 ||
	    insert_events(db, r, *run_id) < 0 || insert_ops(db, r, *run_id) < 0 ||
	    insert_findings(db, r, *run_id) < 0 || insert_malformed(db, r, *run_id) < 0) {
		db_err(db, err, errlen, "storing the run");
		goto out_rollback;
	}
	if (exec(db, "COMMIT", err, errlen) < 0)
		goto out_rollback;
	ft_build_commit(r->b);
	return 0;

out_rollback:
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	ft_build_rollback(r->b);
	return -1;
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
