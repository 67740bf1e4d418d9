/*
 * record.c - formats docs/protocol.md records into a transport.
 *
 * Ownership: a record is formatted in one go into a line of at most FL_LINE_MAX bytes:
 * either straight into the transport's own buffer (reserve/commit, no copy) or into a
 * static line buffer handed to out(). Nothing here fails or allocates; over-long content is
 * truncated and the line still ends with '\n'. Numbers are written without per-byte bound
 * checks: begin() guarantees a whole line of room and each field checks its worst case once.
 */
#include "record.h"

#define NUM_MAX 22                 /* a space and the longest number */

static struct fl_transport tp;
static char linebuf[FL_LINE_MAX];
static char *o, *lim;              /* write position; lim keeps room for the '\n' */
static void (*lock)(void), (*unlock)(void);
static long (*ctx_id)(void);
static long said_ctx;              /* the context the stream last said (0 at each run) */
static bool muted;

void fl_record_init(const struct fl_transport *t)
{
	tp = *t;
}

static uintptr_t stack_lo, stack_hi;

/* fp is a frame's top, so it may equal the stack's end */
static bool one_stack(uintptr_t fp, uintptr_t *lo, uintptr_t *hi)
{
	*lo = stack_lo;
	*hi = stack_hi;
	return fp > stack_lo && fp <= stack_hi;
}

void fl_record_stack(const void *lo, const void *hi)
{
	stack_lo = (uintptr_t)lo;
	stack_hi = (uintptr_t)hi;
	if (!tp.stack_bounds)
		tp.stack_bounds = one_stack;
}

void fl_record_lock(void (*lk)(void), void (*unlk)(void))
{
	lock = lk;
	unlock = unlk;
}

void fl_record_ctx(long (*current)(void))
{
	ctx_id = current;
}

void fl_record_mute(bool on)
{
	muted = on;
}

void fl_flush(void)
{
	if (tp.flush)
		tp.flush();
}

static void put_char(char c)
{
	if (o < lim)
		*o++ = c;
}

static void put_space(void)
{
	put_char(' ');
}

/* A token: printable, no spaces; anything else becomes '_' (an empty token becomes '-'). */
static void put_token(const char *s)
{
	if (!s || !*s) {
		put_char('-');
		return;
	}
	for (; *s && o < lim; s++)
		*o++ = *s > ' ' && *s < 0x7f ? *s : '_';
}

/* Free text to the end of the line: printable ASCII and spaces. */
static void put_text(const char *s)
{
	for (; s && *s && o < lim; s++)
		*o++ = *s >= ' ' && *s < 0x7f ? *s : '?';
}

static bool room_for_num(void)
{
	return lim - o >= NUM_MAX;
}

/*
 * The hex digits of v (at least one) at p, which has room for 16; returns their end. The
 * digit count comes from a binary search, not a scan from the top nibble: records are
 * mostly addresses and backtraces, and this is the kernel's hottest formatting loop.
 */
static char *hex_at(char *p, uint64_t v)
{
	unsigned n = 1;
	uint64_t t = v;
	char *e;

	if (t >> 32) {
		n += 8;
		t >>= 32;
	}
	if (t >> 16) {
		n += 4;
		t >>= 16;
	}
	if (t >> 8) {
		n += 2;
		t >>= 8;
	}
	if (t >> 4)
		n++;
	e = p + n;
	do {
		*--e = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (e != p);
	return p + n;
}

static void put_hex(uint64_t v)
{
	if (room_for_num())
		o = hex_at(o, v);
}

static void put_udec(uint64_t v)
{
	char buf[20];
	int n = 0;

	if (!room_for_num())
		return;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = buf[--n];
}

static void put_dec(int64_t v)
{
	if (v < 0) {
		put_char('-');
		put_udec(-(uint64_t)v);
	} else {
		put_udec((uint64_t)v);
	}
}

/* one field: a separating space, then the value */
static void f_tok(const char *s)
{
	put_space();
	put_token(s);
}

static void f_udec(uint64_t v)
{
	put_space();
	put_udec(v);
}

static void f_dec(int64_t v)
{
	put_space();
	put_dec(v);
}

static void f_hex(uint64_t v)
{
	put_space();
	put_hex(v);
}

/* start a record: its type (and any fixed words) as given */
static char *line_start;

static void start(const char *type)
{
	line_start = tp.reserve ? tp.reserve(FL_LINE_MAX) : linebuf;
	o = line_start;
	lim = line_start + FL_LINE_MAX - 1;
	put_text(type);
}

static void finish(void)
{
	size_t n;

	*o++ = '\n';
	n = (size_t)(o - line_start);
	if (muted)
		return;
	if (tp.reserve)
		tp.commit(n);
	else if (tp.out)
		tp.out(linebuf, n);
}

static void begin(const char *type)
{
	if (lock)
		lock();
	start(type);
}

static void emit(void)
{
	finish();
	if (unlock)
		unlock();
}

/*
 * begin() for a record that belongs to a context (op, ref, allocator, resource, state):
 * a `ctx` record goes first when the context changed since the stream last said one.
 */
static void say_ctx(void)
{
	long now;

	if (ctx_id && (now = ctx_id()) != said_ctx && !muted) {
		said_ctx = now;
		start("ctx");
		f_dec(now);
		finish();
	}
}

static void begin_in_ctx(const char *type)
{
	if (lock)
		lock();
	say_ctx();
	start(type);
}

int fl_backtrace(uintptr_t fp, uintptr_t *out, int max)
{
	uintptr_t lo, hi;
	int n = 0;

	if (!tp.stack_bounds || !tp.stack_bounds(fp, &lo, &hi))
		return 0;
	while (n < max) {
		/* the two saved words must lie on the stack; frames grow towards hi */
		if ((fp & 7) || fp < lo + 16 || fp > hi)
			break;
		uintptr_t ra = ((const uintptr_t *)fp)[-1];
		uintptr_t next = ((const uintptr_t *)fp)[-2];
		if (!ra)
			break;
		out[n++] = ra;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

int fl_trap_backtrace(uintptr_t pc, uintptr_t ra, uintptr_t fp, uintptr_t *out, int max)
{
	uintptr_t lo, hi, saved;
	int n = 0;

	if (max < 2)
		return 0;
	out[n++] = pc;
	if (tp.stack_bounds && tp.stack_bounds(fp, &lo, &hi) && !(fp & 7) &&
	    fp >= lo + 8 && fp <= hi) {
		saved = ((const uintptr_t *)fp)[-1];
		if (saved > fp && saved <= hi) {
			/* a leaf frame: only the caller's fp was saved; ra still holds the return */
			out[n++] = ra;
			fp = saved;
		}
	}
	return n + fl_backtrace(fp, out + n, max - n);
}

static void put_frames(const uintptr_t *pcs, int n)
{
	char *p = o;

	if (!n) {
		put_char('-');
		return;
	}
	if (lim - o < n * 17) {          /* no room for the worst case: field by field */
		for (int i = 0; i < n; i++) {
			if (i)
				put_char(',');
			put_hex(pcs[i]);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		p = hex_at(p, pcs[i]);
		*p++ = ',';
	}
	o = p - 1;                       /* no comma after the last frame */
}

/* ---- stack ids: each backtrace is sent once per run (`stk`), then named by its id ---- */

#define STK_SLOTS (2 * FL_STK_MAX)   /* open addressing, never more than half full */

static struct {
	uintptr_t pcs[FL_BT_MAX];
	int n;
} stks[FL_STK_MAX];
static uint16_t stk_slot[STK_SLOTS]; /* 1 + the id of the stack hashed here; 0: empty */
static int nstks;

/* the backtrace of the record being formatted, and its id (-1: it goes inline) */
static uintptr_t bt_pcs[FL_BT_MAX];
static int bt_n, bt_id;

static void stk_reset(void)
{
	nstks = 0;
	for (int i = 0; i < STK_SLOTS; i++)
		stk_slot[i] = 0;
}

static unsigned stk_hash(const uintptr_t *pcs, int n)
{
	uint64_t h = (uint64_t)n;

	for (int i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15ULL;
	return (unsigned)(h >> 32) & (STK_SLOTS - 1);
}

static bool stk_is(int id, const uintptr_t *pcs, int n)
{
	if (stks[id].n != n)
		return false;
	for (int i = 0; i < n; i++)
		if (stks[id].pcs[i] != pcs[i])
			return false;
	return true;
}

/* The id of stack pcs[0..n), added (*added) when the run has not sent it; -1: table full. */
static int stk_intern(const uintptr_t *pcs, int n, bool *added)
{
	unsigned h = stk_hash(pcs, n);
	int id;

	*added = false;
	for (; stk_slot[h]; h = (h + 1) & (STK_SLOTS - 1))
		if (stk_is(stk_slot[h] - 1, pcs, n))
			return stk_slot[h] - 1;
	if (nstks == FL_STK_MAX)
		return -1;
	id = nstks++;
	for (int i = 0; i < n; i++)
		stks[id].pcs[i] = pcs[i];
	stks[id].n = n;
	stk_slot[h] = (uint16_t)(id + 1);
	*added = true;
	return id;
}

/*
 * begin_in_ctx() for a record with a backtrace, walked from fp: a stack the run has not
 * sent yet goes first as `stk <id> <bt>`. A muted stream interns nothing (the host would
 * never see the definition).
 */
static void begin_with_stack(const char *type, uintptr_t fp)
{
	bool added = false;

	if (lock)
		lock();
	say_ctx();
	bt_n = fl_backtrace(fp, bt_pcs, FL_BT_MAX);
	bt_id = bt_n && !muted ? stk_intern(bt_pcs, bt_n, &added) : -1;
	if (added) {
		start("stk");
		f_hex((uint64_t)bt_id);
		put_space();
		put_frames(bt_pcs, bt_n);
		finish();
	}
	start(type);
}

#if defined(FL_RECORDING) && !FL_RECORDING
/*
 * Recording off (kernel-norec.elf, the limit `make bench` measures against): of the
 * records that belong to a context only `fault` is sent, which with hello, ok/err, run,
 * ckpt, result, panic and end is all a sweep needs to go on. Every other one returns from
 * its emitter here, before anything is formatted.
 */
static bool is_fault(const char *type)
{
	const char *f = "fault";

	while (*f && *type == *f) {
		type++;
		f++;
	}
	return !*f && !*type;
}

#define begin_in_ctx(type)			\
	do {					\
		if (!is_fault(type))		\
			return;			\
		begin_in_ctx(type);		\
	} while (0)
#define begin_with_stack(type, fp)		\
	do {					\
		if (!is_fault(type))		\
			return;			\
		begin_with_stack(type, fp);	\
	} while (0)
#endif

/* the backtrace begin_with_stack() walked: `@<id>`, or its frames when it has no id */
static void put_bt(void)
{
	put_space();
	if (bt_id < 0) {
		put_frames(bt_pcs, bt_n);
		return;
	}
	put_char('@');
	put_hex((uint64_t)bt_id);
}

void fl_rec_hello(const char *build_id_hex)
{
	begin("hello faultline");
	stk_reset();
	f_udec(FL_PROTO_VERSION);
	f_tok(build_id_hex);
	emit();
}

void fl_rec_model(const char *model)
{
	begin("model");
	f_tok(model);
	emit();
}

void fl_rec_ok(const char *word)
{
	begin("ok");
	f_tok(word);
	emit();
}

void fl_rec_err(const char *word, const char *reason)
{
	begin("err");
	f_tok(word);
	f_tok(reason);
	emit();
}

void fl_rec_run(const char *scenario)
{
	said_ctx = 0;
	begin("run");
	stk_reset();
	f_tok(scenario);
	emit();
}

void fl_rec_ckpt(const char *which, unsigned long page_live, unsigned long obj_live,
		 unsigned long page_bytes, unsigned long obj_bytes)
{
	begin("ckpt");
	f_tok(which);
	f_udec(page_live);
	f_udec(obj_live);
	f_udec(page_bytes);
	f_udec(obj_bytes);
	emit();
}

void fl_rec_alloc(unsigned long seq, const char *cls, uintptr_t addr, size_t size,
		  uintptr_t pc, uintptr_t fp)
{
	begin_with_stack("alloc", fp);
	f_udec(seq);
	f_tok(cls);
	f_hex(addr);
	f_udec(size);
	f_hex(pc);
	put_bt();
	emit();
}

void fl_rec_free(unsigned long seq, const char *cls, uintptr_t addr, uintptr_t pc, uintptr_t fp)
{
	begin_with_stack("free", fp);
	f_udec(seq);
	f_tok(cls);
	f_hex(addr);
	f_hex(pc);
	put_bt();
	emit();
}

/* fault and oom share a layout */
static void rec_failed(const char *type, unsigned long seq, const char *cls, size_t size,
		       uintptr_t pc, uintptr_t fp)
{
	begin_with_stack(type, fp);
	f_udec(seq);
	f_tok(cls);
	f_udec(size);
	f_hex(pc);
	put_bt();
	emit();
}

void fl_rec_fault(unsigned long seq, const char *cls, size_t size, uintptr_t pc, uintptr_t fp)
{
	rec_failed("fault", seq, cls, size, pc, fp);
}

void fl_rec_oom(unsigned long seq, const char *cls, size_t size, uintptr_t pc, uintptr_t fp)
{
	rec_failed("oom", seq, cls, size, pc, fp);
}

void fl_rec_badfree(unsigned long seq, const char *kind, const char *cls, uintptr_t addr,
		    uintptr_t pc, uintptr_t fp)
{
	begin_with_stack("badfree", fp);
	f_udec(seq);
	f_tok(kind);
	f_tok(cls);
	f_hex(addr);
	f_hex(pc);
	put_bt();
	emit();
}

void fl_rec_site(const char *type, uintptr_t pc, uintptr_t fp)
{
	begin_with_stack(type, fp);
	f_hex(pc);
	put_bt();
	emit();
}

void fl_rec_resource(const char *verb, const char *kind, uintptr_t id, uintptr_t pc,
		     uintptr_t fp)
{
	begin_with_stack(verb, fp);
	f_tok(kind);
	f_hex(id);
	f_hex(pc);
	put_bt();
	emit();
}

void fl_rec_op_begin(int id, const char *name, uintptr_t pc)
{
	begin_in_ctx("op+");
	f_dec(id);
	f_tok(name);
	f_hex(pc);
	emit();
}

void fl_rec_op_end(int id, int rc)
{
	begin_in_ctx("op-");
	f_dec(id);
	f_dec(rc);
	emit();
}

void fl_rec_ref(const char *verb, const char *kind, uintptr_t obj, int count, uintptr_t pc)
{
	begin_in_ctx("ref");
	f_tok(verb);
	f_tok(kind);
	f_hex(obj);
	f_dec(count);
	f_hex(pc);
	emit();
}

void fl_rec_state(bool end, const char *name, uint64_t digest, int rc, uintptr_t pc)
{
	begin_in_ctx(end ? "state end" : "state begin");
	f_tok(name);
	f_hex(digest);
	f_dec(rc);
	f_hex(pc);
	emit();
}

void fl_rec_result(const char *scenario, int rc)
{
	begin("result");
	f_tok(scenario);
	f_dec(rc);
	emit();
}

void fl_rec_panic(bool expected, uintptr_t pc, uintptr_t fp, const char *msg)
{
	uintptr_t pcs[FL_BT_MAX];

	begin("panic");
	f_tok(expected ? "expected" : "unexpected");
	f_hex(pc);
	put_space();
	put_frames(pcs, fl_backtrace(fp, pcs, FL_BT_MAX));
	put_space();
	put_text(msg && *msg ? msg : "-");
	emit();
}

void fl_rec_trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp)
{
	uintptr_t pcs[FL_BT_MAX];

	begin("trap");
	f_hex(scause);
	f_hex(sepc);
	f_hex(stval);
	put_space();
	put_frames(pcs, fl_trap_backtrace(sepc, ra, fp, pcs, FL_BT_MAX));
	emit();
}

void fl_rec_cov(uintptr_t pc, const uint8_t *bits, size_t n)
{
	begin("cov");
	f_hex(pc);
	put_space();
	for (size_t i = 0; i < n && lim - o >= 2; i++) {
		*o++ = "0123456789abcdef"[bits[i] >> 4];
		*o++ = "0123456789abcdef"[bits[i] & 15];
	}
	emit();
}

void fl_rec_end(bool fired, unsigned long attempts, unsigned long faults)
{
	begin("end");
	f_udec(fired ? 1 : 0);
	f_udec(attempts);
	f_udec(faults);
	emit();
}

void fl_rec_log(const char *text)
{
	begin("log");
	put_space();
	put_text(text && *text ? text : "-");
	emit();
}

void fl_rec_poison(const char *cls, uintptr_t obj, size_t offset, uintptr_t pc, uintptr_t fp)
{
	begin_with_stack("poison", fp);
	f_tok(cls);
	f_hex(obj);
	f_udec(offset);
	f_hex(pc);
	put_bt();
	emit();
}
