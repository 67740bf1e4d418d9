/*
 * hook.c - the fault countdown and its filters.
 *
 * Ownership: one static arming, written only by fl_hook_arm() and cleared by
 * fl_hook_run_end(). Parsing is all-or-nothing: a malformed `arm` leaves the state untouched.
 */
#include "hook.h"
#include "record.h"

struct arming {
	bool armed;
	bool persist;
	int cls;                  /* -1: any class */
	uintptr_t lo, hi;         /* counted pcs lie in [lo, hi); hi == 0: no range */
	unsigned long n;          /* the n-th counted attempt fails */
};

static struct arming arm;
static unsigned long seq;         /* attempts of any class this run */
static unsigned long counted;     /* attempts that matched the filters */
static unsigned long faults;
static bool suspended;            /* attempts are neither counted nor failed */

static const char *const class_names[FL_NCLASS] = {
	[FL_CLASS_PAGE] = "page",
	[FL_CLASS_OBJ] = "obj",
	[FL_CLASS_IO] = "io",
};

const char *fl_class_name(enum fl_class cls)
{
	return (unsigned)cls < FL_NCLASS ? class_names[cls] : "?";
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static bool has_prefix(const char *s, const char *p, const char **rest)
{
	while (*p)
		if (*s++ != *p++)
			return false;
	*rest = s;
	return true;
}

/* The class named s, or -1. */
static int class_by_name(const char *s)
{
	for (int c = 0; c < FL_NCLASS; c++)
		if (streq(s, class_names[c]))
			return c;
	return -1;
}

/* Parse a whole token as a number in base 10 or 16; false on any junk or overflow. */
static bool parse_num(const char *s, unsigned base, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* Split the next space-separated token into buf (bounded); returns false at end of input. */
static bool next_token(const char **s, char *buf, unsigned size, bool *too_long)
{
	unsigned n = 0;

	while (**s == ' ')
		(*s)++;
	if (!**s)
		return false;
	*too_long = false;
	while (**s && **s != ' ') {
		if (n + 1 < size)
			buf[n++] = **s;
		else
			*too_long = true;
		(*s)++;
	}
	buf[n] = 0;
	return true;
}

int fl_hook_arm(const char *args, const char **reason)
{
	struct arming a = { .armed = true, .cls = -1 };
	char tok[40];
	const char *v;
	bool too_long, have_lo = false, have_hi = false;
	uint64_t num;

	if (!next_token(&args, tok, sizeof(tok), &too_long) || too_long ||
	    !parse_num(tok, 10, &num) || num == 0) {
		*reason = "bad-count";
		return -1;
	}
	a.n = num;
	if (!next_token(&args, tok, sizeof(tok), &too_long) || too_long) {
		*reason = "bad-mode";
		return -1;
	}
	if (streq(tok, "persist"))
		a.persist = true;
	else if (!streq(tok, "once")) {
		*reason = "bad-mode";
		return -1;
	}
	while (next_token(&args, tok, sizeof(tok), &too_long)) {
		if (too_long) {
			*reason = "bad-filter";
			return -1;
		}
		if (has_prefix(tok, "class=", &v)) {
			a.cls = class_by_name(v);
			if (a.cls < 0) {
				*reason = "bad-class";
				return -1;
			}
		} else if (has_prefix(tok, "lo=", &v) && parse_num(v, 16, &num)) {
			a.lo = num;
			have_lo = true;
		} else if (has_prefix(tok, "hi=", &v) && parse_num(v, 16, &num)) {
			a.hi = num;
			have_hi = true;
		} else {
			*reason = "bad-filter";
			return -1;
		}
	}
	if (have_lo != have_hi || (have_hi && a.hi <= a.lo)) {
		*reason = "bad-range";
		return -1;
	}
	arm = a;
	return 0;
}

bool fl_hook_is_armed(void)
{
	return arm.armed;
}

void fl_hook_run_begin(void)
{
	seq = 0;
	counted = 0;
	faults = 0;
}

void fl_hook_suspend(bool on)
{
	suspended = on;
}

bool fl_hook_attempt(enum fl_class cls, uintptr_t pc, unsigned long *seqp)
{
	if (suspended) {
		*seqp = 0;
		return false;
	}
	*seqp = ++seq;
	if (!arm.armed)
		return false;
	if (arm.cls >= 0 && arm.cls != (int)cls)
		return false;
	if (arm.hi && (pc < arm.lo || pc >= arm.hi))
		return false;
	counted++;
	if (counted == arm.n || (arm.persist && counted > arm.n)) {
		faults++;
		return true;
	}
	return false;
}

/* out of line, so that the fault is blamed on the driver function that asked */
__attribute__((noinline)) bool fl_io_fails(void)
{
	uintptr_t pc = (uintptr_t)__builtin_return_address(0);
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	unsigned long seqno;

	if (!fl_hook_attempt(FL_CLASS_IO, pc, &seqno))
		return false;
	fl_rec_fault(seqno, fl_class_name(FL_CLASS_IO), 0, pc, fp);
	return true;
}

unsigned long fl_hook_seq(void)
{
	return seq;
}

bool fl_alloc_fails(struct fl_alloc *fa, enum fl_class cls, size_t size, uintptr_t pc,
		    uintptr_t fp)
{
	*fa = (struct fl_alloc){ .cls = cls, .size = size, .pc = pc, .fp = fp };
	if (!fl_hook_attempt(cls, pc, &fa->seq))
		return false;
	fl_rec_fault(fa->seq, fl_class_name(cls), size, pc, fp);
	return true;
}

void *fl_alloc_done(const struct fl_alloc *fa, void *p)
{
	if (p)
		fl_rec_alloc(fa->seq, fl_class_name(fa->cls), (uintptr_t)p, fa->size, fa->pc,
			     fa->fp);
	else
		fl_rec_oom(fa->seq, fl_class_name(fa->cls), fa->size, fa->pc, fa->fp);
	return p;
}

bool fl_free_done(enum fl_class cls, const void *p, const char *bad, uintptr_t pc,
		  uintptr_t fp)
{
	if (bad)
		fl_rec_badfree(seq, bad, fl_class_name(cls), (uintptr_t)p, pc, fp);
	else
		fl_rec_free(seq, fl_class_name(cls), (uintptr_t)p, pc, fp);
	return bad != NULL;
}

void fl_hook_run_end(struct fl_hook_stats *st)
{
	st->fired = faults > 0;
	st->attempts = seq;
	st->faults = faults;
	arm = (struct arming){ .cls = -1 };
}
