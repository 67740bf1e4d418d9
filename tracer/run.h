/*
 * run.h - one run as the tracer holds it between ft_run_begin() and ft_run_finish(): the
 * accepted records as compact events, the ops, the malformed lines, and (after the checks)
 * the findings and the outcome. Shared by run.c (fills it), checks.c (judges it) and
 * store_run.c (writes it).
 */
#ifndef FT_RUN_H
#define FT_RUN_H

#include <stdint.h>

#include "build.h"
#include "parser.h"
#include "tracer.h"
#include "util.h"

#define FT_NO_OP INT64_MIN
#define FT_NONE UINT32_MAX
#define FT_MALFORMED_KEEP 100

/*
 * What judging and storing one run may cost, far above any real run (the sample kernel's
 * largest, scenario all, has ~3,700 records, ops nested 4 deep and a handful of findings).
 * Past a bound the excess is counted in the run (runs.findings_cut, events_cut,
 * ops_unjudged), never silently dropped.
 */
#define FT_FINDINGS_MAX 1000   /* findings of the per-record checks kept per run */
#define FT_OP_LIVE_MAX 100     /* objects a failed op left live, reported one by one */
#define FT_OP_DEPTH_MAX 32     /* failed ops nested deeper are not judged for unwind order */
#define FT_EVENTS_KEEP 65536   /* events stored per run: the first and the last half */
#define FT_RECOVER_SCAN 16     /* recover records after a fault that may cover it */

/* One accepted record (64 bytes; no pointers, so the array can grow freely). */
struct ft_event {
	uint64_t addr;
	uint64_t pc;
	int64_t kseq;
	int64_t size;
	int64_t rc;
	int64_t op;      /* innermost open op id of its context, FT_NO_OP if none */
	uint32_t stack;  /* build stack index + 1, 0 none */
	uint32_t name;   /* run string arena offsets, 0 none */
	uint32_t text;
	uint8_t kind, cls, sub, has_kseq;
};

/*
 * Ops nest per context (the `ctx` record, docs/protocol.md §4): an op's parent is the
 * innermost op open in its context when it began, or for a context's outermost op the
 * innermost op open in context 0 (the kernel, which runs the scenario), so a process's
 * syscalls nest in the scenario's op. Ops of other contexts interleave freely.
 */
struct ft_op {
	int64_t id, parent;   /* parent FT_NO_OP at top level */
	int64_t ctx;
	uint64_t pc;
	int64_t rc;
	uint32_t name;
	uint32_t begin, end;  /* event indexes; end FT_NONE while open */
	uint32_t depth;       /* ops around it (through its parent) */
	uint32_t up;          /* op index of the next open op out in its context, FT_NONE */
	uint8_t open;         /* until its op- or an op- of one around it in its context */
};

struct ft_malformed {
	uint64_t lineno;
	const char *reason;   /* static string */
	uint32_t text;        /* escaped, in the run arena */
};

enum ft_fclass {
	FT_F_LEAK, FT_F_DOUBLE_FREE, FT_F_INVALID_FREE, FT_F_MISMATCHED_FREE,
	FT_F_UNBALANCED_UNWIND, FT_F_UNWIND_ORDER, FT_F_REFCOUNT, FT_F_ACCOUNTING,
	FT_F_PANIC, FT_F_CRASH, FT_F_HANG,
	FT_F_ERROR_SWALLOWED,
	FT_F_NOT_ATOMIC,
	FT_F_RESOURCE_LEAK, FT_F_DOUBLE_RELEASE, FT_F_INVALID_RELEASE,
	FT_F_USE_AFTER_FREE,
	FT_F_COUNT
};
const char *ft_fclass_name(enum ft_fclass c);

#define FT_FEV_MAX 8

struct ft_finding {
	enum ft_fclass cls;
	int warning;
	const char *func;      /* symbol name (lives in the build) or NULL */
	uint64_t pc, addr;
	int64_t size;
	uint8_t has_pc, has_addr, has_size;
	uint32_t alloc_stack, free_stack, bad_stack; /* build stack index + 1, 0 none */
	uint32_t op_name;      /* run arena */
	uint32_t message;      /* run arena */
	uint32_t ev[FT_FEV_MAX];
	int nev;
	uint32_t order;        /* sort key: the event that proves it */
};

struct ft_run {
	struct ft_db *db;
	struct ft_build *b;
	int64_t sweep;
	char *scenario, *exec_mode, *fault_mode, *class_filter, *site;
	uint64_t site_lo, site_hi;
	long n;
	int guard;

	struct ft_lines lines;
	uint64_t lineno;
	int to_end;             /* inside ft_run_feed_until_end(): stop after the end record */

	int saw_hello, saw_run, saw_end, has_result;
	int64_t version;
	char hello_build[129];
	int64_t end_fired, end_attempts, end_faults;
	int64_t result_rc;
	int has_ckpt[2];
	int64_t ckpt[2][4];
	uint32_t ckpt_ev[2];
	uint32_t first_fault, panic_ev, trap_ev, end_ev; /* event index, FT_NONE if none */
	uint32_t first_err;                               /* event index, FT_NONE if none */
	uint32_t stream_scenario;                         /* arena offset of `run <s>` */

	struct ft_vec events;   /* struct ft_event */
	struct ft_arena strs;
	struct ft_vec ops;      /* struct ft_op */
	struct ft_map ctx_top;  /* (ctx, 0) -> op index of the context's innermost open op */
	int64_t ctx;            /* the context records now belong to (`ctx`; 0 at first) */
	int after_boot;         /* `model after-boot`: the run starts after boot */
	uint32_t stk[FT_STK_MAX]; /* per stk id since `run`: its ft_build_stack(), 0 none */
	struct ft_map op_by_id; /* (id, 0) -> op index */
	uint64_t nmalformed;
	struct ft_vec bad;      /* struct ft_malformed, at most FT_MALFORMED_KEEP */
	struct ft_vec cov;      /* uint8_t, bit i: the build's cov_points[i] ran; empty: no
				 * cov record (or a build without coverage points) */

	/* filled by the checks */
	int judged;             /* ft_run_check() ran: the checks are not run again */
	struct ft_vec findings; /* struct ft_finding */
	uint64_t findings_cut;  /* found but not kept (FT_FINDINGS_MAX, FT_OP_LIVE_MAX) */
	uint64_t ops_unjudged;  /* failed ops too deep for the order check (FT_OP_DEPTH_MAX) */
	enum ft_outcome outcome;
	int expected_panic;
	const char *infra_reason;
	char reason_buf[200];
};

/* The innermost open op records of context ctx belong to (op index), FT_NONE if none. */
uint32_t ft_run_innermost(const struct ft_run *r, int64_t ctx);

static inline struct ft_event *ft_run_ev(const struct ft_run *r, uint32_t i)
{
	return FT_VEC_AT(&r->events, struct ft_event, i);
}

/* Events left out when the run is stored: those between the first and the last
 * FT_EVENTS_KEEP / 2. */
static inline uint32_t ft_run_events_cut(const struct ft_run *r)
{
	return r->events.len > FT_EVENTS_KEEP ? (uint32_t)(r->events.len - FT_EVENTS_KEEP) : 0;
}

static inline int ft_run_ev_stored(const struct ft_run *r, uint32_t i)
{
	return i < FT_EVENTS_KEEP / 2 || i >= FT_EVENTS_KEEP / 2 + ft_run_events_cut(r);
}

#endif
