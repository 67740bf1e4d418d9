/*
 * port.h - the faultline port kit: the command loop (docs/protocol.md §2, §3), the run
 * framework (§5), ops and refcounts, the build-id reader and panics, for any kernel. Portable:
 * it depends on no kernel code, only on the compiler's freestanding headers and faultlib.
 *
 * A kernel describes itself once in a struct fl_port (how to measure its memory, init and
 * tear down; its scenarios, how to read a command line, power off and reset, where QEMU
 * virt's defaults do not fit) and hands it to fl_port_main(), which says hello and serves
 * the host forever. docs/kernel.md, "Hooking another kernel", is the recipe; the sample
 * kernel's main.c and scenario.c are a full port, examples/pebble a minimal one.
 *
 * Two run models (docs/protocol.md §5), chosen by fl_port.model:
 *  - FL_MODEL_INIT_IN_RUN: every run is `ckpt baseline` → init() → scenario → fini() →
 *    drain() → `ckpt end`; the kernel can tear its init down, so a correct kernel ends every
 *    run as it began.
 *  - FL_MODEL_AFTER_BOOT: the kernel cannot tear its init down. hello is early, before
 *    init(); the kernel says `model after-boot` right after it. `run boot` runs init() as the
 *    run, in an op named boot (injectable; what a successful init leaves live is the
 *    kernel's state, what a failed one leaves is a leak). Any other
 *    `run` first runs init() silently (no records, nothing counted or failed), then takes
 *    the baseline: the run starts after boot. fini is not used.
 *
 * Records go through record.h's transport; fl_record_init() comes before fl_port_main().
 * Ownership: one static run state; nothing is allocated. Errors in commands are answered
 * with `err` and never end the loop; a run's error is its `result`.
 *
 * This interface is stable: new members are added at the end of struct fl_port with a
 * default of 0/NULL meaning "as before".
 */
#ifndef FAULTLIB_PORT_H
#define FAULTLIB_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A scenario: a name the host runs and the body; returns 0 or a negative errno. */
struct fl_scenario {
	const char *name;
	int (*fn)(void);
};

/*
 * Register a scenario from any file: FL_SCENARIO("name", fn); The linker collects them in
 * section .scenarios, which faultline.ld (INCLUDEd in the kernel's linker script) brackets
 * with fl_scenarios_start and fl_scenarios_end: the table the loop serves by default.
 */
#define FL_SCENARIO(nm, func) \
	static const struct fl_scenario fl_scenario_##func \
	__attribute__((used, section(".scenarios"), aligned(8))) = { nm, func }

/* The name of the built-in boot scenario of the after-boot model. */
#define FL_BOOT_SCENARIO "boot"

enum fl_run_model {
	FL_MODEL_INIT_IN_RUN,   /* init and teardown inside every run (the default) */
	FL_MODEL_AFTER_BOOT,    /* the run starts after boot; `run boot` injects init */
};

/* What the `ckpt` record reports: live pages/objects and their bytes, per allocator. */
struct fl_mem_stats {
	unsigned long page_live, obj_live;
	unsigned long page_bytes, obj_bytes;
};

/*
 * Only mem_stats is required; the members before it default when NULL, for a kernel on QEMU
 * virt that uses vcons.h's console and faultline.ld.
 */
struct fl_port {
	/* [scenarios, scenarios_end); NULL: the FL_SCENARIO table (faultline.ld) */
	const struct fl_scenario *scenarios, *scenarios_end;
	const char *build_id;        /* hex, for hello; NULL: the ELF's note (faultline.ld) */
	/*
	 * Read one command line (no '\n') into buf, sleeping until it is complete (output is
	 * flushed first). Returns its length, or a negative number when it did not fit in
	 * size-1 bytes (the line is discarded; the loop answers `err line too-long`). NULL:
	 * the virtio console's (vcons.h).
	 */
	int (*getline)(char *buf, size_t size);
	/* QEMU exits with status / the machine resets; NULL: QEMU virt's test device */
	void (*power_off)(int status) __attribute__((noreturn));
	void (*reset)(void) __attribute__((noreturn));
	void (*mem_stats)(struct fl_mem_stats *st);

	/* optional (NULL: left out) ------------------------------------------------------- */
	/*
	 * The kernel's own init and its teardown (init-in-run model: both run inside every
	 * run; after-boot model: init only, see above; NULL there: the table's `boot` entry).
	 * init returns 0 or a negative errno with everything it did undone.
	 */
	int (*init)(void);
	void (*fini)(void);
	/* after the scenario and fini, before `ckpt end`: settle deferred frees (quarantines) */
	void (*drain)(void);
	/*
	 * Warm restart (protocol §3 `restart`): restart_check returns NULL when a warm restart
	 * may replace a reset, else the reason token (e.g. "image-changed"); restart does not
	 * return. Without them `restart` is answered `err restart unknown-command`.
	 */
	const char *(*restart_check)(void);
	void (*restart)(void) __attribute__((noreturn));
	/* `guard on`: turn guard mode on for the next run; 0, or -1 when it cannot */
	int (*guard_on)(void);
	/*
	 * SMP kernels: taken around each record's formatting and emission (record.h), so
	 * records from several harts never interleave within a line. NULL: no locking.
	 */
	void (*lock)(void);
	void (*unlock)(void);
	/*
	 * The current context (process or thread id; 0 for the kernel itself). When it
	 * differs from the last one the stream said, a `ctx <id>` record goes before the next
	 * op, ref, allocator or resource record (protocol §4). NULL: contexts are not told.
	 */
	long (*ctx_id)(void);
	enum fl_run_model model;
	/* a kernel with one stack: its bounds, for backtraces (record.h's fl_record_stack) */
	const void *stack_lo, *stack_hi;
};

/* Say hello and serve commands forever. The port must outlive the loop (static). */
void fl_port_main(const struct fl_port *port) __attribute__((noreturn));

/*
 * Ops (protocol §4 op+/op-): fl_op_begin emits op+ with the caller's pc and returns the
 * op's id (unique within the run); fl_op_end emits op- and returns rc, so
 * `return fl_op_end(id, step());` reads naturally.
 */
int fl_op_begin(const char *name);
int fl_op_end(int id, int rc);
/* A refcount change on obj of kind: verb "new", "get" or "put"; count after the change. */
void fl_ref(const char *verb, const char *kind, const void *obj, int count);

/*
 * Panics. A kernel's own panic() reports through FL_PANIC(expected, msg) (the panic's place
 * is the caller of that panic()), then the run ends (`end`) and only quit and reset are
 * served. A panic inside the report (a second one) powers off with status 2. One before
 * fl_port_main stops the kernel in a loop: there is no host to tell yet, so the kernel's
 * panic() logs on its UART first (the host times out waiting for hello and shows it). For
 * a site documented as a legitimate panic, fl_panic_expected(msg) does all of it, placed
 * at its caller.
 */
void fl_panic_report(bool expected, const char *msg, uintptr_t pc, uintptr_t fp);
void fl_run_abort(void) __attribute__((noreturn));
void fl_panic_expected(const char *msg) __attribute__((noreturn));
/*
 * An unexpected trap, from the kernel's trap handler: the `trap` record (record.h's
 * fl_rec_trap: the trapped registers), then the run ends as after a panic.
 */
void fl_trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp)
	__attribute__((noreturn));
#define FL_PANIC(expected, msg) do { \
		fl_panic_report((expected), (msg), (uintptr_t)__builtin_return_address(0), \
				(uintptr_t)__builtin_frame_address(0)); \
		fl_run_abort(); \
	} while (0)

/*
 * The GNU build-id note (as `ld --build-id` writes it) between note and note_end as
 * lowercase hex, for hello; fl_kernel_build_id() is the kernel's own (faultline.ld brackets
 * it). Returns "0" when the note is missing or malformed. The string is static: the first
 * call computes it.
 */
const char *fl_build_id(const void *note, const void *note_end);
const char *fl_kernel_build_id(void);

/*
 * A clock for platforms whose kernel cannot read one (vcons.h's clock): each call counts
 * one poll, at a nominal FL_POLL_CLOCK_HZ. Deadlines then count polls, not time.
 */
#define FL_POLL_CLOCK_HZ 1000000
uint64_t fl_poll_clock(void);

#endif
