/*
 * record.h - the faultline record emitter (docs/protocol.md §4), portable: it depends on no
 * kernel code, only on the compiler's freestanding headers. A kernel adopting faultline gives
 * it a transport (a byte-output callback and a flush callback) and a stack-bounds callback
 * for frame-pointer backtraces, then calls one function per record type.
 *
 * Ownership: a record is formatted whole, into the transport's buffer (reserve/commit) or
 * into a static line buffer handed to out() in one call. It allocates nothing and never fails: fields that would
 * overflow the 512-byte line bound are truncated, bytes outside printable ASCII in names and
 * messages are replaced, so the stream stays well-formed whatever the kernel passes.
 * Backtraces are interned per run: the first record with a stack sends it once as a `stk`
 * record, and that record and the later ones name it by id (fixed tables, reset by each
 * `hello` and `run`, so a run's records never depend on an earlier run's).
 */
#ifndef FAULTLIB_RECORD_H
#define FAULTLIB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_PROTO_VERSION 2
#define FL_LINE_MAX 512
#define FL_BT_MAX 8
/* backtraces a run interns (`stk` records, docs/protocol.md §4); later ones go inline */
#define FL_STK_MAX 256

struct fl_transport {
	void (*out)(const char *buf, size_t len);   /* append bytes to the channel (may buffer) */
	void (*flush)(void);                        /* push buffered bytes out now */
	/*
	 * Optional zero-copy path (when reserve is set, out is not used): reserve(max) returns
	 * room for max bytes in the channel's buffer (flushing first if needed); commit(len)
	 * appends the first len bytes written there.
	 */
	char *(*reserve)(size_t max);
	void (*commit)(size_t len);
	/*
	 * Bounds of the stack holding frame pointer fp: *lo <= fp < *hi. Returns false when fp
	 * lies on no known stack (the backtrace then stops).
	 */
	bool (*stack_bounds)(uintptr_t fp, uintptr_t *lo, uintptr_t *hi);
};

void fl_record_init(const struct fl_transport *t);
/* A kernel with one stack, [lo, hi): its bounds when the transport has no stack_bounds. */
void fl_record_stack(const void *lo, const void *hi);
/* SMP: lk/unlk are taken around each record (NULL: no locking). */
void fl_record_lock(void (*lk)(void), void (*unlk)(void));
/*
 * current() names the running context (process/thread id, 0 for the kernel): a `ctx <id>`
 * record precedes an op, ref, state, allocator or resource record whose context differs
 * from the last one said; each run starts at 0. NULL: no ctx records.
 */
void fl_record_ctx(long (*current)(void));
/* While on, records are formatted but not sent (the after-boot model's silent init). */
void fl_record_mute(bool on);
void fl_flush(void);

/*
 * Walk frame pointers from fp (the frame of the function whose caller is frame 0; RISC-V
 * layout: return address at fp-8, caller's fp at fp-16). Returns the number of return
 * addresses stored in out (at most max).
 */
int fl_backtrace(uintptr_t fp, uintptr_t *out, int max);

void fl_rec_hello(const char *build_id_hex);
/* `model <name>` right after hello: the run model, when not the default (port.h) */
void fl_rec_model(const char *model);
void fl_rec_ok(const char *word);
void fl_rec_err(const char *word, const char *reason);
void fl_rec_run(const char *scenario);
void fl_rec_ckpt(const char *which, unsigned long page_live, unsigned long obj_live,
		 unsigned long page_bytes, unsigned long obj_bytes);
/* fp: frame of the allocator entry point (its return address is pc, the backtrace's head) */
void fl_rec_alloc(unsigned long seq, const char *cls, uintptr_t addr, size_t size,
		  uintptr_t pc, uintptr_t fp);
void fl_rec_free(unsigned long seq, const char *cls, uintptr_t addr, uintptr_t pc, uintptr_t fp);
void fl_rec_fault(unsigned long seq, const char *cls, size_t size, uintptr_t pc, uintptr_t fp);
void fl_rec_oom(unsigned long seq, const char *cls, size_t size, uintptr_t pc, uintptr_t fp);
void fl_rec_badfree(unsigned long seq, const char *kind, const char *cls, uintptr_t addr,
		    uintptr_t pc, uintptr_t fp);
/* a record that is only a place: `<type> <pc:hex> <bt>` (fp as for fl_rec_alloc) */
void fl_rec_site(const char *type, uintptr_t pc, uintptr_t fp);
/* acq/rel (verb) of resource id of kind; fp as for fl_rec_alloc (resource.h wraps it) */
void fl_rec_resource(const char *verb, const char *kind, uintptr_t id, uintptr_t pc,
		     uintptr_t fp);
void fl_rec_op_begin(int id, const char *name, uintptr_t pc);
void fl_rec_op_end(int id, int rc);
void fl_rec_ref(const char *verb, const char *kind, uintptr_t obj, int count, uintptr_t pc);
/* `state <begin|end> <name> <digest> <rc> <pc>` (state.h makes the promise) */
void fl_rec_state(bool end, const char *name, uint64_t digest, int rc, uintptr_t pc);
void fl_rec_result(const char *scenario, int rc);
void fl_rec_panic(bool expected, uintptr_t pc, uintptr_t fp, const char *msg);
/*
 * Backtrace of a trapped context: pc first, then its callers. ra and fp are the trapped
 * registers; when fp is a leaf function's frame (only the caller's fp saved at fp-8), ra
 * is the second frame. Returns the number of pcs stored in out (at most max).
 */
int fl_trap_backtrace(uintptr_t pc, uintptr_t ra, uintptr_t fp, uintptr_t *out, int max);
void fl_rec_trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp);
/* `cov`: n bitmap bytes (n <= 244), the first bit standing for the slot at pc */
void fl_rec_cov(uintptr_t pc, const uint8_t *bits, size_t n);
void fl_rec_end(bool fired, unsigned long attempts, unsigned long faults);
void fl_rec_log(const char *text);
/* a freed object's poison changed at offset (poison.c checks; pc, fp: the check's context) */
void fl_rec_poison(const char *cls, uintptr_t obj, size_t offset, uintptr_t pc, uintptr_t fp);

#endif
