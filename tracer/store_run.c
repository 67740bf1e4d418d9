/*
 * store_run.c - writing: sweeps, and one checked run (runs, events, ops, findings,
 * malformed, new stacks and frames) in one transaction with prepared statements.
 */
#include "store_db.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "checks.h"

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
		  "nevents,nmalformed,finished_at,events_cut,findings_cut,ops_unjudged,coverage,"
		  "in_full,fault_class,raw_log_z,guard)"
		  " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_STACK] = "INSERT INTO stacks(build,pcs) VALUES(?,?) ON CONFLICT DO NOTHING",
	[S_STACK_ID] = "SELECT id FROM stacks WHERE build=? AND pcs=?",
	[S_FRAME] = "INSERT INTO frames(build,pc,func,file,line) VALUES(?,?,?,?,?)"
		    " ON CONFLICT DO NOTHING",
	[S_FIND_RUN] = "SELECT id FROM runs WHERE build=? AND scenario=? AND exec_mode=? AND "
		       "fault_mode=? AND class_filter=? AND site=? AND site_lo=? AND site_hi=? "
		       "AND n=? AND guard=?",
	[S_DEL_EVENTS] = "DELETE FROM events WHERE run=?",
	[S_DEL_OPS] = "DELETE FROM ops WHERE run=?",
	[S_DEL_FINDINGS] = "DELETE FROM findings WHERE run=?",
	[S_DEL_MALFORMED] = "DELETE FROM malformed WHERE run=?",
	[S_DEL_RUN] = "DELETE FROM runs WHERE id=?",
	[S_RUN_DONE] = "SELECT fired, outcome FROM runs WHERE build=? AND scenario=? AND "
		       "exec_mode=? AND fault_mode=? AND class_filter=? AND site=? AND "
		       "site_lo=? AND site_hi=? AND n=? AND guard=?",
};

/* ---- sweeps and resume -------------------------------------------------------------- */

const char *store_nz(const char *s)
{
	return s ? s : "";
}

/* Parameters 1-8 of a sweeps statement: what identifies the sweep. */
static void bind_sweep_key(sqlite3_stmt *s, int64_t build, const struct ft_run_key *key,
			   const char *command)
{
	sqlite3_bind_int64(s, 1, build);
	sqlite3_bind_text(s, 2, store_nz(key->scenario), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, store_nz(key->exec_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, store_nz(key->fault_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, store_nz(key->class_filter), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, store_nz(key->site), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, store_nz(command), -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 8, key->guard);
}

int ft_db_sweep(struct ft_db *db, int64_t build, const struct ft_run_key *key,
		const char *command, int64_t *sweep_out)
{
	sqlite3_stmt *s;
	char ts[32];
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT id FROM sweeps WHERE build=? AND scenario=? AND "
			       "exec_mode=? AND fault_mode=? AND class_filter=? AND site=? AND "
			       "command=? AND guard=? ORDER BY id DESC LIMIT 1", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	bind_sweep_key(s, build, key, command);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*sweep_out = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	store_now_iso(ts, sizeof(ts));
	if (sqlite3_prepare_v2(db->h, "INSERT INTO sweeps(build,scenario,exec_mode,fault_mode,"
			       "class_filter,site,command,guard,started_at) "
			       "VALUES(?,?,?,?,?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return -1;
	bind_sweep_key(s, build, key, command);
	sqlite3_bind_text(s, 9, ts, -1, SQLITE_STATIC);
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

	store_now_iso(ts, sizeof(ts));
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

void store_bind_key(sqlite3_stmt *s, int64_t build, const char *scenario,
		     const struct ft_run_key *key)
{
	sqlite3_bind_int64(s, 1, build);
	sqlite3_bind_text(s, 2, store_nz(scenario), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, store_nz(key->exec_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, store_nz(key->fault_mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, store_nz(key->class_filter), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, store_nz(key->site), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)key->site_lo);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)key->site_hi);
	sqlite3_bind_int64(s, 9, key->n);
	sqlite3_bind_int(s, 10, key->guard);
}

/* A raw log, compressed: len bytes at data (NULL when not kept). */
struct blob {
	unsigned char *data;
	size_t len;
};

/* ---- writing a run ------------------------------------------------------------------ */

int store_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

void store_bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

void store_bind_i64(sqlite3_stmt *s, int i, int has, int64_t v)
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
		store_bind_text(s, 3, ft_build_sym_name(b, f->sym));
		store_bind_text(s, 4, ft_arena_str(&b->strs, f->file));
		store_bind_i64(s, 5, f->line != 0, f->line);
		if (store_step_done(s) < 0)
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
		if (store_step_done(s) < 0)
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
	const struct ft_run_key key = {
		.scenario = scenario, .exec_mode = r->exec_mode, .fault_mode = r->fault_mode,
		.class_filter = r->class_filter, .site = r->site, .site_lo = r->site_lo,
		.site_hi = r->site_hi, .n = r->n, .guard = r->guard };
	sqlite3_stmt *s = db->st[S_FIND_RUN];
	int64_t old = 0;
	int i;

	store_bind_key(s, r->b->id, scenario, &key);
	if (sqlite3_step(s) == SQLITE_ROW)
		old = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (!old)
		return 0;
	for (i = S_DEL_EVENTS; i <= S_DEL_RUN; i++) {
		sqlite3_bind_int64(db->st[i], 1, old);
		if (store_step_done(db->st[i]) < 0)
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

int store_run_prepare(struct ft_db *db, char *err, size_t errlen)
{
	int i;

	if (sqlite3_create_module_v2(db->h, "ft_run_events", &evtab_module, db, NULL) !=
	    SQLITE_OK)
		return store_err(db, err, errlen, "registering ft_run_events");
	for (i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(db->h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &db->st[i], NULL) != SQLITE_OK)
			return store_err(db, err, errlen, "preparing statements");
	return 0;
}

static int insert_events(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	sqlite3_stmt *s = db->st[S_EVENTS_FROM_RUN];
	int rc;

	db->storing = r;
	sqlite3_bind_int64(s, 1, run_id);
	rc = store_step_done(s);
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
		store_bind_i64(s, 3, o->parent != FT_NO_OP, o->parent);
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
		if (store_step_done(s) < 0)
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
		store_bind_text(s, 4, f->func);
		store_bind_i64(s, 5, f->has_pc, (sqlite3_int64)f->pc);
		store_bind_i64(s, 6, f->has_addr, (sqlite3_int64)f->addr);
		store_bind_i64(s, 7, f->has_size, f->size);
		bind_opt_stack(r->b, s, 8, f->alloc_stack);
		bind_opt_stack(r->b, s, 9, f->free_stack);
		bind_opt_stack(r->b, s, 10, f->bad_stack);
		store_bind_text(s, 11, ft_arena_str(&r->strs, f->op_name));
		sqlite3_bind_text(s, 12, ft_arena_str(&r->strs, f->message), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 13, evs, -1, SQLITE_TRANSIENT);
		if (store_step_done(s) < 0)
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
		if (store_step_done(s) < 0)
			return -1;
	}
	return 0;
}

/* The runs row; a run not stored in full has no raw_log (its file is not kept) and, when
 * logz is not NULL, its raw log compressed. */
static int insert_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		      const char *scenario, int in_full, const struct blob *logz,
		      int64_t *run_id)
{
	sqlite3_stmt *s = db->st[S_RUN];
	char ts[32];
	int rc;

	store_now_iso(ts, sizeof(ts));
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
		store_bind_text(s, 32, ft_class_name(f->cls));
	}
	store_bind_text(s, 20, r->infra_reason);
	if (how->exit_status != -1)
		sqlite3_bind_int(s, 21, how->exit_status);
	sqlite3_bind_double(s, 22, how->wall_ms);
	store_bind_text(s, 23, in_full ? how->raw_log : NULL);
	sqlite3_bind_int64(s, 24, (sqlite3_int64)r->events.len);
	sqlite3_bind_int64(s, 25, (sqlite3_int64)r->nmalformed);
	sqlite3_bind_text(s, 26, ts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 27, ft_run_events_cut(r));
	sqlite3_bind_int64(s, 28, (sqlite3_int64)r->findings_cut);
	sqlite3_bind_int64(s, 29, (sqlite3_int64)r->ops_unjudged);
	if (r->cov.len)
		sqlite3_bind_blob(s, 30, r->cov.data, (int)r->cov.len, SQLITE_STATIC);
	sqlite3_bind_int(s, 31, in_full);
	if (logz && logz->len)
		sqlite3_bind_blob(s, 33, logz->data, (int)logz->len, SQLITE_STATIC);
	sqlite3_bind_int(s, 34, r->guard);
	rc = store_step_done(s);
	sqlite3_clear_bindings(s);
	if (rc < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

/* A run worth its events: one with findings (stored or cut, or an outcome that is one), and
 * the reference run (fault mode none), against which the others are read. */
int ft_run_stored_in_full(const struct ft_run *r, enum ft_keep keep)
{
	return keep == FT_KEEP_FULL || r->findings.len || r->findings_cut ||
	       ft_outcome_is_finding(r->outcome) || !strcmp(r->fault_mode, "none");
}

/* len bytes at raw, zlib-compressed, in *z. 0, or -1. */
static int compress_bytes(const void *raw, size_t len, struct blob *z)
{
	uLongf zlen = compressBound(len);

	if (len >= INT_MAX / 2) /* sqlite takes a blob's size as an int */
		return -1;
	z->data = ft_xrealloc(NULL, zlen);
	if (compress2(z->data, &zlen, raw, len, Z_DEFAULT_COMPRESSION) != Z_OK)
		return -1;
	z->len = zlen;
	return 0;
}

/* The file at path, zlib-compressed, in *z. 0, or -1 (a log that cannot be read is not
 * kept: the run is stored without it). */
static int compress_file(const char *path, struct blob *z)
{
	unsigned char *raw = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int rc = -1;

	if (!path || !(f = fopen(path, "rb")))
		return -1;
	do {
		if (len == cap)
			raw = ft_xrealloc(raw, cap = cap ? 2 * cap : 65536);
		n = fread(raw + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (!ferror(f))
		rc = compress_bytes(raw, len, z);
	fclose(f);
	free(raw);
	return rc;
}

/* The records of a run stored in full: its events, ops and findings. 0 or -1. */
static int insert_detail(struct ft_db *db, struct ft_run *r, int64_t run_id)
{
	return insert_events(db, r, run_id) < 0 || insert_ops(db, r, run_id) < 0 ||
	       insert_findings(db, r, run_id) < 0 ? -1 : 0;
}

/* End the transaction begun to write r: COMMIT if everything was written, else ROLLBACK
 * with err naming what failed. 0, or -1. */
static int end_write(struct ft_db *db, struct ft_run *r, int written, const char *what,
		     char *err, size_t errlen)
{
	if (!written) {
		store_err(db, err, errlen, what);
	} else if (store_exec(db, "COMMIT", err, errlen) == 0) {
		ft_build_commit(r->b);
		return 0;
	}
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	ft_build_rollback(r->b);
	return -1;
}

/* Write the run in one transaction (replacing a stored run with the same key): its row,
 * and when in_full its events, ops and findings; its malformed lines always. 0 or -1. */
static int write_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		     int in_full, const struct blob *logz, int64_t *run_id, char *err,
		     size_t errlen)
{
	const char *scenario = r->scenario && *r->scenario ? r->scenario :
			       r->stream_scenario ? ft_arena_str(&r->strs, r->stream_scenario) : "";
	int written;

	if (store_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	written = delete_old_run(db, r, scenario) == 0 && save_build_cache(db, r->b) == 0 &&
		  insert_run(db, r, how, scenario, in_full, logz, run_id) == 0 &&
		  (!in_full || insert_detail(db, r, *run_id) == 0) &&
		  insert_malformed(db, r, *run_id) == 0;
	return end_write(db, r, written, "storing the run", err, errlen);
}

int ft_store_run(struct ft_db *db, struct ft_run *r, const struct ft_run_end *how,
		 int64_t *run_id, int *in_full, char *err, size_t errlen)
{
	int full = ft_run_stored_in_full(r, how->keep);
	struct blob logz = { NULL, 0 };
	int rc;

	if (!full && how->keep == FT_KEEP_LOGS) {
		if (how->raw)
			compress_bytes(how->raw, how->raw_len, &logz);
		else
			compress_file(how->raw_log, &logz);
	}
	rc = write_run(db, r, how, full, &logz, run_id, err, errlen);
	free(logz.data);
	if (rc == 0)
		*in_full = full;
	return rc;
}

/* ---- materializing a run stored without its events --------------------------------- */

#define LOG_MAX (1u << 30) /* a decompressed log larger than this is refused */

/* The zlib stream z (n bytes) inflated into *out (malloc'd, *outlen bytes). 0 or -1. */
static int inflate_log(const void *z, size_t n, unsigned char **out, size_t *outlen)
{
	z_stream s = { .next_in = (Bytef *)z, .avail_in = (uInt)n };
	unsigned char *buf = NULL;
	size_t cap = 0;
	int rc = Z_OK;

	if (inflateInit(&s) != Z_OK)
		return -1;
	while (rc == Z_OK && cap < LOG_MAX) {
		cap = cap ? 2 * cap : 4 * n + 65536;
		buf = ft_xrealloc(buf, cap);
		s.next_out = buf + s.total_out;
		s.avail_out = (uInt)(cap - s.total_out);
		rc = inflate(&s, Z_FINISH);
		if (rc == Z_BUF_ERROR && s.avail_out == 0)
			rc = Z_OK; /* more room needed */
	}
	*outlen = s.total_out;
	inflateEnd(&s);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

static int mark_in_full(struct ft_db *db, int64_t run_id)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db->h, "UPDATE runs SET in_full = 1 WHERE id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	rc = store_step_done(s);
	sqlite3_finalize(s);
	return rc;
}

/* Store the events, ops and findings of r under the stored row run_id, and mark it in
 * full, in one transaction. 0 or -1. */
static int write_detail(struct ft_db *db, struct ft_run *r, int64_t run_id, char *err,
			size_t errlen)
{
	sqlite3_stmt *s = db->st[S_DEL_MALFORMED];
	int written;

	if (store_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, run_id);
	written = store_step_done(s) == 0 && save_build_cache(db, r->b) == 0 &&
		  insert_detail(db, r, run_id) == 0 && insert_malformed(db, r, run_id) == 0 &&
		  mark_in_full(db, run_id) == 0;
	return end_write(db, r, written, "materializing the run", err, errlen);
}

/* A stored run's key and compressed log, as ft_store_materialize() needs them. */
struct lazy_run {
	int64_t build, sweep;
	struct ft_run_key key;
	int in_full;
	int infra;              /* its outcome: infra (the host lost the channel) */
	unsigned char *log;
	size_t loglen;
};

/* Read run_id's row into *l (its texts point into s: keep s until done). 0, or -1 with err. */
static int read_lazy_run(sqlite3_stmt *s, int64_t run_id, struct lazy_run *l, char *err,
			 size_t errlen)
{
	sqlite3_bind_int64(s, 1, run_id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		ft_set_err(err, errlen, "no run with id %" PRId64, run_id);
		return -1;
	}
	l->build = sqlite3_column_int64(s, 0);
	l->sweep = sqlite3_column_int64(s, 1);
	l->key.scenario = (const char *)sqlite3_column_text(s, 2);
	l->key.exec_mode = (const char *)sqlite3_column_text(s, 3);
	l->key.fault_mode = (const char *)sqlite3_column_text(s, 4);
	l->key.class_filter = (const char *)sqlite3_column_text(s, 5);
	l->key.site = (const char *)sqlite3_column_text(s, 6);
	l->key.site_lo = (uint64_t)sqlite3_column_int64(s, 7);
	l->key.site_hi = (uint64_t)sqlite3_column_int64(s, 8);
	l->key.n = (long)sqlite3_column_int64(s, 9);
	l->key.guard = sqlite3_column_int(s, 13);
	l->in_full = sqlite3_column_int(s, 10);
	l->infra = ft_outcome_of((const char *)sqlite3_column_text(s, 12)) == FT_INFRA;
	if (l->in_full)
		return 0;
	if (sqlite3_column_type(s, 11) != SQLITE_BLOB) {
		ft_set_err(err, errlen, "run %" PRId64 " was stored without its log (a sweep "
			   "with --keep-logs all keeps it)", run_id);
		return -1;
	}
	if (inflate_log(sqlite3_column_blob(s, 11), (size_t)sqlite3_column_bytes(s, 11),
			&l->log, &l->loglen) < 0) {
		ft_set_err(err, errlen, "run %" PRId64 ": its stored log is not a valid zlib "
			   "stream", run_id);
		return -1;
	}
	return 0;
}

int ft_store_materialize(struct ft_db *db, int64_t run_id, char *err, size_t errlen)
{
	struct lazy_run l = { 0 };
	struct ft_run_end how = { .exit_status = -1 };
	struct ft_run *r;
	sqlite3_stmt *s;
	int rc = -1;

	if (sqlite3_prepare_v2(db->h, "SELECT build, sweep, scenario, exec_mode, fault_mode, "
			       "class_filter, site, site_lo, site_hi, n, in_full, raw_log_z, outcome, "
			       "guard FROM runs WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
		return store_err(db, err, errlen, "reading the run");
	if (read_lazy_run(s, run_id, &l, err, errlen) < 0)
		goto out_finalize;
	if (l.in_full) {
		rc = 0; /* its events are stored already */
		goto out_finalize;
	}
	r = ft_run_begin(db, l.build, l.sweep, &l.key);
	if (!r) {
		ft_set_err(err, errlen, "run %" PRId64 ": its build is not in the database",
			   run_id);
		goto out_finalize;
	}
	sqlite3_reset(s); /* the row is read: no statement in progress while writing */
	ft_run_feed(r, (const char *)l.log, l.loglen);
	/* judged as it ended when swept: a run not in full ended normally, or was lost */
	how.how = l.infra ? FT_END_LOST : FT_END_EXITED;
	ft_run_check(r, &how, NULL);
	rc = write_detail(db, r, run_id, err, errlen);
	ft_run_abandon(r);
out_finalize:
	sqlite3_finalize(s);
	free(l.log);
	return rc;
}
