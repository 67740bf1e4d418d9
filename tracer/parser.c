/* parser.c - line reassembly and record parsing; see parser.h for the contract. */
#include "parser.h"

#include <string.h>

/* every class: its name, and whether it is an allocator's (records about memory name it) */
static const struct {
	const char *name;
	int memory;
} classes[FT_CL_COUNT] = {
	[FT_CL_PAGE] = { "page", 1 },
	[FT_CL_OBJ] = { "obj", 1 },
	[FT_CL_IO] = { "io", 0 },
};

const char *ft_class_name(int cls)
{
	return cls > FT_CL_NONE && cls < FT_CL_COUNT ? classes[cls].name : NULL;
}

int ft_class_by_name(const char *s, size_t n)
{
	for (int c = FT_CL_NONE + 1; c < FT_CL_COUNT; c++)
		if (strlen(classes[c].name) == n && !memcmp(s, classes[c].name, n))
			return c;
	return FT_CL_NONE;
}

/* ---- line reassembly ---------------------------------------------------------------- */

void ft_lines_init(struct ft_lines *lb)
{
	lb->len = 0;
	lb->discarding = 0;
}

/* A complete line of n bytes (without '\n') fits when it has at most FT_LINE_MAX - 1 bytes,
 * or one more if that one is the '\r' of a "\r\n" terminator. */
static int fits(const char *line, size_t n)
{
	return n < FT_LINE_MAX || (n == FT_LINE_MAX && line[n - 1] == '\r');
}

size_t ft_lines_feed(struct ft_lines *lb, const char *p, size_t n, ft_line_fn fn, void *ctx)
{
	const char *start = p;
	int stop = 0;

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (lb->discarding) {
			/* skip the rest of an oversized line */
		} else if (lb->len == 0 && nl && fits(p, take)) {
			stop = fn(ctx, p, take, NULL); /* whole line inside this feed: no copy */
		} else if (lb->len + take <= FT_LINE_MAX) {
			memcpy(lb->buf + lb->len, p, take);
			lb->len += take;
			if (nl) {
				stop = fn(ctx, lb->buf, lb->len,
					  fits(lb->buf, lb->len) ? NULL : "oversized");
				lb->len = 0;
			}
		} else {
			size_t room = FT_LINE_MAX - lb->len;

			memcpy(lb->buf + lb->len, p, room);
			lb->len += room;
			stop = fn(ctx, lb->buf, lb->len, "oversized");
			lb->len = 0;
			lb->discarding = 1;
		}
		if (!nl)
			return (size_t)(p + take - start);
		lb->discarding = 0;
		p = nl + 1;
		n -= take + 1;
		if (stop)
			break;
	}
	return (size_t)(p - start);
}

void ft_lines_finish(struct ft_lines *lb, ft_line_fn fn, void *ctx)
{
	if (lb->len && !lb->discarding)
		fn(ctx, lb->buf, lb->len, "truncated");
	lb->len = 0;
	lb->discarding = 0;
}

/* ---- tokens and numbers ------------------------------------------------------------- */

/*
 * Split s into tokens separated by single spaces. At most max tokens; when rest is set the
 * last token takes the remainder of the line verbatim (it may be empty or hold spaces).
 * Returns the number of tokens, max + 1 if there are too many, -1 on an empty token.
 */
static int split(const char *s, size_t n, struct ft_str *tok, int max, int rest)
{
	size_t i = 0;
	int nt = 0;

	for (;;) {
		size_t start = i;

		if (rest && nt == max - 1) {
			tok[nt].p = s + i;
			tok[nt].n = n - i;
			return max;
		}
		while (i < n && s[i] != ' ')
			i++;
		if (i == start)
			return -1;
		if (nt == max)
			return max + 1;
		tok[nt].p = s + start;
		tok[nt].n = i - start;
		nt++;
		if (i == n)
			return nt;
		i++; /* the separator */
		if (i == n) {
			if (rest && nt == max - 1) {
				tok[nt].p = s + i;
				tok[nt].n = 0;
				return max;
			}
			return -1; /* trailing space */
		}
	}
}

static int tok_is_n(struct ft_str t, const char *w, size_t n)
{
	return t.n == n && memcmp(t.p, w, n) == 0;
}

/* w is a string literal: its length is known at compile time */
#define tok_is(t, w) tok_is_n((t), (w), sizeof(w) - 1)

static int parse_hex(struct ft_str t, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (t.n == 0 || t.n > 16)
		return -1;
	for (i = 0; i < t.n; i++) {
		char c = t.p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int all_hex(struct ft_str t)
{
	size_t i;

	for (i = 0; i < t.n; i++)
		if (!((t.p[i] >= '0' && t.p[i] <= '9') || (t.p[i] >= 'a' && t.p[i] <= 'f')))
			return 0;
	return t.n > 0;
}

static int parse_dec(struct ft_str t, int is_signed, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;

	if (t.n && t.p[0] == '-' && is_signed) {
		neg = 1;
		i = 1;
	}
	if (i == t.n || t.n - i > 19)
		return -1;
	for (; i < t.n; i++) {
		char c = t.p[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int parse_udec(struct ft_str t, int64_t *out)
{
	return parse_dec(t, 0, out);
}

/* Any class (fault and oom records). */
static int parse_any_class(struct ft_str t, int *cls)
{
	*cls = ft_class_by_name(t.p, t.n);
	return *cls == FT_CL_NONE ? -1 : 0;
}

/* An allocator's class (records about memory: alloc, free, badfree, poison). */
static int parse_class(struct ft_str t, int *cls)
{
	return parse_any_class(t, cls) < 0 || !classes[*cls].memory ? -1 : 0;
}

/* A stack id (stk, "@<id>"): hex, below FT_STK_MAX. */
static int parse_stk_id(struct ft_str t, uint32_t *id)
{
	uint64_t v;

	if (parse_hex(t, &v) < 0 || v >= FT_STK_MAX)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/* A backtrace: "-", frames "<hex>,<hex>...", or "@<id>" naming a stk record's frames. */
static int parse_bt(struct ft_str t, struct ft_rec *r)
{
	size_t i = 0;

	r->bt = t;
	r->npcs = 0;
	if (tok_is(t, "-"))
		return 0;
	if (t.n && t.p[0] == '@') {
		r->stk_ref = 1;
		return parse_stk_id((struct ft_str){ t.p + 1, t.n - 1 }, &r->stk);
	}
	while (i <= t.n) {
		struct ft_str one = { t.p + i, 0 };

		while (i + one.n < t.n && t.p[i + one.n] != ',')
			one.n++;
		if (r->npcs == FT_BT_MAX || parse_hex(one, &r->pcs[r->npcs]) < 0)
			return -1;
		r->npcs++;
		i += one.n + 1;
	}
	return 0;
}

/* ---- records ------------------------------------------------------------------------ */

/* The fields ref and state end with: an address (ref: object, state: digest), a signed
 * number (ref: count, state: rc) and a pc. */
static int parse_addr_rc_pc(const struct ft_str *t, struct ft_rec *r)
{
	return parse_hex(t[0], &r->addr) < 0 || parse_dec(t[1], 1, &r->rc) < 0 ||
	       parse_hex(t[2], &r->pc) < 0 ? -1 : 0;
}

#define FAIL(why) do { *reason = (why); return -1; } while (0)

static int rec_hello(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (!tok_is(tok[1], "faultline"))
		FAIL("hello: not faultline");
	if (parse_udec(tok[2], &r->rc) < 0)
		FAIL("hello: bad version");
	if (!all_hex(tok[3]))
		FAIL("hello: bad build id");
	r->name = tok[3];
	return 0;
}

static int rec_name(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	(void)reason; /* cannot fail */
	r->name = tok[1];
	return 0;
}

static int rec_err(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	(void)reason; /* cannot fail */
	r->name = tok[1];
	r->text = tok[2];
	return 0;
}

static int rec_ckpt(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	int i;

	if (tok_is(tok[1], "baseline"))
		r->sub = FT_CKPT_BASELINE;
	else if (tok_is(tok[1], "end"))
		r->sub = FT_CKPT_END;
	else
		FAIL("ckpt: unknown kind");
	for (i = 0; i < 4; i++)
		if (parse_udec(tok[2 + i], &r->num[i]) < 0)
			FAIL("ckpt: bad number");
	r->name = tok[1];
	r->text.p = tok[2].p;
	r->text.n = (size_t)(tok[5].p + tok[5].n - tok[2].p);
	return 0;
}

static int rec_alloc(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_udec(tok[1], &r->kseq) < 0 || parse_class(tok[2], &r->cls) < 0 ||
	    parse_hex(tok[3], &r->addr) < 0 || parse_udec(tok[4], &r->size) < 0 ||
	    parse_hex(tok[5], &r->pc) < 0)
		FAIL("alloc: bad field");
	if (parse_bt(tok[6], r) < 0)
		FAIL("alloc: bad backtrace");
	return 0;
}

static int rec_free(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_udec(tok[1], &r->kseq) < 0 || parse_class(tok[2], &r->cls) < 0 ||
	    parse_hex(tok[3], &r->addr) < 0 || parse_hex(tok[4], &r->pc) < 0)
		FAIL("free: bad field");
	if (parse_bt(tok[5], r) < 0)
		FAIL("free: bad backtrace");
	return 0;
}

static int rec_failure(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_udec(tok[1], &r->kseq) < 0 || parse_any_class(tok[2], &r->cls) < 0 ||
	    parse_udec(tok[3], &r->size) < 0 || parse_hex(tok[4], &r->pc) < 0)
		FAIL("fault/oom: bad field");
	if (parse_bt(tok[5], r) < 0)
		FAIL("fault/oom: bad backtrace");
	return 0;
}

static int rec_badfree(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (tok_is(tok[2], "double"))
		r->sub = FT_BAD_DOUBLE;
	else if (tok_is(tok[2], "invalid"))
		r->sub = FT_BAD_INVALID;
	else if (tok_is(tok[2], "mismatch"))
		r->sub = FT_BAD_MISMATCH;
	else
		FAIL("badfree: unknown kind");
	if (parse_udec(tok[1], &r->kseq) < 0 || parse_class(tok[3], &r->cls) < 0 ||
	    parse_hex(tok[4], &r->addr) < 0 || parse_hex(tok[5], &r->pc) < 0)
		FAIL("badfree: bad field");
	if (parse_bt(tok[6], r) < 0)
		FAIL("badfree: bad backtrace");
	r->name = tok[2];
	return 0;
}

static int rec_op_begin(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_dec(tok[1], 1, &r->id) < 0 || parse_hex(tok[3], &r->pc) < 0)
		FAIL("op+: bad field");
	r->name = tok[2];
	return 0;
}

static int rec_op_end(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_dec(tok[1], 1, &r->id) < 0 || parse_dec(tok[2], 1, &r->rc) < 0)
		FAIL("op-: bad field");
	return 0;
}

static int rec_ref(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (tok_is(tok[1], "new"))
		r->sub = FT_REF_NEW;
	else if (tok_is(tok[1], "get"))
		r->sub = FT_REF_GET;
	else if (tok_is(tok[1], "put"))
		r->sub = FT_REF_PUT;
	else
		FAIL("ref: unknown verb");
	if (parse_addr_rc_pc(tok + 3, r) < 0)
		FAIL("ref: bad field");
	r->name = tok[2];
	r->text = tok[1];
	return 0;
}

static int rec_result(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_dec(tok[2], 1, &r->rc) < 0)
		FAIL("result: bad rc");
	r->name = tok[1];
	return 0;
}

static int rec_panic(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (tok_is(tok[1], "expected"))
		r->sub = FT_PANIC_EXPECTED;
	else if (tok_is(tok[1], "unexpected"))
		r->sub = FT_PANIC_UNEXPECTED;
	else
		FAIL("panic: unknown kind");
	if (parse_hex(tok[2], &r->pc) < 0)
		FAIL("panic: bad pc");
	if (parse_bt(tok[3], r) < 0)
		FAIL("panic: bad backtrace");
	r->name = tok[1];
	r->text = tok[4];
	return 0;
}

static int rec_trap(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	uint64_t scause;

	if (parse_hex(tok[1], &scause) < 0 || parse_hex(tok[2], &r->pc) < 0 ||
	    parse_hex(tok[3], &r->addr) < 0)
		FAIL("trap: bad field");
	if (parse_bt(tok[4], r) < 0)
		FAIL("trap: bad backtrace");
	r->num[0] = (int64_t)scause;
	r->text.p = tok[1].p;
	r->text.n = (size_t)(tok[3].p + tok[3].n - tok[1].p);
	return 0;
}

static int rec_end(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if ((!tok_is(tok[1], "0") && !tok_is(tok[1], "1")) ||
	    parse_udec(tok[2], &r->num[1]) < 0 || parse_udec(tok[3], &r->num[2]) < 0)
		FAIL("end: bad field");
	r->num[0] = tok[1].p[0] - '0';
	r->text.p = tok[1].p;
	r->text.n = (size_t)(tok[3].p + tok[3].n - tok[1].p);
	return 0;
}

static int rec_log(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	(void)reason; /* cannot fail */
	r->text = tok[1];
	return 0;
}

static int rec_recover(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_hex(tok[1], &r->pc) < 0)
		FAIL("recover: bad pc");
	if (parse_bt(tok[2], r) < 0)
		FAIL("recover: bad backtrace");
	return 0;
}

static int rec_state(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (tok_is(tok[1], "begin"))
		r->sub = FT_STATE_BEGIN;
	else if (tok_is(tok[1], "end"))
		r->sub = FT_STATE_END;
	else
		FAIL("state: neither begin nor end");
	if (parse_addr_rc_pc(tok + 3, r) < 0)
		FAIL("state: bad field");
	r->name = tok[2];
	return 0;
}

static int rec_resource(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_hex(tok[2], &r->addr) < 0 || parse_hex(tok[3], &r->pc) < 0)
		FAIL("acq/rel: bad field");
	if (parse_bt(tok[4], r) < 0)
		FAIL("acq/rel: bad backtrace");
	r->name = tok[1];
	return 0;
}

static int rec_cov(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_hex(tok[1], &r->pc) < 0 || (r->pc & 1))
		FAIL("cov: bad pc");
	if (!all_hex(tok[2]) || tok[2].n % 2)
		FAIL("cov: bad bitmap");
	if (tok[2].n / 2 > FT_COV_BYTES_MAX)
		FAIL("cov: bitmap too long");
	if (r->pc > UINT64_MAX - 16 * tok[2].n / 2)
		FAIL("cov: past the address space");
	r->text = tok[2];
	return 0;
}

static int rec_poison(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_class(tok[1], &r->cls) < 0 || parse_hex(tok[2], &r->addr) < 0 ||
	    parse_udec(tok[3], &r->size) < 0 || parse_hex(tok[4], &r->pc) < 0)
		FAIL("poison: bad field");
	if (parse_bt(tok[5], r) < 0)
		FAIL("poison: bad backtrace");
	return 0;
}

static int rec_ctx(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_dec(tok[1], 1, &r->id) < 0)
		FAIL("ctx: bad context id");
	return 0;
}

static int rec_model(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (tok_is(tok[1], "init-in-run"))
		r->sub = FT_MODEL_INIT_IN_RUN;
	else if (tok_is(tok[1], "after-boot"))
		r->sub = FT_MODEL_AFTER_BOOT;
	else
		FAIL("model: unknown run model");
	r->name = tok[1];
	return 0;
}

static int rec_stk(const struct ft_str *tok, struct ft_rec *r, const char **reason)
{
	if (parse_stk_id(tok[1], &r->stk) < 0)
		FAIL("stk: bad id or past the table");
	if (parse_bt(tok[2], r) < 0 || r->stk_ref || !r->npcs)
		FAIL("stk: bad backtrace");
	return 0;
}

#define FT_RECORD(kind, name, nfields, rest, parse, fields) \
	[FT_K_##kind] = { name, nfields, rest, parse, fields },
static const struct ft_layout layouts[FT_K_COUNT] = {
#include "records.def"
};
#undef FT_RECORD

const char *ft_kind_name(enum ft_kind k)
{
	return (unsigned)k < FT_K_COUNT ? layouts[k].name : "?";
}

const struct ft_layout *ft_layout(enum ft_kind k)
{
	return (unsigned)k < FT_K_COUNT ? &layouts[k] : NULL;
}

static enum ft_kind kind_of(struct ft_str t)
{
	int k;

	for (k = 0; k < FT_K_COUNT; k++)
		if (layouts[k].name[0] == t.p[0] &&
		    tok_is_n(t, layouts[k].name, strlen(layouts[k].name)))
			return (enum ft_kind)k;
	return FT_K_COUNT;
}

int ft_parse_record(const char *line, size_t len, struct ft_rec *r, const char **reason)
{
	struct ft_str tok[8], first = { line, 0 };
	const struct ft_layout *l;
	size_t i;
	int nt;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c > 0x7e)
			FAIL("non-printable byte");
	}
	if (len == 0)
		FAIL("empty line");
	memset(r, 0, sizeof(*r));
	while (first.n < len && line[first.n] != ' ')
		first.n++;
	r->kind = kind_of(first);
	if (r->kind == FT_K_COUNT)
		FAIL("unknown record type");
	l = &layouts[r->kind];
	nt = split(line, len, tok, l->nfields, l->rest);
	if (nt < 0)
		FAIL("empty field (double or trailing space)");
	if (l->rest && nt == l->nfields - 1) {
		tok[nt].p = line + len; /* the record's free text is empty */
		tok[nt].n = 0;
		nt++;
	}
	if (nt < l->nfields)
		FAIL("missing field");
	if (nt > l->nfields)
		FAIL("extra field");
	return l->parse(tok, r, reason);
}

/* ---- records from a stream ---------------------------------------------------------- */

struct records_ctx {
	ft_record_fn fn;
	void *ctx;
};

static int one_record(void *ctx, const char *line, size_t len, const char *bad)
{
	const struct records_ctx *rc = ctx;
	struct ft_line l = { line, len, 0, bad, NULL, NULL };
	struct ft_rec rec;

	if (!bad) {
		l.crlf = len && line[len - 1] == '\r';
		l.n -= (size_t)l.crlf;
		if (ft_parse_record(l.p, l.n, &rec, &l.why) == 0)
			l.rec = &rec;
	}
	return rc->fn(rc->ctx, &l);
}

size_t ft_records_feed(struct ft_lines *lb, const char *p, size_t n, ft_record_fn fn,
		       void *ctx)
{
	struct records_ctx rc = { fn, ctx };

	return ft_lines_feed(lb, p, n, one_record, &rc);
}

void ft_records_finish(struct ft_lines *lb, ft_record_fn fn, void *ctx)
{
	struct records_ctx rc = { fn, ctx };

	ft_lines_finish(lb, one_record, &rc);
}
