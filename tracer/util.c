/* util.c - containers shared by the tracer's parts (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ft_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "tracer: out of memory (%zu bytes)\n", n);
		abort();
	}
	return q;
}

char *ft_xstrdup(const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *d = ft_xrealloc(NULL, n);

	memcpy(d, s ? s : "", n);
	return d;
}

void ft_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void ft_vec_init(struct ft_vec *v, size_t elsz)
{
	memset(v, 0, sizeof(*v));
	v->elsz = elsz;
}

void ft_vec_free(struct ft_vec *v)
{
	free(v->data);
	v->data = NULL;
	v->len = v->cap = 0;
}

void *ft_vec_push(struct ft_vec *v)
{
	char *p;

	if (v->len == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->data = ft_xrealloc(v->data, v->cap * v->elsz);
	}
	p = (char *)v->data + v->len++ * v->elsz;
	memset(p, 0, v->elsz);
	return p;
}

void ft_arena_init(struct ft_arena *a)
{
	memset(a, 0, sizeof(*a));
	ft_arena_reset(a);
}

void ft_arena_free(struct ft_arena *a)
{
	unsigned k;

	for (k = 0; k < FT_ARENA_NBLOCKS; k++)
		free(a->block[k]);
	memset(a, 0, sizeof(*a));
}

/* Forget every string but keep the blocks for the next ones. */
void ft_arena_reset(struct ft_arena *a)
{
	a->len = 0;
	ft_arena_add(a, "", 0); /* offset 0 means "none" */
}

uint32_t ft_arena_add(struct ft_arena *a, const char *s, size_t n)
{
	uint64_t off = a->len;
	unsigned k = ft_arena_block_of(off);

	/* a string lives in one block: the rest of a block too small for it stays unused */
	while (off + n + 1 > ft_arena_base(k + 1)) {
		if (++k == FT_ARENA_NBLOCKS) {
			fprintf(stderr, "tracer: string arena over 4 GiB\n");
			abort();
		}
		off = ft_arena_base(k);
	}
	if (!a->block[k])
		a->block[k] = ft_xrealloc(NULL, (size_t)FT_ARENA_BLOCK << k);
	memcpy(a->block[k] + (off - ft_arena_base(k)), s, n);
	a->block[k][off - ft_arena_base(k) + n] = 0;
	a->len = off + n + 1;
	return (uint32_t)off;
}

/* 64-bit mix (splitmix64 finalizer): cheap and good enough for pointers and pcs. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t ft_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ n, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = mix64(h ^ w);
	}
	w = 0;
	memcpy(&w, s + i, n - i);
	return mix64(h ^ w);
}

void ft_map_init(struct ft_map *m)
{
	memset(m, 0, sizeof(*m));
}

void ft_map_free(struct ft_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void ft_map_clear(struct ft_map *m)
{
	if (m->slots && m->len)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
}

static inline size_t slot_of(const struct ft_map *m, uint64_t k1, uint64_t k2)
{
	return (size_t)(mix64(k1 ^ mix64(k2 + 0x9e3779b97f4a7c15ULL)) & (m->cap - 1));
}

uint32_t *ft_map_get(const struct ft_map *m, uint64_t k1, uint64_t k2)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = slot_of(m, k1, k2);; i = (i + 1) & (m->cap - 1)) {
		struct ft_map_slot *s = &m->slots[i];

		if (!s->used)
			return NULL;
		if (s->k1 == k1 && s->k2 == k2)
			return &s->val;
	}
}

static void map_grow(struct ft_map *m)
{
	struct ft_map_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->cap = oldcap ? oldcap * 2 : 64;
	m->slots = ft_xrealloc(NULL, m->cap * sizeof(*m->slots));
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].used)
			ft_map_put(m, old[i].k1, old[i].k2, old[i].val);
	free(old);
}

void ft_map_put(struct ft_map *m, uint64_t k1, uint64_t k2, uint32_t val)
{
	size_t i;

	if ((m->len + 1) * 4 > m->cap * 3)
		map_grow(m);
	for (i = slot_of(m, k1, k2);; i = (i + 1) & (m->cap - 1)) {
		struct ft_map_slot *s = &m->slots[i];

		if (!s->used) {
			s->k1 = k1;
			s->k2 = k2;
			s->val = val;
			s->used = 1;
			m->len++;
			return;
		}
		if (s->k1 == k1 && s->k2 == k2) {
			s->val = val;
			return;
		}
	}
}

int ft_map_del(struct ft_map *m, uint64_t k1, uint64_t k2)
{
	size_t mask = m->cap - 1, i, j;
	uint32_t *v = ft_map_get(m, k1, k2);

	if (!v)
		return 0;
	i = (size_t)((struct ft_map_slot *)((char *)v - offsetof(struct ft_map_slot, val)) -
		     m->slots);
	/* Backward-shift: pull later members of the probe run into the hole. */
	for (j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->slots[j].k1, m->slots[j].k2);
		int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);

		if (movable) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->len--;
	return 1;
}

size_t ft_escape(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (!cap)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : (c == '\\' ? 2 : 4);

		if (o + need + 1 > cap)
			break;
		if (need == 1) {
			out[o++] = (char)c;
		} else if (need == 2) {
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = 0;
	return o;
}

int ft_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}
