/*
 * util.h - small containers for the tracer: a growable byte/element buffer and an
 * open-addressing hash map from a (u64, u64) key to a u32 value. No per-item allocation:
 * both grow by doubling, so the hot path of ingest stays allocation-free once warm.
 */
#ifndef FT_UTIL_H
#define FT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Growable array of fixed-size elements (elsz bytes each). */
struct ft_vec {
	void *data;
	size_t len, cap, elsz;
};

void ft_vec_init(struct ft_vec *v, size_t elsz);
void ft_vec_free(struct ft_vec *v);
/* Append one zeroed element; returns it. Aborts on out-of-memory (see ft_xrealloc). */
void *ft_vec_push(struct ft_vec *v);
#define FT_VEC_AT(v, type, i) (&((type *)(v)->data)[i])

/*
 * String arena: NUL-terminated strings addressed by a 32-bit offset; offset 0 is the empty
 * "none". A string never moves once added: the arena grows by new blocks, never by realloc
 * (block k holds FT_ARENA_BLOCK << k bytes and a string never straddles two), so a pointer
 * from ft_arena_str() stays valid until ft_arena_reset()/ft_arena_free(), whatever is added
 * meanwhile.
 */
#define FT_ARENA_BLOCK 4096u
#define FT_ARENA_NBLOCKS 20 /* 4 KiB << 0..19: the 4 GiB a 32-bit offset addresses */

struct ft_arena {
	char *block[FT_ARENA_NBLOCKS]; /* allocated on first use */
	uint64_t len;                  /* the next free offset */
};

void ft_arena_init(struct ft_arena *a);
void ft_arena_free(struct ft_arena *a);
void ft_arena_reset(struct ft_arena *a);
uint32_t ft_arena_add(struct ft_arena *a, const char *s, size_t n);

/* Offset of block k's first byte. */
static inline uint64_t ft_arena_base(unsigned k)
{
	return (uint64_t)FT_ARENA_BLOCK * ((UINT64_C(1) << k) - 1);
}

static inline unsigned ft_arena_block_of(uint64_t off)
{
	unsigned k = 0;

	while (off >= ft_arena_base(k + 1))
		k++;
	return k;
}

static inline const char *ft_arena_str(const struct ft_arena *a, uint32_t off)
{
	unsigned k = ft_arena_block_of(off);

	return off ? a->block[k] + (off - ft_arena_base(k)) : NULL;
}

/* Hash map (k1, k2) -> u32, linear probing, backward-shift deletion. */
struct ft_map_slot {
	uint64_t k1, k2;
	uint32_t val;
	uint32_t used;
};

struct ft_map {
	struct ft_map_slot *slots;
	size_t cap, len; /* cap is a power of two */
};

void ft_map_init(struct ft_map *m);
void ft_map_free(struct ft_map *m);
void ft_map_clear(struct ft_map *m);
/* Returns a pointer to the value, or NULL when absent. */
uint32_t *ft_map_get(const struct ft_map *m, uint64_t k1, uint64_t k2);
/* Inserts or overwrites. */
void ft_map_put(struct ft_map *m, uint64_t k1, uint64_t k2, uint32_t val);
/* Returns 1 if the key was present and removed. */
int ft_map_del(struct ft_map *m, uint64_t k1, uint64_t k2);

uint64_t ft_hash_bytes(const void *p, size_t n);

/* qsort comparator for uint32_t. */
int ft_cmp_u32(const void *a, const void *b);

/* realloc that aborts with a message on exhaustion: the tracer cannot continue without memory. */
void *ft_xrealloc(void *p, size_t n);
char *ft_xstrdup(const char *s);

/* Append s (n bytes) to out (cap bytes, NUL-terminated) escaping every byte outside printable
 * ASCII and the backslash as \xNN / \\. Returns the length written. */
size_t ft_escape(char *out, size_t cap, const char *s, size_t n);

/* snprintf into err if err is not NULL. */
void ft_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
