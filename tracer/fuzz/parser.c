/*
 * fuzz/parser.c - libFuzzer target for the record parser alone (parser.h). The input is a
 * console stream. It is read twice, in one feed and in feeds of 1 to 13 bytes, by
 * ft_records_feed (what a run and the injector read it with). Both passes must see the same
 * lines with the same verdicts and the same records (parser.h: lines do not depend on how
 * the bytes were split); no line may exceed FT_LINE_MAX and every string a record carries
 * must lie in its line. A broken promise aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

struct digest {
	uint64_t hash;   /* FNV-1a over every line, verdict and record */
	size_t nlines;
};

static void mix(struct digest *d, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		d->hash = (d->hash ^ b[i]) * 0x100000001b3ull;
}

static void mix_str(struct digest *d, struct ft_str s, const char *line, size_t len)
{
	if (s.p && (s.p < line || s.p > line + len || s.n > (size_t)(line + len - s.p))) {
		fprintf(stderr, "fuzz-parser: a record field points outside its line\n");
		abort();
	}
	mix(d, &s.n, sizeof(s.n));
	if (s.p)
		mix(d, s.p, s.n);
}

/* The record's values, not its pointers: the two passes parse from different buffers. */
static void mix_record(struct digest *d, const struct ft_rec *r, const char *line, size_t len)
{
	if (r->npcs < 0 || r->npcs > FT_BT_MAX) {
		fprintf(stderr, "fuzz-parser: %d backtrace pcs\n", r->npcs);
		abort();
	}
	mix(d, &r->kind, sizeof(r->kind));
	mix(d, &r->cls, sizeof(r->cls));
	mix(d, &r->sub, sizeof(r->sub));
	mix(d, &r->kseq, sizeof(r->kseq));
	mix(d, &r->id, sizeof(r->id));
	mix(d, &r->addr, sizeof(r->addr));
	mix(d, &r->size, sizeof(r->size));
	mix(d, &r->pc, sizeof(r->pc));
	mix(d, &r->rc, sizeof(r->rc));
	mix(d, r->num, sizeof(r->num));
	mix(d, r->pcs, (size_t)r->npcs * sizeof(r->pcs[0]));
	mix_str(d, r->name, line, len);
	mix_str(d, r->text, line, len);
	mix_str(d, r->bt, line, len);
}

static int on_line(void *ctx, const struct ft_line *l)
{
	struct digest *d = ctx;

	if (l->n + (size_t)l->crlf > FT_LINE_MAX) {
		fprintf(stderr, "fuzz-parser: a %zu-byte line passed the %d-byte bound\n",
			l->n + (size_t)l->crlf, FT_LINE_MAX);
		abort();
	}
	d->nlines++;
	mix(d, &l->n, sizeof(l->n));
	mix(d, l->p, l->n);
	mix(d, &l->crlf, sizeof(l->crlf));
	if (l->bad)
		mix(d, l->bad, strlen(l->bad));
	else if (!l->rec)
		mix(d, l->why, strlen(l->why));
	else
		mix_record(d, l->rec, l->p, l->n);
	return 0;
}

static struct digest reassemble(const uint8_t *data, size_t size, int split)
{
	struct digest d = { 0xcbf29ce484222325ull, 0 };
	struct ft_lines lb;
	size_t off = 0, step = 0;

	ft_lines_init(&lb);
	while (off < size) {
		size_t n = split ? 1 + step++ * 7 % 13 : size;

		if (n > size - off)
			n = size - off;
		ft_records_feed(&lb, (const char *)data + off, n, on_line, &d);
		off += n;
	}
	ft_records_finish(&lb, on_line, &d);
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole = reassemble(data, size, 0);
	struct digest pieces = reassemble(data, size, 1);

	if (whole.hash != pieces.hash || whole.nlines != pieces.nlines) {
		fprintf(stderr, "fuzz-parser: one feed gave %zu lines, small feeds %zu, or their "
			"lines or records differ\n", whole.nlines, pieces.nlines);
		abort();
	}
	return 0;
}
