/*
 * parser.h - untrusted console bytes -> lines -> records (docs/protocol.md §1, §4, §6).
 *
 * ft_lines reassembles lines from reads of any size: a line split across feeds is joined,
 * several lines in one feed are separated. A line longer than FT_LINE_MAX (terminator
 * "\n" or "\r\n" included) is reported once as oversized and discarded up to its '\n';
 * the reassembly buffer never holds more than the bound. ft_parse_record turns one line into
 * a record or says why it is malformed, by the layouts of records.def. ft_records_feed does
 * both for every reader of a console. None allocates or recurses.
 */
#ifndef FT_PARSER_H
#define FT_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "tracer.h"

/* The record types, in records.def's order. */
#define FT_RECORD(kind, name, nfields, rest, parse, fields) FT_K_##kind,
enum ft_kind {
#include "records.def"
	FT_K_COUNT
};
#undef FT_RECORD
const char *ft_kind_name(enum ft_kind k);


/*
 * The fault classes (docs/protocol.md §4). page and obj are allocators: the only classes of
 * alloc, free, badfree and poison records. io is a device operation: a class of fault and
 * oom records only.
 */
enum ft_class { FT_CL_NONE, FT_CL_PAGE, FT_CL_OBJ, FT_CL_IO, FT_CL_COUNT };
const char *ft_class_name(int cls);
/* The class named s (n bytes), or FT_CL_NONE. */
int ft_class_by_name(const char *s, size_t n);

enum { FT_BAD_DOUBLE, FT_BAD_INVALID, FT_BAD_MISMATCH };   /* badfree sub */
enum { FT_REF_NEW, FT_REF_GET, FT_REF_PUT };               /* ref sub */
enum { FT_CKPT_BASELINE, FT_CKPT_END };                    /* ckpt sub */
enum { FT_PANIC_EXPECTED, FT_PANIC_UNEXPECTED };           /* panic sub */
enum { FT_STATE_BEGIN, FT_STATE_END };                     /* state sub */
enum { FT_MODEL_INIT_IN_RUN, FT_MODEL_AFTER_BOOT };        /* model sub */

#define FT_BT_MAX 8
#define FT_STK_MAX 256       /* stack ids a run may define (stk records), 0 .. 255 */
#define FT_COV_BYTES_MAX 244 /* bitmap bytes in one cov record */

struct ft_str {
	const char *p;
	size_t n;
};

/* One record; string fields point into the line given to ft_parse_record. */
struct ft_rec {
	enum ft_kind kind;
	int cls;           /* enum ft_class */
	int sub;           /* badfree kind, ref verb, ckpt kind, panic kind, state begin/end,
			    * run model */
	int64_t kseq;      /* allocator records: the kernel's attempt counter */
	int64_t id;        /* op+/op-: op id; ctx: context id */
	uint64_t addr;     /* alloc/free/badfree/poison: object; ref: obj; trap: stval;
			    * state: digest; acq/rel: id */
	int64_t size;      /* alloc/fault/oom; poison: offset of the changed byte */
	uint64_t pc;       /* caller pc; op+ pc; ref pc; panic pc; trap sepc; recover pc;
			    * state pc; cov first slot */
	int64_t rc;        /* op- rc, result rc, ref count, hello version, state rc */
	int64_t num[4];    /* ckpt: page-live obj-live page-bytes obj-bytes; end: fired attempts
			    * faults; trap: scause */
	struct ft_str name; /* op name, scenario, ref kind, ok/err word, hello build id, state,
			     * acq/rel resource kind */
	struct ft_str text; /* panic message, log text, err reason, cov bitmap (hex) */
	struct ft_str bt;   /* backtrace token as received ("-" when empty) */
	uint64_t pcs[FT_BT_MAX];
	int npcs;
	int stk_ref;        /* bt is "@<id>": pcs are those of the run's stk record stk */
	uint32_t stk;       /* stk: the id it defines; with stk_ref: the id named */
};

/* One record type as records.def declares it (see there for what each member means). */
struct ft_layout {
	const char *name;
	int nfields;
	int rest;
	int (*parse)(const struct ft_str *tok, struct ft_rec *r, const char **reason);
	const char *fields;
};

/* The layout of record type k, NULL past the last. */
const struct ft_layout *ft_layout(enum ft_kind k);

/*
 * Parse one line (without its '\n'; a trailing '\r' must already be stripped).
 * Returns 0 and fills r, or -1 with a static reason string.
 */
int ft_parse_record(const char *line, size_t len, struct ft_rec *r, const char **reason);

/* Line reassembly. */
struct ft_lines {
	char buf[FT_LINE_MAX];
	size_t len;
	int discarding; /* inside an oversized line: drop bytes up to '\n' */
};

/*
 * Called once per line: (line, len) without the '\n'; bad is NULL for a complete line of
 * legal length, else "oversized" or "truncated" with the bytes kept so far. Returns nonzero
 * to stop the feed right after this line.
 */
typedef int (*ft_line_fn)(void *ctx, const char *line, size_t len, const char *bad);

void ft_lines_init(struct ft_lines *lb);
/* Returns the bytes of p taken: n, or fewer when fn asked to stop (the rest is not seen). */
size_t ft_lines_feed(struct ft_lines *lb, const char *p, size_t n, ft_line_fn fn, void *ctx);
/* End of stream: a pending partial line is reported as truncated. */
void ft_lines_finish(struct ft_lines *lb, ft_line_fn fn, void *ctx);

/*
 * Reading records: line reassembly and ft_parse_record in one, for every reader of a
 * console (a run, and the injector between runs). Each line comes as an ft_line: its
 * bytes, and the record it holds or why it holds none.
 */
struct ft_line {
	const char *p;            /* without the '\n', and without the '\r' of a "\r\n" ... */
	size_t n;
	int crlf;                 /* ... which was there */
	const char *bad;          /* "oversized" or "truncated": p holds what was kept, as is */
	const struct ft_rec *rec; /* the record; NULL when bad or when it does not parse */
	const char *why;          /* why it does not parse (bad: NULL) */
};

/* Called once per line; returns nonzero to stop the feed right after this line. */
typedef int (*ft_record_fn)(void *ctx, const struct ft_line *l);

/* Feed bytes of any split; returns the bytes taken (n unless fn asked to stop). */
size_t ft_records_feed(struct ft_lines *lb, const char *p, size_t n, ft_record_fn fn,
		       void *ctx);
/* End of stream: a pending partial line comes as truncated. */
void ft_records_finish(struct ft_lines *lb, ft_record_fn fn, void *ctx);

#endif
