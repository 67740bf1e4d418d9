/*
 * checks.c - the per-run checks. One pass over the run's events in stream order keeps the
 * host's own accounting (live objects, freed objects, refcounts) and judges each record as
 * it comes; the end checkpoint (or the end of a finished stream) closes the books.
 * docs/schema.md describes every finding class and the outcome mapping.
 *
 * Judging is linear in the records: each open op keeps the list of objects it holds, so a
 * failed op- reports them without rescanning the op; only the order check reads an op's
 * records again, for failed ops nested at most FT_OP_DEPTH_MAX deep. The bounds of run.h
 * cap what is kept; the excess is counted in the run.
 */
#include "checks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum ft_outcome ft_outcome_of(const char *s)
{
	int o;

	for (o = 0; o < FT_NOUTCOME; o++)
		if (s && strcmp(s, outcome_names[o]) == 0)
			return (enum ft_outcome)o;
	return FT_INFRA;
}

static const char *const fclass_names[FT_F_COUNT] = {
	[FT_F_LEAK] = "leak", [FT_F_DOUBLE_FREE] = "double-free",
	[FT_F_INVALID_FREE] = "invalid-free", [FT_F_MISMATCHED_FREE] = "mismatched-free",
	[FT_F_UNBALANCED_UNWIND] = "unbalanced-unwind", [FT_F_UNWIND_ORDER] = "unwind-order",
	[FT_F_REFCOUNT] = "refcount", [FT_F_ACCOUNTING] = "accounting",
	[FT_F_PANIC] = "panic", [FT_F_CRASH] = "crash", [FT_F_HANG] = "hang",
	[FT_F_ERROR_SWALLOWED] = "error-swallowed",
	[FT_F_NOT_ATOMIC] = "not-atomic",
	[FT_F_RESOURCE_LEAK] = "resource-leak", [FT_F_DOUBLE_RELEASE] = "double-release",
	[FT_F_INVALID_RELEASE] = "invalid-release",
	[FT_F_USE_AFTER_FREE] = "use-after-free",
};

const char *ft_fclass_name(enum ft_fclass c)
{
	return (unsigned)c < FT_F_COUNT ? fclass_names[c] : "?";
}

struct refstate {
	uint64_t obj;
	int64_t count;
	uint32_t first_ev, last_ev;
	int reported;
};

/* An op between its op+ and its op- (or the op- of an op around it in its context). */
struct open_op {
	uint32_t op;            /* index in r->ops */
	uint32_t fault;         /* first fault or oom inside it, FT_NONE */
	uint8_t open;
};

struct ck {
	struct ft_run *r;
	struct ft_build *b;
	struct ft_map live;     /* (addr, class) -> alloc event */
	struct ft_map freed;    /* (addr, class) -> last free event, while not reallocated */
	struct ft_map held;     /* (resource id, kind hash) -> acq event */
	struct ft_map released; /* (resource id, kind hash) -> last rel event, until acquired */
	uint32_t *pair;         /* alloc event <-> its free, acq event <-> its rel */
	struct ft_map refs;     /* (obj, 0) -> index in refst */
	struct ft_vec refst;    /* struct refstate */
	struct ft_map flagged;  /* (free event, 1): reported as out of order */
	struct open_op *open;   /* per op index */
	struct ft_map ctx_top;  /* (ctx, 0) -> op index of the context's innermost open op */
	/*
	 * What each open op holds: the objects allocated inside it, or inside an op it
	 * enclosed that returned, still live and not yet reported, and likewise the resources
	 * it acquired and still holds. Circular doubly linked lists: node i is alloc (or acq)
	 * event i, node nevents + k heads the list of r->ops[k].
	 */
	uint32_t *next, *prev;
	uint32_t *acq;          /* alloc event -> acquisition step, within one failed op */
	struct ft_vec judged;   /* uint32_t: the records the order check reads, per failed op */
	struct ft_vec steps;    /* struct undo_step, per failed op */
	struct ft_vec recovers; /* uint32_t: the recover events, in stream order */
	struct ft_vec promises; /* struct promise, innermost last */
	int64_t live_n[3];
	int closed;             /* the books were closed (end checkpoint or end) */
	int guard;              /* the kernel answered `ok guard`: freed memory is unmapped */
	uint32_t block_lookups; /* freed_block_at scans left (each reads every freed block) */
	size_t kept;            /* findings kept under FT_FINDINGS_MAX */
	uint64_t cut[FT_F_COUNT]; /* findings found but not kept, per class */
	struct ft_finding spare; /* a finding that is not kept is written here */
};

/* ---- helpers ------------------------------------------------------------------------ */

static struct ft_finding *finding(struct ck *c, enum ft_fclass cls, uint32_t order,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int is_warning(enum ft_fclass cls)
{
	return cls == FT_F_UNWIND_ORDER || cls == FT_F_ACCOUNTING;
}

/* The classes a run has at most one of (its ending, the accounting): never cut. */
static int once_per_run(enum ft_fclass cls)
{
	return cls == FT_F_PANIC || cls == FT_F_CRASH || cls == FT_F_HANG ||
	       cls == FT_F_ACCOUNTING || cls == FT_F_ERROR_SWALLOWED;
}

static void cut(struct ck *c, enum ft_fclass cls)
{
	c->cut[cls]++;
	c->r->findings_cut++;
}

/* A new finding, kept in the run; past FT_FINDINGS_MAX a scratch one, counted as cut. */
static struct ft_finding *finding(struct ck *c, enum ft_fclass cls, uint32_t order,
				  const char *fmt, ...)
{
	struct ft_finding *f;
	char msg[1024];
	va_list ap;
	int n;

	if (!once_per_run(cls) && c->kept >= FT_FINDINGS_MAX) {
		cut(c, cls);
		memset(&c->spare, 0, sizeof(c->spare));
		return &c->spare;
	}
	c->kept += !once_per_run(cls);
	f = ft_vec_push(&c->r->findings);
	f->cls = cls;
	f->warning = is_warning(cls);
	f->order = order;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	f->message = ft_arena_add(&c->r->strs, msg, (size_t)n < sizeof(msg) ?
				  (size_t)n : sizeof(msg) - 1);
	return f;
}

static void fev(struct ft_finding *f, uint32_t ev)
{
	int i;

	if (ev == FT_NONE)
		return;
	for (i = 0; i < f->nev; i++)
		if (f->ev[i] == ev)
			return;
	if (f->nev < FT_FEV_MAX)
		f->ev[f->nev++] = ev;
}

static const char *func_name(struct ck *c, uint64_t pc)
{
	return ft_build_sym_name(c->b, ft_build_func_ret(c->b, pc));
}

/* "func+0x1c" or the bare hex pc when unknown. */
static const char *where(struct ck *c, uint64_t pc, char *buf, size_t len)
{
	const struct ft_sym *s = ft_build_func_ret(c->b, pc);

	if (s)
		snprintf(buf, len, "%s+0x%" PRIx64, ft_build_sym_name(c->b, s), pc - s->lo);
	else
		snprintf(buf, len, "%" PRIx64, pc);
	return buf;
}

static struct ft_event *ev(struct ck *c, uint32_t i)
{
	return ft_run_ev(c->r, i);
}

/* How a finding names the point where the books closed (event at). */
static const char *end_name(struct ck *c, uint32_t at)
{
	return ev(c, at)->kind == FT_K_CKPT ? "end checkpoint" : "end of the run";
}

static void site(struct ck *c, struct ft_finding *f, uint64_t pc)
{
	f->pc = pc;
	f->has_pc = 1;
	f->func = func_name(c, pc);
}

static void object(struct ft_finding *f, uint64_t addr, int64_t size, int has_size)
{
	f->addr = addr;
	f->has_addr = 1;
	f->size = size;
	f->has_size = (uint8_t)has_size;
}

static const struct ft_op *op_of(struct ck *c, int64_t op_id)
{
	uint32_t *oi = op_id == FT_NO_OP ? NULL : ft_map_get(&c->r->op_by_id, (uint64_t)op_id, 0);

	return oi ? FT_VEC_AT(&c->r->ops, struct ft_op, *oi) : NULL;
}

static const char *op_name_of(struct ck *c, int64_t op_id)
{
	const struct ft_op *o = op_of(c, op_id);

	return o ? ft_arena_str(&c->r->strs, o->name) : NULL;
}

static void set_op(struct ck *c, struct ft_finding *f, int64_t op_id)
{
	const struct ft_op *o = op_of(c, op_id);

	if (o)
		f->op_name = o->name;
}

/* ---- open ops and the objects they hold ------------------------------------------- */

static uint32_t op_head(struct ck *c, uint32_t op)
{
	return (uint32_t)c->r->events.len + op;
}

static void node_unlink(struct ck *c, uint32_t x)
{
	c->next[c->prev[x]] = c->next[x];
	c->prev[c->next[x]] = c->prev[x];
	c->next[x] = c->prev[x] = x;
}

static void node_append(struct ck *c, uint32_t head, uint32_t x)
{
	uint32_t last = c->prev[head];

	c->next[last] = x;
	c->prev[x] = last;
	c->next[x] = head;
	c->prev[head] = x;
}

/* Move every node of from's list to the end of to's (stream order is kept: from's
 * objects were all allocated after to's and before any later one). */
static void list_move_tail(struct ck *c, uint32_t from, uint32_t to)
{
	uint32_t first = c->next[from], last = c->prev[from], tail = c->prev[to];

	if (first == from)
		return;
	c->next[tail] = first;
	c->prev[first] = tail;
	c->next[last] = to;
	c->prev[to] = last;
	c->next[from] = c->prev[from] = from;
}

/* The open op an event belongs to (the innermost of its context, run.h), NULL if none. */
static struct open_op *open_op_of(struct ck *c, int64_t op_id)
{
	uint32_t *oi = op_id == FT_NO_OP ? NULL : ft_map_get(&c->r->op_by_id, (uint64_t)op_id, 0);

	return oi && c->open[*oi].open ? &c->open[*oi] : NULL;
}

static uint32_t ctx_top(struct ck *c, int64_t ctx)
{
	uint32_t *oi = ft_map_get(&c->ctx_top, (uint64_t)ctx, 0);

	return oi ? *oi : FT_NONE;
}

static void on_op_begin(struct ck *c, uint32_t i)
{
	uint32_t oi = *ft_map_get(&c->r->op_by_id, (uint64_t)ev(c, i)->kseq, 0);

	c->open[oi] = (struct open_op){ .op = oi, .fault = FT_NONE, .open = 1 };
	ft_map_put(&c->ctx_top, (uint64_t)FT_VEC_AT(&c->r->ops, struct ft_op, oi)->ctx, 0, oi);
}

static void on_fault(struct ck *c, uint32_t i)
{
	struct open_op *o = open_op_of(c, ev(c, i)->op);

	if (o && o->fault == FT_NONE)
		o->fault = i;
}

/* Close the innermost open op of its context: what it still holds, and its fault, pass to
 * its parent while that is open (outside every op, objects are no op's to release). */
static void pop_op(struct ck *c, uint32_t oi)
{
	const struct ft_op *o = FT_VEC_AT(&c->r->ops, struct ft_op, oi);
	struct open_op *in = &c->open[oi], *out = open_op_of(c, o->parent);

	in->open = 0;
	if (o->up == FT_NONE)
		ft_map_del(&c->ctx_top, (uint64_t)o->ctx, 0);
	else
		ft_map_put(&c->ctx_top, (uint64_t)o->ctx, 0, o->up);
	if (!out)
		return;
	list_move_tail(c, op_head(c, in->op), op_head(c, out->op));
	if (out->fault == FT_NONE)
		out->fault = in->fault;
}

/* Where an allocation or acquisition at event i is held: its op's list, if any. */
static void hold(struct ck *c, uint32_t i)
{
	struct open_op *o = open_op_of(c, ev(c, i)->op);

	if (o)
		node_append(c, op_head(c, o->op), i);
}

/* ---- allocation accounting and bad frees -------------------------------------------- */

static void on_alloc(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);

	/* an address handed out twice without a free in between: the newer object wins */
	uint32_t *old = ft_map_get(&c->live, e->addr, e->cls);

	if (old) {
		c->live_n[e->cls]--;
		node_unlink(c, *old);
	}
	hold(c, i);
	ft_map_put(&c->live, e->addr, e->cls, i);
	ft_map_del(&c->freed, e->addr, e->cls);
	c->live_n[e->cls]++;
}

static int other_class(int cls)
{
	return cls == FT_CL_PAGE ? FT_CL_OBJ : FT_CL_PAGE;
}

/* The free and allocation stacks (and the object) of a finding about a freed object. */
static void freed_history(struct ck *c, struct ft_finding *f, uint32_t free_ev)
{
	f->free_stack = ev(c, free_ev)->stack;
	fev(f, free_ev);
	if (c->pair[free_ev] != FT_NONE) {
		struct ft_event *a = ev(c, c->pair[free_ev]);

		f->alloc_stack = a->stack;
		object(f, a->addr, a->size, 1);
		fev(f, c->pair[free_ev]);
	}
}

/* Fill the stacks of a double free from the host's records of the first free. */
static void double_free_history(struct ck *c, struct ft_finding *f, uint64_t addr, int cls)
{
	uint32_t *first = ft_map_get(&c->freed, addr, cls);

	if (first)
		freed_history(c, f, *first);
}

static void mismatch_history(struct ck *c, struct ft_finding *f, uint64_t addr, int cls)
{
	uint32_t *a = ft_map_get(&c->live, addr, other_class(cls));

	if (!a)
		return;
	f->alloc_stack = ev(c, *a)->stack;
	object(f, addr, ev(c, *a)->size, 1);
	fev(f, *a);
}

/* The offending free itself: its site, the object, its stack, its op. */
static void bad_free_site(struct ck *c, struct ft_finding *f, uint32_t i)
{
	struct ft_event *e = ev(c, i);

	site(c, f, e->pc);
	if (!f->has_addr)
		object(f, e->addr, 0, 0);
	f->bad_stack = e->stack;
	set_op(c, f, e->op);
	fev(f, i);
}

static void on_free(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	uint32_t *a = ft_map_get(&c->live, e->addr, e->cls);
	struct ft_finding *f;
	char w[160];

	if (a) {
		uint32_t ai = *a;

		c->pair[ai] = i;
		c->pair[i] = ai;
		node_unlink(c, ai);
		c->live_n[e->cls]--;
		ft_map_del(&c->live, e->addr, e->cls);
		ft_map_put(&c->freed, e->addr, e->cls, i);
		return;
	}
	/* The kernel's allocator accepted a free the host's books cannot match. */
	if (ft_map_get(&c->freed, e->addr, e->cls)) {
		f = finding(c, FT_F_DOUBLE_FREE, i,
			    "double free of %s object %" PRIx64 " at %s, accepted by the allocator",
			    ft_class_name(e->cls), e->addr, where(c, e->pc, w, sizeof(w)));
		double_free_history(c, f, e->addr, e->cls);
	} else if (ft_map_get(&c->live, e->addr, other_class(e->cls))) {
		f = finding(c, FT_F_MISMATCHED_FREE, i,
			    "%s object %" PRIx64 " freed through the %s allocator at %s, accepted",
			    ft_class_name(other_class(e->cls)), e->addr, ft_class_name(e->cls),
			    where(c, e->pc, w, sizeof(w)));
		mismatch_history(c, f, e->addr, e->cls);
	} else if (!c->r->has_ckpt[FT_CKPT_BASELINE] ||
		   c->r->ckpt[FT_CKPT_BASELINE][e->cls == FT_CL_PAGE ? 0 : 1] == 0) {
		/* (with objects live before the baseline, an unknown address may be one) */
		f = finding(c, FT_F_INVALID_FREE, i,
			    "free of %s address %" PRIx64 " never allocated, at %s, accepted",
			    ft_class_name(e->cls), e->addr, where(c, e->pc, w, sizeof(w)));
	} else {
		return;
	}
	bad_free_site(c, f, i);
}

static void on_badfree(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	static const enum ft_fclass cls[] = {
		[FT_BAD_DOUBLE] = FT_F_DOUBLE_FREE, [FT_BAD_INVALID] = FT_F_INVALID_FREE,
		[FT_BAD_MISMATCH] = FT_F_MISMATCHED_FREE,
	};
	static const char *const what[] = {
		[FT_BAD_DOUBLE] = "double free", [FT_BAD_INVALID] = "invalid free",
		[FT_BAD_MISMATCH] = "mismatched free",
	};
	struct ft_finding *f;
	char w[160];

	f = finding(c, cls[e->sub], i,
		    "%s of %s address %" PRIx64 " at %s (refused by the allocator)", what[e->sub],
		    ft_class_name(e->cls), e->addr, where(c, e->pc, w, sizeof(w)));
	if (e->sub == FT_BAD_DOUBLE)
		double_free_history(c, f, e->addr, e->cls);
	else if (e->sub == FT_BAD_MISMATCH)
		mismatch_history(c, f, e->addr, e->cls);
	bad_free_site(c, f, i);
}

/* ---- use-after-free ----------------------------------------------------------------- */

/*
 * Two kinds of evidence. A `poison` record: the allocator found a freed object's poison
 * changed when it left the quarantine, a write after free whose writer is unknown. A `trap`
 * whose stval lies in a block freed earlier in the run: the access itself, read or write
 * (in guard mode freed memory is unmapped, and a block is the whole pages it spans).
 */

static uint32_t freed_block_at(struct ck *c, uint64_t addr);

static void on_poison(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	uint32_t *exact = ft_map_get(&c->freed, e->addr, e->cls);
	uint32_t block = exact ? *exact : freed_block_at(c, e->addr + (uint64_t)e->size);
	uint32_t *fr = block != FT_NONE ? &block : NULL;
	struct ft_finding *f;
	char w[160], wf[160];

	f = finding(c, FT_F_USE_AFTER_FREE, i, "write after free: byte %" PRId64 " of %s object %"
		    PRIx64 " changed after its free%s%s; found by the poison check at %s",
		    e->size, ft_class_name(e->cls), e->addr, fr ? " at " : "",
		    fr ? where(c, ev(c, *fr)->pc, wf, sizeof(wf)) : "",
		    where(c, e->pc, w, sizeof(w)));
	if (fr) {
		freed_history(c, f, *fr);
		site(c, f, ev(c, *fr)->pc);
	} else {
		site(c, f, e->pc);
		object(f, e->addr, 0, 0);
	}
	f->bad_stack = e->stack;
	set_op(c, f, e->op);
	fev(f, i);
}

static void on_ok(struct ck *c, uint32_t i)
{
	if (!strcmp(ft_arena_str(&c->r->strs, ev(c, i)->name), "guard"))
		c->guard = 1;
}

/*
 * The free event of the latest freed (and not reallocated) block holding addr, or FT_NONE.
 * A scan of every freed block: a run gets FT_OP_LIVE_MAX of them, so that judging stays
 * linear whatever the stream holds.
 */
static uint32_t freed_block_at(struct ck *c, uint64_t addr)
{
	uint64_t page = c->guard ? 4096 : 1;
	uint32_t best = FT_NONE;
	size_t k;

	if (!c->block_lookups)
		return FT_NONE;
	c->block_lookups--;

	for (k = 0; k < c->freed.cap; k++) {
		uint32_t fi = c->freed.slots[k].val;
		uint64_t lo, span;

		if (!c->freed.slots[k].used || c->pair[fi] == FT_NONE)
			continue;
		lo = ev(c, fi)->addr & ~(page - 1);
		span = (ev(c, fi)->addr - lo + (uint64_t)ev(c, c->pair[fi])->size + page - 1) &
		       ~(page - 1);
		if (addr >= lo && addr - lo < span && (best == FT_NONE || fi > best))
			best = fi;
	}
	return best;
}

static const char *access_kind(uint64_t scause)
{
	switch (scause) {
	case 5: case 13: return "read";
	case 7: case 15: return "write";
	case 1: case 12: return "execute";
	default: return "access";
	}
}

/* A trap in freed memory: a use-after-free finding in place of the crash. 1 if it was. */
static int trap_after_free(struct ck *c, struct ft_event *t)
{
	uint32_t fr = freed_block_at(c, t->addr);
	struct ft_finding *f;
	char w[160], wf[160];

	if (fr == FT_NONE)
		return 0;
	f = finding(c, FT_F_USE_AFTER_FREE, c->r->trap_ev, "%s after free: %s of %" PRIx64
		    " at %s (scause %" PRIx64 "), in the %s object %" PRIx64 " freed at %s",
		    access_kind((uint64_t)t->size), access_kind((uint64_t)t->size), t->addr,
		    where(c, t->pc, w, sizeof(w)), (uint64_t)t->size,
		    ft_class_name(ev(c, fr)->cls), ev(c, fr)->addr,
		    where(c, ev(c, fr)->pc, wf, sizeof(wf)));
	freed_history(c, f, fr);
	f->func = ft_build_sym_name(c->b, ft_build_func_at(c->b, t->pc));
	f->pc = t->pc;
	f->has_pc = 1;
	f->bad_stack = t->stack;
	set_op(c, f, t->op);
	fev(f, c->r->trap_ev);
	fev(f, c->r->first_fault);
	return 1;
}

/* ---- refcounts ---------------------------------------------------------------------- */

/* A ref event's name is "<verb> <kind>": the kind. */
static const char *ref_kind(struct ck *c, const struct ft_event *e)
{
	const char *n = ft_arena_str(&c->r->strs, e->name), *sp = n ? strchr(n, ' ') : NULL;

	return sp ? sp + 1 : "object";
}

static void on_ref(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	uint32_t *si = ft_map_get(&c->refs, e->addr, 0);
	struct refstate *s;

	if (!si || e->sub == FT_REF_NEW) {
		if (!si) {
			ft_map_put(&c->refs, e->addr, 0, (uint32_t)c->refst.len);
			s = ft_vec_push(&c->refst);
		} else {
			s = FT_VEC_AT(&c->refst, struct refstate, *si);
		}
		s->obj = e->addr;
		s->first_ev = i;
		s->reported = 0;
	} else {
		s = FT_VEC_AT(&c->refst, struct refstate, *si);
	}
	s->count = e->rc;
	s->last_ev = i;
	if (e->sub == FT_REF_PUT && e->rc < 0 && !s->reported) {
		char w[160];
		struct ft_finding *f =
			finding(c, FT_F_REFCOUNT, i, "refcount of %s %" PRIx64
				" dropped below zero (%" PRId64 ") at %s",
				ref_kind(c, e), e->addr, e->rc,
				where(c, e->pc, w, sizeof(w)));

		site(c, f, ev(c, s->first_ev)->pc);
		object(f, e->addr, 0, 0);
		set_op(c, f, e->op);
		fev(f, s->first_ev);
		fev(f, i);
		s->reported = 1;
	}
}

/* ---- non-memory resources (acq/rel) ------------------------------------------------ */

/* The map key of an acq/rel record's kind. A hash of the name: two kinds that collide (only
 * a hostile stream could make them) are judged as one, which is never unsafe. */
static uint64_t res_kind(struct ck *c, const struct ft_event *e)
{
	const char *kind = ft_arena_str(&c->r->strs, e->name);

	return ft_hash_bytes(kind, strlen(kind));
}

/* Acquired again while held: the newer record wins, as for an address handed out twice. */
static void on_acq(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	uint64_t kind = res_kind(c, e);
	uint32_t *old = ft_map_get(&c->held, e->addr, kind);

	if (old)
		node_unlink(c, *old);
	hold(c, i);
	ft_map_put(&c->held, e->addr, kind, i);
	ft_map_del(&c->released, e->addr, kind);
}

static void on_rel(struct ck *c, uint32_t i)
{
	struct ft_event *e = ev(c, i);
	const char *name = ft_arena_str(&c->r->strs, e->name);
	uint64_t kind = res_kind(c, e);
	uint32_t *a = ft_map_get(&c->held, e->addr, kind), *prev;
	struct ft_finding *f;
	char w[160];

	if (a) {
		c->pair[*a] = i;
		c->pair[i] = *a;
		node_unlink(c, *a);
		ft_map_del(&c->held, e->addr, kind);
		ft_map_put(&c->released, e->addr, kind, i);
		return;
	}
	prev = ft_map_get(&c->released, e->addr, kind);
	if (prev) {
		f = finding(c, FT_F_DOUBLE_RELEASE, i, "double release of %s %" PRIx64 " at %s",
			    name, e->addr, where(c, e->pc, w, sizeof(w)));
		f->free_stack = ev(c, *prev)->stack;
		fev(f, *prev);
		if (c->pair[*prev] != FT_NONE) {
			f->alloc_stack = ev(c, c->pair[*prev])->stack;
			fev(f, c->pair[*prev]);
		}
	} else {
		f = finding(c, FT_F_INVALID_RELEASE, i, "release of %s %" PRIx64
			    " never acquired, at %s", name, e->addr, where(c, e->pc, w, sizeof(w)));
	}
	bad_free_site(c, f, i);
}

/* ---- failed ops: failure atomicity and unwind order --------------------------------- */

/* Index of the outermost frame of e's backtrace that lies in fn, or -1. */
static int frame_index(struct ck *c, const struct ft_event *e, const struct ft_sym *fn)
{
	struct ft_stack *s = ft_build_stack_at(c->b, e->stack);
	int k;

	for (k = s ? s->n - 1 : -1; k >= 0; k--)
		if (ft_build_frame_at(c->b, s->frames[k])->sym == fn)
			return k;
	return -1;
}

/*
 * pc of the outermost frame of event e's backtrace that lies in fn, or 0; *step gets the
 * call site in fn it belongs to (code inlined into fn counts as the call it came from).
 */
static uint64_t frame_in(struct ck *c, const struct ft_event *e, const struct ft_sym *fn,
			 uint64_t *step)
{
	struct ft_stack *s = ft_build_stack_at(c->b, e->stack);
	struct ft_frame *f;
	int k;

	if (s && s->n) {
		k = frame_index(c, e, fn);
		if (k < 0)
			return 0;
		*step = ft_build_frame_at(c->b, s->frames[k])->step;
		return s->pcs[k];
	}
	f = ft_build_frame_at(c->b, ft_build_frame(c->b, e->pc));
	if (f->sym != fn)
		return 0;
	*step = f->step;
	return e->pc;
}

/* A failed op returned while still holding objects: each is one finding (up to
 * FT_OP_LIVE_MAX per op; the rest are counted), and the op lets go of them. */
static void unbalanced(struct ck *c, const struct open_op *oo, uint32_t now)
{
	const struct ft_op *o = FT_VEC_AT(&c->r->ops, struct ft_op, oo->op);
	uint32_t head = op_head(c, oo->op), n = 0;

	while (c->next[head] != head) {
		uint32_t i = c->next[head];
		struct ft_event *e = ev(c, i);
		struct ft_finding *f;
		char w[160];

		node_unlink(c, i);
		if (n++ >= FT_OP_LIVE_MAX) {
			cut(c, FT_F_UNBALANCED_UNWIND);
			continue;
		}
		if (e->kind == FT_K_ACQ) {
			f = finding(c, FT_F_UNBALANCED_UNWIND, i,
				    "op %s failed (rc %" PRId64 ") but still holds %s %" PRIx64
				    " acquired at %s", ft_arena_str(&c->r->strs, o->name), o->rc,
				    ft_arena_str(&c->r->strs, e->name), e->addr,
				    where(c, e->pc, w, sizeof(w)));
			object(f, e->addr, 0, 0);
		} else {
			f = finding(c, FT_F_UNBALANCED_UNWIND, i,
				    "op %s failed (rc %" PRId64 ") but left %s object %" PRIx64
				    " (%" PRId64 " bytes) allocated at %s still live",
				    ft_arena_str(&c->r->strs, o->name), o->rc,
				    ft_class_name(e->cls), e->addr, e->size,
				    where(c, e->pc, w, sizeof(w)));
			object(f, e->addr, e->size, 1);
		}
		site(c, f, e->pc);
		f->alloc_stack = e->stack;
		f->op_name = o->name;
		fev(f, i);
		fev(f, o->begin);
		fev(f, now);
		fev(f, oo->fault);
	}
}

/* The records the order check judges: allocations inside the op before the fault, and the
 * frees after the fault of objects so acquired. */
static int judged(struct ck *c, const struct ft_op *o, uint32_t fault, uint32_t i)
{
	const struct ft_event *e = ev(c, i);

	if (e->kind == FT_K_ALLOC)
		return i < fault;
	return e->kind == FT_K_FREE && i > fault && c->pair[i] != FT_NONE &&
	       c->pair[i] > o->begin && c->pair[i] < fault;
}

/*
 * The function whose steps the order check compares. It starts as the function the op+ pc
 * lies in; while every judged record reaches it through one and the same call site into one
 * and the same callee (a framework calling the real body through a pointer, as a scenario
 * runner does), the callee is the op's body and the search descends into it.
 */
static const struct ft_sym *op_body(struct ck *c, const struct ft_sym *fn)
{
	int depth;

	for (depth = 0; depth < FT_BT_MAX; depth++) {
		const struct ft_sym *callee = NULL;
		uint64_t site = 0;
		uint32_t n = 0;
		size_t j;

		for (j = 0; j < c->judged.len; j++) {
			const struct ft_event *e = ev(c, *FT_VEC_AT(&c->judged, uint32_t, j));
			struct ft_stack *s;
			const struct ft_sym *in;
			int k = frame_index(c, e, fn);

			if (k < 0)
				continue;
			if (k == 0)
				return fn; /* fn itself calls the allocator: it is the body */
			s = ft_build_stack_at(c->b, e->stack);
			in = ft_build_frame_at(c->b, s->frames[k - 1])->sym;
			if (n++ == 0) {
				site = s->pcs[k];
				callee = in;
			} else if (s->pcs[k] != site || in != callee) {
				return fn; /* the records part ways here */
			}
		}
		if (!n || !callee || callee == fn)
			return fn;
		fn = callee;
	}
	return fn;
}

struct undo_step {
	uint64_t pc;                 /* its first frame in the op's body */
	uint32_t min_acq, max_acq;   /* acquisition steps of the objects it frees */
	uint32_t min_free, max_free; /* the frees that freed those */
	uint32_t later_acq;          /* the latest acquisition any later step frees */
};

/* Acquisition steps: consecutive allocations made through one call of the body. */
static void acquisition_steps(struct ck *c, uint32_t fault, const struct ft_sym *fn)
{
	uint32_t nacq = 0;
	uint64_t last = 0, step = 0;
	size_t j;

	for (j = 0; j < c->judged.len; j++) {
		uint32_t i = *FT_VEC_AT(&c->judged, uint32_t, j);

		if (i > fault)
			break;
		c->acq[i] = 0;
		if (!frame_in(c, ev(c, i), fn, &step))
			continue;
		if (step != last || !nacq)
			nacq++;
		last = step;
		c->acq[i] = nacq;
	}
}

/* Undo steps: consecutive frees after the fault made through one call of the body. */
static void undo_steps(struct ck *c, uint32_t fault, const struct ft_sym *fn)
{
	uint64_t last = 0, step = 0;
	struct undo_step *st;
	size_t j;

	c->steps.len = 0;
	for (j = 0; j < c->judged.len; j++) {
		uint32_t i = *FT_VEC_AT(&c->judged, uint32_t, j);
		uint32_t acq = i > fault ? c->acq[c->pair[i]] : 0;
		uint64_t pc;

		/* only what the op held when the fault hit is the unwind's to release */
		if (!acq || !(pc = frame_in(c, ev(c, i), fn, &step)))
			continue;
		if (!c->steps.len || step != last) {
			st = ft_vec_push(&c->steps);
			st->pc = pc;
			st->min_acq = st->max_acq = acq;
			st->min_free = st->max_free = i;
		} else {
			st = FT_VEC_AT(&c->steps, struct undo_step, c->steps.len - 1);
			if (acq < st->min_acq) {
				st->min_acq = acq;
				st->min_free = i;
			}
			if (acq > st->max_acq) {
				st->max_acq = acq;
				st->max_free = i;
			}
		}
		last = step;
	}
}

static void order_finding(struct ck *c, const struct ft_op *o, const struct ft_sym *fn,
			  const struct undo_step *a, const struct undo_step *b, uint32_t fault,
			  uint32_t now)
{
	struct ft_event *early = ev(c, a->min_free), *late = ev(c, b->max_free);
	struct ft_event *ea = ev(c, c->pair[a->min_free]), *la = ev(c, c->pair[b->max_free]);
	struct ft_finding *f;
	char w1[160], w2[160], w3[160], w4[160];
	uint64_t step;

	f = finding(c, FT_F_UNWIND_ORDER, a->min_free,
		    "op %s failed (rc %" PRId64 "): the undo at %s frees %" PRIx64
		    " (acquired at %s) before the undo at %s frees %" PRIx64
		    " (acquired later, at %s): not in reverse order of acquisition",
		    ft_arena_str(&c->r->strs, o->name), o->rc,
		    where(c, a->pc, w1, sizeof(w1)), early->addr,
		    where(c, frame_in(c, ea, fn, &step), w2, sizeof(w2)),
		    where(c, b->pc, w3, sizeof(w3)), late->addr,
		    where(c, frame_in(c, la, fn, &step), w4, sizeof(w4)));
	f->func = ft_build_sym_name(c->b, fn);
	f->pc = a->pc;
	f->has_pc = 1;
	object(f, early->addr, ea->size, 1);
	f->alloc_stack = ea->stack;
	f->free_stack = early->stack;
	f->bad_stack = late->stack;
	f->op_name = o->name;
	fev(f, a->min_free);
	fev(f, c->pair[a->min_free]);
	fev(f, b->max_free);
	fev(f, c->pair[b->max_free]);
	fev(f, fault);
	fev(f, now);
}

static void unwind_order(struct ck *c, const struct open_op *oo, uint32_t now)
{
	const struct ft_op *o = FT_VEC_AT(&c->r->ops, struct ft_op, oo->op);
	const struct ft_sym *fn = ft_build_func_ret(c->b, o->pc);
	struct undo_step *st;
	size_t k, j, nst;
	uint32_t i;

	if (!fn || oo->fault == FT_NONE)
		return;
	c->judged.len = 0;
	for (i = o->begin + 1; i < now; i++)
		if (judged(c, o, oo->fault, i))
			*(uint32_t *)ft_vec_push(&c->judged) = i;
	fn = op_body(c, fn);
	acquisition_steps(c, oo->fault, fn);
	undo_steps(c, oo->fault, fn);
	/* Reverse order: every later step frees only what was acquired before anything an
	 * earlier step freed. The first step that released too early (and was not reported
	 * by an op inside this one) gets one warning, against the first later step it beat. */
	st = c->steps.data;
	nst = c->steps.len;
	for (k = nst; k > 1; k--) /* (the last step's later_acq stays 0) */
		st[k - 2].later_acq = st[k - 1].later_acq > st[k - 1].max_acq ?
				      st[k - 1].later_acq : st[k - 1].max_acq;
	for (k = 0; k + 1 < nst; k++) {
		if (st[k].min_acq >= st[k].later_acq || ft_map_get(&c->flagged, st[k].min_free, 1))
			continue;
		ft_map_put(&c->flagged, st[k].min_free, 1, 1);
		for (j = k + 1; st[j].max_acq <= st[k].min_acq; j++)
			;
		order_finding(c, o, fn, &st[k], &st[j], oo->fault, now);
		return;
	}
}

static void on_op_end(struct ck *c, uint32_t i)
{
	uint32_t oi = *ft_map_get(&c->r->op_by_id, (uint64_t)ev(c, i)->kseq, 0), k;
	const struct ft_op *o = FT_VEC_AT(&c->r->ops, struct ft_op, oi);

	if (!c->open[oi].open)
		return;
	/* ops still open inside this one in its context close with it */
	while ((k = ctx_top(c, o->ctx)) != oi && k != FT_NONE)
		pop_op(c, k);
	if (o->rc < 0) {
		unbalanced(c, &c->open[oi], i);
		if (o->depth < FT_OP_DEPTH_MAX)
			unwind_order(c, &c->open[oi], i);
		else
			c->r->ops_unjudged++;
	}
	pop_op(c, oi);
}

/* ---- error-swallowed ------------------------------------------------------------------ */

/*
 * Per op (by index): it or an op around it returned an error, so a failure inside it was
 * reported. One pass: an op's op+ comes after its parent's, so the parent is decided first.
 */
static uint8_t *reported_ops(struct ck *c)
{
	uint8_t *rep = ft_xrealloc(NULL, c->r->ops.len ? c->r->ops.len : 1);
	size_t k;

	for (k = 0; k < c->r->ops.len; k++) {
		const struct ft_op *o = FT_VEC_AT(&c->r->ops, struct ft_op, k);
		uint32_t *parent = o->parent == FT_NO_OP ? NULL :
				   ft_map_get(&c->r->op_by_id, (uint64_t)o->parent, 0);

		rep[k] = (o->end != FT_NONE && o->rc < 0) || (parent && rep[*parent]);
	}
	return rep;
}

static int path_failed(struct ck *c, const uint8_t *rep, const struct ft_event *fault)
{
	uint32_t *oi = fault->op == FT_NO_OP ? NULL :
		       ft_map_get(&c->r->op_by_id, (uint64_t)fault->op, 0);

	return oi && rep[*oi];
}

/*
 * A recover record covers the fault at event i when it is one of the FT_RECOVER_SCAN first
 * after it, the innermost op open at the fault is still open, and it comes from a function
 * on the fault's backtrace (the failure passed through the function that recovered). *next
 * is the first recover record not before i (faults are judged in stream order).
 */
static int recovered(struct ck *c, uint32_t i, size_t *next)
{
	const struct ft_event *fault = ev(c, i);
	const struct ft_op *in = op_of(c, fault->op);
	uint32_t until = in && in->end != FT_NONE ? in->end : (uint32_t)c->r->events.len;
	size_t k;

	while (*next < c->recovers.len && *FT_VEC_AT(&c->recovers, uint32_t, *next) < i)
		(*next)++;
	for (k = *next; k < c->recovers.len && k < *next + FT_RECOVER_SCAN; k++) {
		uint32_t ri = *FT_VEC_AT(&c->recovers, uint32_t, k);
		const struct ft_sym *fn = ft_build_func_ret(c->b, ev(c, ri)->pc);

		if (ri >= until)
			break;
		if (fn && frame_index(c, fault, fn) >= 0)
			return 1;
	}
	return 0;
}

/*
 * A run that ended well (result 0, end record) although a fault fired: the first injected
 * fault no op on its path reported and no recovery covers was eaten. One finding per run,
 * on the fault's site, with the fault's stack; analysis names the function that ate it.
 */
static void error_swallowed(struct ck *c)
{
	struct ft_run *r = c->r;
	size_t next = 0;
	uint8_t *rep;
	uint32_t i;

	if (!r->saw_end || !r->has_result || r->result_rc != 0 || r->first_fault == FT_NONE ||
	    r->trap_ev != FT_NONE || r->panic_ev != FT_NONE)
		return;
	rep = reported_ops(c);
	for (i = r->first_fault; i < (uint32_t)r->events.len; i++) {
		struct ft_event *e = ev(c, i);
		const struct ft_op *in;
		struct ft_finding *f;
		char w[160], what[64];

		if (e->kind != FT_K_FAULT || path_failed(c, rep, e) || recovered(c, i, &next))
			continue;
		in = op_of(c, e->op);
		if (e->cls == FT_CL_IO)
			snprintf(what, sizeof(what), "a device operation failed");
		else
			snprintf(what, sizeof(what), "%s allocation of %" PRId64 " bytes failed",
				 ft_class_name(e->cls), e->size);
		f = finding(c, FT_F_ERROR_SWALLOWED, i,
			    "%s (injected) at %s; no op on its path returned an error (innermost: "
			    "%s) and the scenario returned 0", what, where(c, e->pc, w, sizeof(w)),
			    in ? ft_arena_str(&r->strs, in->name) : "none");
		site(c, f, e->pc);
		f->size = e->size;
		f->has_size = 1;
		f->bad_stack = e->stack;
		set_op(c, f, e->op);
		fev(f, i);
		if (in) {
			fev(f, in->begin);
			fev(f, in->end);
		}
		fev(f, r->end_ev);
		break;
	}
	free(rep);
}

/* ---- state promises: not-atomic ---------------------------------------------------- */

/*
 * A `state begin` whose `state end` has not come yet. Promises nest like the calls that
 * make them, inside the op they were made in: an end answers the innermost open promise
 * when it names the same state in the same op; a promise whose op closed without its end
 * is dropped unjudged.
 */
struct promise {
	uint32_t begin;         /* its state begin event */
	int explained;          /* a promise made inside it, on the same state, was reported */
};

/* How far out a broken promise looks for the promises around it on the same state (so a
 * report costs at most this much, however deep a stream nests them). */
#define PROMISES_AROUND_MAX 32

/* Drop the promises on top whose op closed before event i (outside every op, a promise
 * lasts until its end). */
static void drop_stale_promises(struct ck *c, uint32_t i)
{
	while (c->promises.len) {
		struct promise *p = FT_VEC_AT(&c->promises, struct promise, c->promises.len - 1);
		int64_t op = ev(c, p->begin)->op;
		uint32_t *oi = op == FT_NO_OP ? NULL : ft_map_get(&c->r->op_by_id, (uint64_t)op, 0);
		const struct ft_op *o = oi ? FT_VEC_AT(&c->r->ops, struct ft_op, *oi) : NULL;

		if (op == FT_NO_OP || (o && (o->end == FT_NONE || o->end > i)))
			return;
		c->promises.len--;
	}
}

static int same_name(struct ck *c, const struct ft_event *a, const struct ft_event *b)
{
	const char *x = ft_arena_str(&c->r->strs, a->name);
	const char *y = ft_arena_str(&c->r->strs, b->name);

	return x && y && strcmp(x, y) == 0;
}

/* A promise broken: the function that made it failed with the state changed. The
 * promises around it on the same state broke with it, so they are not reported again. */
static void not_atomic(struct ck *c, const struct promise *p, uint32_t end)
{
	const struct ft_event *b = ev(c, p->begin), *e = ev(c, end);
	const struct open_op *o = open_op_of(c, e->op);
	struct ft_finding *f;
	char w[160];
	size_t k, n = c->promises.len - 1;

	f = finding(c, FT_F_NOT_ATOMIC, end,
		    "%s failed (rc %" PRId64 ") with its %s state changed (digest %" PRIx64
		    " on entry, %" PRIx64 " on return), though it promised it unchanged",
		    where(c, b->pc, w, sizeof(w)), e->rc,
		    ft_arena_str(&c->r->strs, b->name), b->addr, e->addr);
	site(c, f, b->pc);
	set_op(c, f, e->op);
	fev(f, p->begin);
	fev(f, end);
	if (o)
		fev(f, o->fault);
	for (k = n; k > 0 && n - k < PROMISES_AROUND_MAX; k--) {
		struct promise *q = FT_VEC_AT(&c->promises, struct promise, k - 1);

		if (same_name(c, ev(c, q->begin), b))
			q->explained = 1;
	}
}

static void on_state(struct ck *c, uint32_t i)
{
	const struct ft_event *e = ev(c, i);
	struct promise *p;

	drop_stale_promises(c, i);
	if (e->sub == FT_STATE_BEGIN) {
		p = ft_vec_push(&c->promises);
		p->begin = i;
		p->explained = 0;
		return;
	}
	if (!c->promises.len)
		return;
	p = FT_VEC_AT(&c->promises, struct promise, c->promises.len - 1);
	if (ev(c, p->begin)->op != e->op || !same_name(c, ev(c, p->begin), e))
		return;
	if (e->rc < 0 && e->addr != ev(c, p->begin)->addr && !p->explained)
		not_atomic(c, p, i);
	c->promises.len--;
}

/* ---- closing the books -------------------------------------------------------------- */

/* now - base of two counts the kernel reported: untrusted, so the difference wraps (any
 * nonsense then shows as a disagreement with the host's books) instead of overflowing. */
static int64_t count_since(int64_t now, int64_t base)
{
	return (int64_t)((uint64_t)now - (uint64_t)base);
}

/* What the books hold at their close (event at): each object still live in m (or resource
 * still held) is a leak, reported in stream order. */
static void still_held(struct ck *c, const struct ft_map *m, uint32_t at)
{
	struct ft_vec held;
	size_t k;

	ft_vec_init(&held, sizeof(uint32_t));
	for (k = 0; k < m->cap; k++)
		if (m->slots[k].used)
			*(uint32_t *)ft_vec_push(&held) = m->slots[k].val;
	if (held.len)
		qsort(held.data, held.len, sizeof(uint32_t), ft_cmp_u32);
	for (k = 0; k < held.len; k++) {
		uint32_t ai = *FT_VEC_AT(&held, uint32_t, k);
		struct ft_event *a = ev(c, ai);
		struct ft_finding *f;
		char w[160];

		if (a->kind == FT_K_ACQ) {
			f = finding(c, FT_F_RESOURCE_LEAK, ai, "%s %" PRIx64 " acquired at %s not "
				    "released by the %s", ft_arena_str(&c->r->strs, a->name),
				    a->addr, where(c, a->pc, w, sizeof(w)), end_name(c, at));
			object(f, a->addr, 0, 0);
		} else {
			f = finding(c, FT_F_LEAK, ai, "%" PRId64 " bytes (%s) at %" PRIx64
				    " allocated at %s not freed by the %s", a->size,
				    ft_class_name(a->cls), a->addr, where(c, a->pc, w, sizeof(w)),
				    end_name(c, at));
			object(f, a->addr, a->size, 1);
		}
		site(c, f, a->pc);
		f->alloc_stack = a->stack;
		set_op(c, f, a->op);
		fev(f, ai);
		fev(f, at);
	}
	ft_vec_free(&held);
}

/*
 * The after-boot model's boot run (docs/protocol.md §5): a kernel that cannot tear its init
 * down keeps what a successful init allocated, acquired and referenced; that is its state,
 * not a leak. A failed init is judged as any run: it must have undone everything.
 */
static int keeps_boot_state(const struct ft_run *r)
{
	const char *s = ft_arena_str(&r->strs, r->stream_scenario);

	return r->after_boot && s && strcmp(s, "boot") == 0 && r->has_result &&
	       r->result_rc == 0;
}

static void close_books(struct ck *c, uint32_t at)
{
	struct ft_run *r = c->r;
	size_t k;

	c->closed = 1;
	if (keeps_boot_state(r))
		return;
	still_held(c, &c->live, at);
	still_held(c, &c->held, at);

	for (k = 0; k < c->refst.len; k++) {
		struct refstate *s = FT_VEC_AT(&c->refst, struct refstate, k);
		struct ft_event *first = ev(c, s->first_ev), *last = ev(c, s->last_ev);
		struct ft_finding *f;
		uint32_t *alloc;
		char w[160];

		if (s->count == 0 || s->reported)
			continue;
		f = finding(c, FT_F_REFCOUNT, s->first_ev, "refcount of %s %" PRIx64 " is %" PRId64
			    " at the %s (created at %s)",
			    ref_kind(c, first), s->obj, s->count, end_name(c, at),
			    where(c, first->pc, w, sizeof(w)));
		site(c, f, first->pc);
		object(f, s->obj, 0, 0);
		alloc = ft_map_get(&c->live, s->obj, FT_CL_OBJ);
		if (!alloc)
			alloc = ft_map_get(&c->live, s->obj, FT_CL_PAGE);
		if (alloc) {
			f->alloc_stack = ev(c, *alloc)->stack;
			fev(f, *alloc);
		}
		set_op(c, f, first->op);
		fev(f, s->first_ev);
		fev(f, s->last_ev);
		fev(f, at);
		(void)last;
	}

	/* The kernel's own count against the host's books (counts only: the kernel may round
	 * sizes up to its size classes). */
	if (ev(c, at)->kind == FT_K_CKPT) {
		int64_t base_p = r->has_ckpt[0] ? r->ckpt[0][0] : 0;
		int64_t base_o = r->has_ckpt[0] ? r->ckpt[0][1] : 0;
		int64_t kp = count_since(r->ckpt[1][0], base_p);
		int64_t ko = count_since(r->ckpt[1][1], base_o);

		if (kp != c->live_n[FT_CL_PAGE] || ko != c->live_n[FT_CL_OBJ]) {
			struct ft_finding *f = finding(
				c, FT_F_ACCOUNTING, at,
				"the kernel counts %+" PRId64 " page and %+" PRId64
				" obj objects live since the baseline; its records account for %+"
				PRId64 " page and %+" PRId64 " obj",
				kp, ko, c->live_n[FT_CL_PAGE], c->live_n[FT_CL_OBJ]);

			fev(f, r->ckpt_ev[0]);
			fev(f, at);
		}
	}
}

/* ---- run endings -------------------------------------------------------------------- */

static void ending_findings(struct ck *c, const struct ft_run_end *how)
{
	struct ft_run *r = c->r;
	struct ft_finding *f;
	char w[160];

	if (r->trap_ev != FT_NONE && !trap_after_free(c, ev(c, r->trap_ev))) {
		struct ft_event *t = ev(c, r->trap_ev);
		const struct ft_sym *s = ft_build_func_at(c->b, t->pc);

		f = finding(c, FT_F_CRASH, r->trap_ev, "unexpected trap: scause %" PRIx64
			    " at sepc %" PRIx64 " (%s), stval %" PRIx64,
			    (uint64_t)t->size, t->pc, s ? ft_build_sym_name(c->b, s) : "?", t->addr);
		f->func = ft_build_sym_name(c->b, s);
		f->pc = t->pc;
		f->has_pc = 1;
		object(f, t->addr, 0, 0);
		f->bad_stack = t->stack;
		set_op(c, f, t->op);
		fev(f, r->trap_ev);
		fev(f, r->first_fault);
	}
	if (r->panic_ev != FT_NONE && ev(c, r->panic_ev)->sub == FT_PANIC_UNEXPECTED) {
		struct ft_event *p = ev(c, r->panic_ev);

		f = finding(c, FT_F_PANIC, r->panic_ev, "panic at %s: %s",
			    where(c, p->pc, w, sizeof(w)), ft_arena_str(&r->strs, p->text));
		site(c, f, p->pc);
		f->bad_stack = p->stack;
		set_op(c, f, p->op);
		fev(f, r->panic_ev);
		fev(f, r->first_fault);
	}
	if (!r->saw_end && r->trap_ev == FT_NONE && r->panic_ev == FT_NONE &&
	    how->how != FT_END_LOST) {
		uint32_t last = (uint32_t)r->events.len - 1;
		struct ft_event *le = ev(c, last);
		const char *opn = op_name_of(c, le->op);
		uint32_t k;

		if (how->how == FT_END_TIMEOUT)
			f = finding(c, FT_F_HANG, last, "no end record before the host's timeout; "
				    "last record: %s; innermost open op: %s",
				    ft_kind_name(le->kind), opn ? opn : "none");
		else
			f = finding(c, FT_F_CRASH, last, "the machine stopped without an end record "
				    "and without reporting a trap (wait status %d); last record: %s; "
				    "innermost open op: %s", how->exit_status,
				    ft_kind_name(le->kind), opn ? opn : "none");
		for (k = last + 1; k-- > 0;)
			if (ev(c, k)->stack) {
				f->bad_stack = ev(c, k)->stack;
				break;
			}
		if (ft_run_innermost(r, r->ctx) != FT_NONE) {
			const struct ft_op *o = FT_VEC_AT(&r->ops, struct ft_op,
							  ft_run_innermost(r, r->ctx));

			site(c, f, o->pc);
			f->op_name = o->name;
		}
		fev(f, last);
		fev(f, r->first_fault);
	}
}

static int cmp_finding(const void *a, const void *b)
{
	const struct ft_finding *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return (int)x->cls - (int)y->cls;
}

static void decide(struct ck *c, const struct ft_run_end *how)
{
	struct ft_run *r = c->r;
	int leak = 0, error = 0, swallowed = 0, cls;
	uint64_t found[FT_F_COUNT];
	size_t k;

	r->expected_panic = r->panic_ev != FT_NONE &&
			    ev(c, r->panic_ev)->sub == FT_PANIC_EXPECTED;
	/* what was found decides, kept or cut */
	memcpy(found, c->cut, sizeof(found));
	for (k = 0; k < r->findings.len; k++)
		found[FT_VEC_AT(&r->findings, struct ft_finding, k)->cls]++;
	for (cls = 0; cls < FT_F_COUNT; cls++) {
		if (!found[cls])
			continue;
		if (cls == FT_F_LEAK || cls == FT_F_RESOURCE_LEAK)
			leak = 1;
		else if (cls == FT_F_ERROR_SWALLOWED)
			swallowed = 1;
		else if (!is_warning((enum ft_fclass)cls))
			error = 1;
	}
	if (r->trap_ev != FT_NONE)
		r->outcome = FT_CRASH;
	else if (r->panic_ev != FT_NONE && !r->expected_panic)
		r->outcome = FT_PANIC;
	else if (!r->saw_end && how->how == FT_END_TIMEOUT)
		r->outcome = FT_HANG;
	else if (!r->saw_end && how->how == FT_END_LOST) {
		r->outcome = FT_INFRA;
		snprintf(r->reason_buf, sizeof(r->reason_buf), "%s",
			 how->infra_reason ? how->infra_reason : "lost channel before the end record");
		r->infra_reason = r->reason_buf;
	} else if (!r->saw_end)
		r->outcome = FT_CRASH;
	else if (found[FT_F_USE_AFTER_FREE])
		r->outcome = FT_CORRUPT;
	else if (leak)
		r->outcome = FT_LEAK;
	else if (error)
		r->outcome = FT_UNBALANCED;
	else if (swallowed)
		r->outcome = FT_SWALLOWED;
	else if (r->end_fired || r->expected_panic)
		r->outcome = FT_HANDLED;
	else
		r->outcome = FT_COMPLETED;
}

/* Infrastructure first: nothing the stream says can be trusted without a handshake. 1 (and
 * r->reason_buf says why) when the stream cannot be judged as this build's. */
static int handshake_refused(struct ft_run *r, const struct ft_run_end *how)
{
	if (!r->saw_hello) {
		snprintf(r->reason_buf, sizeof(r->reason_buf), "no hello%s%s",
			 how->how == FT_END_LOST && how->infra_reason ? ": " : "",
			 how->how == FT_END_LOST && how->infra_reason ? how->infra_reason : "");
	} else if (r->version < FT_PROTO_OLDEST || r->version > FT_PROTO_VERSION) {
		snprintf(r->reason_buf, sizeof(r->reason_buf),
			 "protocol version %lld not supported (this tracer reads %d to %d)",
			 (long long)r->version, FT_PROTO_OLDEST, FT_PROTO_VERSION);
	} else if (r->b->check_build_id && strcmp(r->hello_build, r->b->build_id) != 0) {
		snprintf(r->reason_buf, sizeof(r->reason_buf),
			 "build-id mismatch: the stream says %.40s, the ELF is %.40s",
			 r->hello_build, r->b->build_id);
	} else {
		r->reason_buf[0] = 0;
	}
	return r->reason_buf[0] != 0;
}

static uint32_t *u32_array(size_t n)
{
	return ft_xrealloc(NULL, (n ? n : 1) * sizeof(uint32_t));
}

static void ck_init(struct ck *c, struct ft_run *r)
{
	uint32_t i, n = (uint32_t)r->events.len, nodes = n + (uint32_t)r->ops.len;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->b = r->b;
	c->block_lookups = FT_OP_LIVE_MAX;
	ft_map_init(&c->live);
	ft_map_init(&c->freed);
	ft_map_init(&c->held);
	ft_map_init(&c->released);
	ft_map_init(&c->refs);
	ft_map_init(&c->flagged);
	ft_vec_init(&c->refst, sizeof(struct refstate));
	c->open = ft_xrealloc(NULL, (r->ops.len ? r->ops.len : 1) * sizeof(struct open_op));
	memset(c->open, 0, (r->ops.len ? r->ops.len : 1) * sizeof(struct open_op));
	ft_map_init(&c->ctx_top);
	ft_vec_init(&c->judged, sizeof(uint32_t));
	ft_vec_init(&c->steps, sizeof(struct undo_step));
	ft_vec_init(&c->recovers, sizeof(uint32_t));
	ft_vec_init(&c->promises, sizeof(struct promise));
	c->pair = u32_array(n);
	memset(c->pair, 0xff, (n ? n : 1) * sizeof(uint32_t));
	c->acq = u32_array(n);
	c->next = u32_array(nodes);
	c->prev = u32_array(nodes);
	for (i = 0; i < nodes; i++)
		c->next[i] = c->prev[i] = i;
}

static void ck_free(struct ck *c)
{
	free(c->pair);
	free(c->acq);
	free(c->next);
	free(c->prev);
	ft_map_free(&c->live);
	ft_map_free(&c->freed);
	ft_map_free(&c->held);
	ft_map_free(&c->released);
	ft_map_free(&c->refs);
	ft_map_free(&c->flagged);
	ft_vec_free(&c->refst);
	free(c->open);
	ft_map_free(&c->ctx_top);
	ft_vec_free(&c->judged);
	ft_vec_free(&c->steps);
	ft_vec_free(&c->recovers);
	ft_vec_free(&c->promises);
}

/* Judge event i in stream order. */
static void judge_event(struct ck *c, uint32_t i)
{
	struct ft_run *r = c->r;

	switch (ev(c, i)->kind) {
	case FT_K_ALLOC: on_alloc(c, i); break;
	case FT_K_FREE: on_free(c, i); break;
	case FT_K_BADFREE: on_badfree(c, i); break;
	case FT_K_POISON: on_poison(c, i); break;
	case FT_K_OK: on_ok(c, i); break;
	case FT_K_REF: on_ref(c, i); break;
	case FT_K_ACQ: on_acq(c, i); break;
	case FT_K_REL: on_rel(c, i); break;
	case FT_K_FAULT:
	case FT_K_OOM: on_fault(c, i); break;
	case FT_K_OPBEGIN: on_op_begin(c, i); break;
	case FT_K_OPEND: on_op_end(c, i); break;
	case FT_K_RECOVER: *(uint32_t *)ft_vec_push(&c->recovers) = i; break;
	case FT_K_STATE: on_state(c, i); break;
	case FT_K_CKPT:
		if (ev(c, i)->sub == FT_CKPT_END && !c->closed)
			close_books(c, i);
		break;
	case FT_K_END:
		/* no end checkpoint: judge the books at the end, unless the teardown was cut
		 * short by a panic or a trap */
		if (!c->closed && r->panic_ev == FT_NONE && r->trap_ev == FT_NONE)
			close_books(c, i);
		break;
	default:
		break;
	}
}

void ft_check_run(struct ft_run *r, const struct ft_run_end *how)
{
	struct ck c;
	uint32_t i;

	r->findings.len = 0;
	r->findings_cut = 0;
	r->ops_unjudged = 0;
	r->infra_reason = NULL;
	r->expected_panic = 0;
	if (handshake_refused(r, how)) {
		r->outcome = FT_INFRA;
		r->infra_reason = r->reason_buf;
		return;
	}
	ck_init(&c, r);
	for (i = 0; i < (uint32_t)r->events.len; i++)
		judge_event(&c, i);
	ending_findings(&c, how);
	error_swallowed(&c);
	if (r->findings.len)
		qsort(r->findings.data, r->findings.len, sizeof(struct ft_finding), cmp_finding);
	decide(&c, how);
	if (r->outcome == FT_INFRA)
		r->findings.len = 0; /* an infrastructure failure is never a kernel finding */
	ck_free(&c);
}
