/*
 * tracer.h - the faultline tracer library: the record parser (docs/protocol.md), the per-run
 * checks and the sqlite store (docs/schema.md). Linked by build/injector and build/tracer.
 *
 * Ownership: an ft_db owns its sqlite handle and every ft_run begun on it; ft_run_finish()
 * or ft_run_abandon() ends a run and frees it. One ft_db is one writer; it is not
 * thread-safe (the injector drives all its workers from one poll loop).
 */
#ifndef FAULTLINE_TRACER_H
#define FAULTLINE_TRACER_H

#include <stddef.h>
#include <stdint.h>

#define FT_PROTO_VERSION 2
#define FT_PROTO_OLDEST 1   /* version 1: the same records without stk */
#define FT_LINE_MAX 512

struct ft_db;
struct ft_run;

/* Outcomes, worst first (docs/protocol.md §7). */
enum ft_outcome {
	FT_CRASH,
	FT_PANIC,
	FT_HANG,
	FT_CORRUPT,
	FT_LEAK,
	FT_UNBALANCED,
	FT_SWALLOWED,
	FT_HANDLED,
	FT_COMPLETED,
	FT_INFRA,
	FT_NOUTCOME
};
const char *ft_outcome_name(enum ft_outcome o);
/* 1 for an outcome that is a kernel finding: every one worse than handled. */
int ft_outcome_is_finding(enum ft_outcome o);

/* What identifies a run for resume: the same key run twice is done once. */
struct ft_run_key {
	const char *scenario;   /* "vm" */
	const char *exec_mode;  /* "fresh" | "reset" | "warm" */
	const char *fault_mode; /* "once" | "persist" | "none" (reference run) */
	const char *class_filter; /* "" or a class name (parser.h) */
	const char *site;       /* "" | function name | "pc:<hex>" for a by-site injection */
	uint64_t site_lo, site_hi; /* 0,0 when no range filter */
	long n;                 /* countdown armed (0 = not armed) */
	int guard;              /* 1: run in guard mode (`guard on`: freed memory unmapped) */
};

/* How the host saw the run end. */
enum ft_ending {
	FT_END_EXITED,   /* QEMU exited (or the guest asked for reset) after the stream */
	FT_END_TIMEOUT,  /* the host's timeout expired; QEMU was killed */
	FT_END_LOST,     /* QEMU could not start, or the channel broke: infrastructure */
};

/* How much of a run is stored (docs/schema.md, "Lazy storage"). */
enum ft_keep {
	FT_KEEP_FULL,     /* every run in full: events, ops, findings, malformed */
	FT_KEEP_FINDINGS, /* in full only a run with findings or a reference run; of the others
			   * the runs row (and malformed lines), and raw_log is not recorded */
	FT_KEEP_LOGS,     /* as FT_KEEP_FINDINGS, and the others' raw log compressed in the row */
};

struct ft_run_end {
	enum ft_ending how;
	int exit_status;     /* QEMU's wait status as returned by waitpid, or -1 */
	double wall_ms;      /* host wall time of the run */
	const char *raw_log; /* path of the saved raw console/UART log, or NULL */
	const char *infra_reason; /* when how == FT_END_LOST, a short reason */
	enum ft_keep keep;   /* read by ft_run_finish() only */
	/* the whole raw log when the caller holds it (then raw_log's file is read for nothing:
	 * it need exist only for a run stored in full); NULL: read from raw_log */
	const char *raw;
	size_t raw_len;
};

struct ft_run_result {
	enum ft_outcome outcome;
	int fired;            /* 1 if the end record said the armed fault fired */
	int ended;            /* 1 if an end record was seen */
	long attempts;        /* from the end record */
	long nfindings;       /* per-run findings stored */
	long nevents;         /* records stored */
	long nmalformed;      /* malformed lines counted */
	uint64_t fault_pc;    /* pc of the first injected fault, 0 if none */
	char fault_func[128]; /* its function, "" if unknown */
	int64_t run_id;       /* rowid in runs */
	int in_full;          /* ft_run_finish(): 1 if stored in full, 0 if only its row (its
			       * raw log file is then not referenced by the database) */
};

/* Open (create or migrate) the database. Returns 0, or -1 with a message in err. */
int ft_db_open(const char *path, struct ft_db **out, char *err, size_t errlen);
void ft_db_close(struct ft_db *db);

/*
 * Register a kernel ELF: read its build id, its function symbols and (once per build) the
 * DWARF line info used to symbolize frames. Returns 0 and the builds.id, or -1 with err.
 * src_root is recorded so the report can show source lines (may be NULL).
 */
int ft_db_add_kernel(struct ft_db *db, const char *elf_path, const char *src_root,
		     int64_t *build_out, char *err, size_t errlen);

/* Resolve a function name to its [lo, hi) address range in a registered build. 0 or -1. */
int ft_db_func_range(struct ft_db *db, int64_t build, const char *func,
		     uint64_t *lo, uint64_t *hi);

/* Sweeps group runs; a sweep with the same (build, key sans n, command) is reused on resume. */
int ft_db_sweep(struct ft_db *db, int64_t build, const struct ft_run_key *key,
		const char *command, int64_t *sweep_out);

/* Mark a sweep finished: sweeps.finished_at = now, and wall_s (the seconds this command
 * spent on it) added to sweeps.wall_s, so a resumed sweep sums its parts. 0 or -1. */
int ft_db_sweep_finish(struct ft_db *db, int64_t sweep, double wall_s);

/* 1 if this run key already has a finished run in this build (resume), else 0; -1 on error.
 * When done, *fired (if not NULL) gets the stored fired flag and *outcome the outcome.
 * A stored run whose outcome is infra counts as not done: it measured nothing, so a resumed
 * sweep runs it again, and ft_run_finish() replaces the stored row (the newest run of a key
 * wins). */
int ft_db_run_done(struct ft_db *db, int64_t build, const struct ft_run_key *key,
		   int *fired, enum ft_outcome *outcome);

/* Begin collecting one run. Nothing touches the database until ft_run_finish().
 * An empty key->scenario takes the scenario from the stream's `run` record. NULL if the
 * build is unknown. */
struct ft_run *ft_run_begin(struct ft_db *db, int64_t build, int64_t sweep,
			    const struct ft_run_key *key);

/* Feed console bytes as they arrive (any split). Never fails; malformed input is counted. */
void ft_run_feed(struct ft_run *run, const char *buf, size_t len);

/*
 * Feed console bytes like ft_run_feed(), but stop right after the end record: returns the
 * bytes taken (len unless the end record came in them; 0 once it came). What follows the
 * end record (e.g. the answer to `quit`) is the caller's to keep or drop, so that every
 * way of ending a run stores the same stream.
 */
size_t ft_run_feed_until_end(struct ft_run *run, const char *buf, size_t len);

/* 1 once the run holds an `err` record (the kernel refused a command); the line, as
 * "err <command> <reason>", is copied to buf if non-NULL. */
int ft_run_refusal(const struct ft_run *run, char *buf, size_t len);

/* Calls fn for every allocation attempt the run holds that was not failed by injection
 * (its `alloc` and `oom` records: a reference run's attempts), in stream order, with its
 * class name and its caller's pc. */
typedef void (*ft_attempt_fn)(void *ctx, const char *cls, uint64_t pc);
void ft_run_attempts(const struct ft_run *run, ft_attempt_fn fn, void *ctx);

/* 1 once the parser has seen the end record (the injector may then quit or reset). */
int ft_run_saw_end(const struct ft_run *run);
/* 1 once hello has been seen; the build id it carried is copied to buf if non-NULL. */
int ft_run_saw_hello(const struct ft_run *run, char *buf, size_t len);

/*
 * Judge the run now, without storing it: run the per-run checks and decide the outcome (res,
 * if not NULL, is filled as ft_run_finish() would, run_id 0). For a caller that acts on the
 * verdict before the run is written (the injector's warm mode restarts the kernel only after
 * a clean run, and stores runs while the machines go on). Feed nothing more afterwards; a
 * second call only fills res again, and ft_run_finish() stores this verdict without checking
 * again (the ending given first decides; later ones only supply what is stored as is: exit
 * status, wall time, raw log).
 */
void ft_run_check(struct ft_run *run, const struct ft_run_end *how, struct ft_run_result *res);

/*
 * Finish: run the per-run checks (unless ft_run_check() did), decide the outcome, write
 * run + events + findings in one transaction, free the run. Returns 0 and fills res, or -1
 * with err (the run is freed).
 */
int ft_run_finish(struct ft_run *run, const struct ft_run_end *how,
		  struct ft_run_result *res, char *err, size_t errlen);

/* 1 when ft_run_finish() will store the (checked) run in full under keep: it has findings,
 * or it is a reference run, or keep is FT_KEEP_FULL. Its raw log file is then recorded. */
int ft_run_stored_in_full(const struct ft_run *run, enum ft_keep keep);

/* Drop a run without storing it (e.g. interrupted before it could finish). */
void ft_run_abandon(struct ft_run *run);

#endif
