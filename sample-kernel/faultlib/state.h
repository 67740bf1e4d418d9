/*
 * state.h - state promises (docs/protocol.md §4, `state` records), portable: no dependency
 * on the kernel around it.
 *
 * A function that promises to leave some named state unchanged when it fails (a process's
 * region map, its image) digests that state on entry and again on return:
 *
 *	struct fl_state st;
 *
 *	fl_state_begin(&st, "map", map_digest(p));
 *	rc = ...;
 *	return fl_state_end(&st, map_digest(p), rc);
 *
 * The host reports `not-atomic` when the end's rc is negative and the two digests differ,
 * naming the function that called fl_state_begin. The kernel reports; the host judges.
 *
 * Ownership: the promise lives in the caller's frame; nothing here allocates or fails.
 */
#ifndef FAULTLIB_STATE_H
#define FAULTLIB_STATE_H

#include <stdint.h>

#define FL_DIGEST_SEED 0x6a09e667f3bcc909ULL

/*
 * Fold one word into digest h. A multiply and a shift per word: every input bit reaches
 * every output bit within two words, and a changed word changes the result (up to a
 * 64-bit collision).
 */
static inline uint64_t fl_digest_add(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

struct fl_state {
	const char *name;           /* one token: what the digest covers */
	uint64_t digest;            /* at begin */
};

/* Record the state `name` with its digest at the start of the caller's promise. */
void fl_state_begin(struct fl_state *s, const char *name, uint64_t digest);

/* Record the state's digest as the caller returns rc; returns rc. */
int fl_state_end(const struct fl_state *s, uint64_t digest, int rc);

#endif
