/* run.c - collecting one run: console bytes -> accepted events (the ft_run_* API). */
#include "run.h"

#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "covmap.h"
#include "store.h"

struct ft_run *ft_run_begin(struct ft_db *db, int64_t build, int64_t sweep,
			    const struct ft_run_key *key)
{
	struct ft_build *b = ft_store_build(db, build, NULL, 0);
	struct ft_run *r;

	if (!b || !key)
		return NULL;
	r = ft_xrealloc(NULL, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->b = b;
	r->sweep = sweep;
	r->scenario = ft_xstrdup(key->scenario);
	r->exec_mode = ft_xstrdup(key->exec_mode);
	r->fault_mode = ft_xstrdup(key->fault_mode);
	r->class_filter = ft_xstrdup(key->class_filter);
	r->site = ft_xstrdup(key->site);
	r->site_lo = key->site_lo;
	r->site_hi = key->site_hi;
	r->n = key->n;
	r->guard = key->guard;
	ft_lines_init(&r->lines);
	r->first_fault = r->panic_ev = r->trap_ev = r->end_ev = r->first_err = FT_NONE;
	r->ckpt_ev[0] = r->ckpt_ev[1] = FT_NONE;
	ft_vec_init(&r->events, sizeof(struct ft_event));
	ft_arena_init(&r->strs);
	ft_vec_init(&r->ops, sizeof(struct ft_op));
	ft_map_init(&r->ctx_top);
	ft_map_init(&r->op_by_id);
	ft_vec_init(&r->bad, sizeof(struct ft_malformed));
	ft_vec_init(&r->findings, sizeof(struct ft_finding));
	ft_vec_init(&r->cov, 1);
	r->outcome = FT_INFRA;
	return r;
}

void ft_run_abandon(struct ft_run *r)
{
	if (!r)
		return;
	free(r->scenario);
	free(r->exec_mode);
	free(r->fault_mode);
	free(r->class_filter);
	free(r->site);
	ft_vec_free(&r->events);
	ft_arena_free(&r->strs);
	ft_vec_free(&r->ops);
	ft_map_free(&r->ctx_top);
	ft_map_free(&r->op_by_id);
	ft_vec_free(&r->bad);
	ft_vec_free(&r->findings);
	ft_vec_free(&r->cov);
	free(r);
}

static void malformed(struct ft_run *r, const char *reason, const char *line, size_t len)
{
	struct ft_malformed *m;
	char esc[FT_LINE_MAX * 4 + 1];
	size_t n;

	r->nmalformed++;
	if (r->bad.len >= FT_MALFORMED_KEEP)
		return;
	m = ft_vec_push(&r->bad);
	m->lineno = r->lineno;
	m->reason = reason;
	n = ft_escape(esc, sizeof(esc), line, len);
	m->text = ft_arena_add(&r->strs, esc, n);
}

static uint32_t add_str(struct ft_run *r, struct ft_str s)
{
	return s.p ? ft_arena_add(&r->strs, s.p, s.n) : 0;
}

static struct ft_op *op_at(struct ft_run *r, uint32_t i)
{
	return FT_VEC_AT(&r->ops, struct ft_op, i);
}

/* An op is open from its op+ until its own op- or an enclosing op's in the same context. */
static int op_open(struct ft_run *r, int64_t id)
{
	uint32_t *oi = ft_map_get(&r->op_by_id, (uint64_t)id, 0);

	return oi && op_at(r, *oi)->open && op_at(r, *oi)->ctx == r->ctx;
}

static uint32_t ctx_top(const struct ft_run *r, int64_t ctx)
{
	uint32_t *oi = ft_map_get(&r->ctx_top, (uint64_t)ctx, 0);

	return oi ? *oi : FT_NONE;
}

uint32_t ft_run_innermost(const struct ft_run *r, int64_t ctx)
{
	uint32_t oi = ctx_top(r, ctx);

	return oi == FT_NONE && ctx != 0 ? ctx_top(r, 0) : oi;
}

static void set_ctx_top(struct ft_run *r, int64_t ctx, uint32_t oi)
{
	if (oi == FT_NONE)
		ft_map_del(&r->ctx_top, (uint64_t)ctx, 0);
	else
		ft_map_put(&r->ctx_top, (uint64_t)ctx, 0, oi);
}

static void op_begin(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
		     uint32_t idx)
{
	uint32_t up = ctx_top(r, r->ctx), in = ft_run_innermost(r, r->ctx);
	struct ft_op *o = ft_vec_push(&r->ops);

	o->id = rec->id;
	o->parent = in == FT_NONE ? FT_NO_OP : op_at(r, in)->id;
	o->ctx = r->ctx;
	o->pc = rec->pc;
	o->name = e->name;
	o->begin = idx;
	o->end = FT_NONE;
	o->depth = in == FT_NONE ? 0 : op_at(r, in)->depth + 1;
	o->up = up;
	o->open = 1;
	ft_map_put(&r->op_by_id, (uint64_t)rec->id, 0, (uint32_t)(r->ops.len - 1));
	set_ctx_top(r, r->ctx, (uint32_t)(r->ops.len - 1));
}

/* ops nest: closing one closes every op still open inside it in its context */
static void op_end(struct ft_run *r, uint32_t oi)
{
	uint32_t k = ctx_top(r, r->ctx);

	for (; k != oi; k = op_at(r, k)->up)
		op_at(r, k)->open = 0;
	op_at(r, oi)->open = 0;
	set_ctx_top(r, r->ctx, op_at(r, oi)->up);
}

/* The semantic checks a record must pass to be accepted; NULL or why it is out of place. */
static const char *out_of_place(struct ft_run *r, const struct ft_rec *rec)
{
	if (rec->kind == FT_K_HELLO && r->saw_hello)
		return "second hello in one run";
	if (r->saw_end && rec->kind != FT_K_OK && rec->kind != FT_K_ERR &&
	    rec->kind != FT_K_LOG)
		return "record after end";
	if (rec->kind == FT_K_OPBEGIN && ft_map_get(&r->op_by_id, (uint64_t)rec->id, 0))
		return "op+ reuses an op id";
	if (rec->kind == FT_K_OPEND && !op_open(r, rec->id))
		return "op- for an op that is not open";
	if (rec->kind == FT_K_MODEL && r->saw_run)
		return "model after run";
	if (rec->kind == FT_K_CKPT && r->has_ckpt[rec->sub])
		return "repeated checkpoint";
	if (rec->kind == FT_K_RESULT && r->has_result)
		return "repeated result";
	return NULL;
}

/* rec's event with the fields every kind carries; its stack and pc made known to the build. */
static struct ft_event *push_event(struct ft_run *r, const struct ft_rec *rec)
{
	struct ft_event *e = ft_vec_push(&r->events);
	uint32_t in = ft_run_innermost(r, r->ctx);

	e->kind = (uint8_t)rec->kind;
	e->cls = (uint8_t)rec->cls;
	e->sub = (uint8_t)rec->sub;
	e->addr = rec->addr;
	e->size = rec->size;
	e->pc = rec->pc;
	e->rc = rec->rc;
	e->op = in == FT_NONE ? FT_NO_OP : op_at(r, in)->id;
	if (rec->bt.p)
		e->stack = ft_build_stack(r->b, rec);
	if (rec->pc && (!rec->npcs || rec->pcs[0] != rec->pc))
		ft_build_frame(r->b, rec->pc);
	return e;
}

/*
 * accept_<kind>: what a record of that kind adds to its event beyond push_event's fields, and
 * what it tells about the run (idx: the event's index).
 */
static void accept_hello(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec)
{
	char text[160];
	int n;

	r->saw_hello = 1;
	r->version = rec->rc;
	snprintf(r->hello_build, sizeof(r->hello_build), "%.*s", (int)rec->name.n, rec->name.p);
	e->name = add_str(r, (struct ft_str){ "faultline", 9 });
	/* text: "<version> <build-id>" as on the wire */
	n = snprintf(text, sizeof(text), "%lld %s", (long long)rec->rc, r->hello_build);
	e->text = ft_arena_add(&r->strs, text, (size_t)n < sizeof(text) ?
			       (size_t)n : sizeof(text) - 1);
}

static void accept_run(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec)
{
	r->saw_run = 1;
	r->ctx = 0;
	memset(r->stk, 0, sizeof(r->stk)); /* stack ids are a run's own */
	e->name = add_str(r, rec->name);
	if (!r->stream_scenario)
		r->stream_scenario = e->name;
}

static void accept_op_begin(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
			    uint32_t idx)
{
	e->kseq = rec->id;
	e->op = rec->id;
	e->name = add_str(r, rec->name);
	op_begin(r, e, rec, idx);
}

static void accept_op_end(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
			  uint32_t idx)
{
	uint32_t oi = *ft_map_get(&r->op_by_id, (uint64_t)rec->id, 0);
	struct ft_op *o = op_at(r, oi);

	e->kseq = rec->id;
	e->op = rec->id;
	o->end = idx;
	o->rc = rec->rc;
	op_end(r, oi);
}

/* A ref event's name: "<verb> <kind>", the two tokens as they sit on the wire. */
static struct ft_str ref_words(const struct ft_rec *rec)
{
	return (struct ft_str){ rec->text.p, (size_t)(rec->name.p + rec->name.n - rec->text.p) };
}

static void accept_ckpt(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
			uint32_t idx)
{
	r->has_ckpt[rec->sub] = 1;
	memcpy(r->ckpt[rec->sub], rec->num, sizeof(rec->num));
	r->ckpt_ev[rec->sub] = idx;
	e->name = add_str(r, rec->name);
	e->text = add_str(r, rec->text);
}

static void accept_result(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec)
{
	r->has_result = 1;
	r->result_rc = rec->rc;
	e->name = add_str(r, rec->name);
}

static void accept_panic(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
			 uint32_t idx)
{
	if (r->panic_ev == FT_NONE)
		r->panic_ev = idx;
	e->name = add_str(r, rec->name);
	e->text = add_str(r, rec->text);
}

static void accept_trap(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
			uint32_t idx)
{
	if (r->trap_ev == FT_NONE)
		r->trap_ev = idx;
	e->size = rec->num[0]; /* scause */
	e->text = add_str(r, rec->text);
}

static void accept_end(struct ft_run *r, struct ft_event *e, const struct ft_rec *rec,
		       uint32_t idx)
{
	r->saw_end = 1;
	r->end_ev = idx;
	r->end_fired = rec->num[0];
	r->end_attempts = rec->num[1];
	r->end_faults = rec->num[2];
	e->rc = rec->num[0];
	e->text = add_str(r, rec->text);
}

/* An accepted record: its event appended, and what it says about the run noted. */
static void accept(struct ft_run *r, const struct ft_rec *rec)
{
	uint32_t idx = (uint32_t)r->events.len;
	struct ft_event *e = push_event(r, rec);

	switch (rec->kind) {
	case FT_K_FAULT:
		if (r->first_fault == FT_NONE)
			r->first_fault = idx;
		/* fall through */
	case FT_K_ALLOC:
	case FT_K_FREE:
	case FT_K_BADFREE:
	case FT_K_OOM:
		e->kseq = rec->kseq;
		e->has_kseq = 1;
		break;
	case FT_K_HELLO:
		accept_hello(r, e, rec);
		break;
	case FT_K_RUN:
		accept_run(r, e, rec);
		break;
	case FT_K_OPBEGIN:
		accept_op_begin(r, e, rec, idx);
		break;
	case FT_K_OPEND:
		accept_op_end(r, e, rec, idx);
		break;
	case FT_K_REF:
		e->name = add_str(r, ref_words(rec));
		break;
	case FT_K_CKPT:
		accept_ckpt(r, e, rec, idx);
		break;
	case FT_K_RESULT:
		accept_result(r, e, rec);
		break;
	case FT_K_PANIC:
		accept_panic(r, e, rec, idx);
		break;
	case FT_K_TRAP:
		accept_trap(r, e, rec, idx);
		break;
	case FT_K_END:
		accept_end(r, e, rec, idx);
		break;
	case FT_K_ERR:
		if (r->first_err == FT_NONE)
			r->first_err = idx;
		/* fall through */
	case FT_K_OK:
		e->name = add_str(r, rec->name);
		e->text = add_str(r, rec->text);
		break;
	case FT_K_LOG:
		e->text = add_str(r, rec->text);
		break;
	case FT_K_STATE:
	case FT_K_ACQ:
	case FT_K_REL:
		e->name = add_str(r, rec->name);
		break;
	default:
		break;
	}
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * A cov record: every set bit must name one of the build's coverage points, else the whole
 * record is malformed (NULL: applied). Two passes, so a rejected record marks nothing. A
 * build without points (no ELF, or built without coverage) takes the record and keeps none.
 */
static const char *cov_apply(struct ft_run *r, const struct ft_rec *rec)
{
	const struct ft_vec *pts = &r->b->cov_points;
	int pass;
	size_t i;

	if (!pts->len)
		return NULL;
	while (r->cov.len < (pts->len + 7) / 8)
		*(uint8_t *)ft_vec_push(&r->cov) = 0;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < rec->text.n * 4; i++) {
			int byte = hexval(rec->text.p[i / 8 * 2]) << 4 |
				   hexval(rec->text.p[i / 8 * 2 + 1]);
			int64_t p;

			if (!(byte >> (i % 8) & 1))
				continue;
			p = ft_cov_point_at(pts, rec->pc + 2 * i);
			if (p < 0)
				return "cov: no coverage point at a marked slot";
			if (pass)
				*FT_VEC_AT(&r->cov, uint8_t, p / 8) |= (uint8_t)(1u << (p % 8));
		}
	return NULL;
}

/* A stk record: the stack its id names from now on in this run (NULL), or why not. */
static const char *stk_define(struct ft_run *r, const struct ft_rec *rec)
{
	if (r->stk[rec->stk])
		return "stk: id already defined";
	r->stk[rec->stk] = ft_build_stack(r->b, rec);
	return NULL;
}

/* A backtrace "@<id>" becomes the frames (and token) its stk record gave (NULL), or why not. */
static const char *stk_expand(struct ft_run *r, struct ft_rec *rec)
{
	const struct ft_stack *s;

	if (!r->stk[rec->stk])
		return "backtrace names an undefined stack id";
	s = FT_VEC_AT(&r->b->stacks, struct ft_stack, r->stk[rec->stk] - 1);
	memcpy(rec->pcs, s->pcs, sizeof(rec->pcs));
	rec->npcs = s->n;
	rec->bt.p = ft_arena_str(&r->b->strs, s->str);
	rec->bt.n = strlen(rec->bt.p);
	return NULL;
}

static int on_line(void *ctx, const struct ft_line *l)
{
	struct ft_run *r = ctx;
	const struct ft_rec *rec = l->rec;
	struct ft_rec expanded;   /* rec with its "@<id>" backtrace expanded */
	const char *why;

	r->lineno++;
	if (l->bad) {
		malformed(r, l->bad, l->p, l->n);
		return 0;
	}
	if (!rec) {
		malformed(r, r->saw_hello ? l->why : "before hello", l->p, l->n);
		return 0;
	}
	if (!r->saw_hello && rec->kind != FT_K_HELLO) {
		malformed(r, "before hello", l->p, l->n);
		return 0;
	}
	why = out_of_place(r, rec);
	if (!why && rec->kind == FT_K_STK) {
		why = stk_define(r, rec);
		if (!why)
			return 0;
	}
	if (!why && rec->stk_ref) {
		expanded = *rec;
		why = stk_expand(r, &expanded);
		rec = &expanded;
	}
	if (!why && rec->kind == FT_K_CTX) {
		r->ctx = rec->id;
		return 0;
	}
	if (!why && rec->kind == FT_K_MODEL) {
		r->after_boot = rec->sub == FT_MODEL_AFTER_BOOT;
		return 0;
	}
	if (!why && rec->kind == FT_K_COV) {
		why = cov_apply(r, rec);
		if (!why)
			return 0;
	}
	if (why) {
		malformed(r, why, l->p, l->n);
		return 0;
	}
	accept(r, rec);
	return r->to_end && rec->kind == FT_K_END;
}

void ft_run_feed(struct ft_run *r, const char *buf, size_t len)
{
	if (r && buf && len)
		ft_records_feed(&r->lines, buf, len, on_line, r);
}

size_t ft_run_feed_until_end(struct ft_run *r, const char *buf, size_t len)
{
	size_t took;

	if (!r || !buf || !len || r->saw_end)
		return 0;
	r->to_end = 1;
	took = ft_records_feed(&r->lines, buf, len, on_line, r);
	r->to_end = 0;
	return took;
}

int ft_run_refusal(const struct ft_run *r, char *buf, size_t len)
{
	const struct ft_event *e;

	if (!r || r->first_err == FT_NONE)
		return 0;
	e = ft_run_ev(r, r->first_err);
	if (buf && len)
		snprintf(buf, len, "%s %s %s", ft_kind_name(FT_K_ERR),
			 ft_arena_str(&r->strs, e->name), ft_arena_str(&r->strs, e->text));
	return 1;
}

void ft_run_attempts(const struct ft_run *r, ft_attempt_fn fn, void *ctx)
{
	for (uint32_t i = 0; r && i < r->events.len; i++) {
		const struct ft_event *e = ft_run_ev(r, i);

		if (e->kind == FT_K_ALLOC || e->kind == FT_K_OOM)
			fn(ctx, ft_class_name(e->cls), e->pc);
	}
}

int ft_run_saw_end(const struct ft_run *r)
{
	return r && r->saw_end;
}

int ft_run_saw_hello(const struct ft_run *r, char *buf, size_t len)
{
	if (!r || !r->saw_hello)
		return 0;
	if (buf && len)
		snprintf(buf, len, "%s", r->hello_build);
	return 1;
}

static const struct ft_run_end default_end = { .how = FT_END_EXITED, .exit_status = -1 };

static void fill_result(const struct ft_run *r, struct ft_run_result *res)
{
	memset(res, 0, sizeof(*res));
	res->outcome = r->outcome;
	res->fired = r->saw_end ? (int)r->end_fired : 0;
	res->ended = r->saw_end;
	res->attempts = r->saw_end ? (long)r->end_attempts : 0;
	res->nfindings = (long)r->findings.len;
	res->nevents = (long)r->events.len;
	res->nmalformed = (long)r->nmalformed;
	if (r->first_fault != FT_NONE) {
		const struct ft_event *f = ft_run_ev(r, r->first_fault);
		const char *fn = ft_build_sym_name(r->b, ft_build_func_ret(r->b, f->pc));

		res->fault_pc = f->pc;
		snprintf(res->fault_func, sizeof(res->fault_func), "%s", fn ? fn : "");
	}
}

void ft_run_check(struct ft_run *r, const struct ft_run_end *how, struct ft_run_result *res)
{
	if (!how)
		how = &default_end;
	if (!r->judged) {
		ft_records_finish(&r->lines, on_line, r);
		ft_check_run(r, how);
		r->judged = 1;
	}
	if (res)
		fill_result(r, res);
}

int ft_run_finish(struct ft_run *r, const struct ft_run_end *how, struct ft_run_result *res,
		  char *err, size_t errlen)
{
	int64_t run_id = 0;
	int rc, in_full = 0;

	if (!r) {
		ft_set_err(err, errlen, "no run");
		return -1;
	}
	if (!how)
		how = &default_end;
	if (!r->judged)
		ft_run_check(r, how, NULL);
	rc = ft_store_run(r->db, r, how, &run_id, &in_full, err, errlen);
	if (res) {
		fill_result(r, res);
		res->run_id = rc == 0 ? run_id : 0;
		res->in_full = in_full;
	}
	ft_run_abandon(r);
	return rc;
}
