/*
 * scenario.c - the command loop (docs/protocol.md §3) and the run framework (§5): ckpt
 * baseline → kernel init → scenario body → teardown → ckpt end → result → end. Also ops and
 * refcount records, which only make sense inside a run.
 *
 * Ownership: the loop owns the run state (READY until a run ends, then DONE: only quit,
 * reset and restart are served, so every run starts from a freshly started kernel). A run
 * that ended in a panic or trap taints the machine: `restart` is refused until a real
 * reset. Errors in commands are answered with `err` and never end the loop; a run's error is
 * its `result`.
 */
#include "kernel.h"
#include "mem.h"
#include "faultlib/cov.h"
#include "faultlib/hook.h"
#include "faultlib/record.h"
#include "restart.h"
#include "guard.h"

extern const struct scenario scenarios_start[], scenarios_end[];

static enum { READY, DONE } state;
static bool tainted;           /* a run ended in a panic or trap: only a reset is clean */
static int next_op_id;

int NOINLINE op_begin(const char *name)
{
	int id = ++next_op_id;

	fl_rec_op_begin(id, name, CALLER_PC());
	return id;
}

int op_end(int id, int rc)
{
	fl_rec_op_end(id, rc);
	return rc;
}

void NOINLINE ref_record(const char *verb, const char *kind, const void *obj, int count)
{
	fl_rec_ref(verb, kind, (uintptr_t)obj, count, CALLER_PC());
}

static const struct scenario *find_scenario(const char *name)
{
	for (const struct scenario *s = scenarios_start; s < scenarios_end; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static void ckpt(const char *which)
{
	struct mem_stats st;

	mem_stats(&st);
	fl_rec_ckpt(which, st.page_live, st.obj_live, st.page_bytes, st.obj_bytes);
}

/* the `end` record: the hook reports and disarms; the run is over */
static void end_run(void)
{
	struct fl_hook_stats st;

	fl_hook_run_end(&st);
	fl_cov_send();
	fl_rec_end(st.fired, st.attempts, st.faults);
	state = DONE;
	console_flush();
}

static void run(const struct scenario *s)
{
	int rc, id;

	fl_rec_run(s->name);
	fl_hook_run_begin();
	fl_cov_run_begin();
	next_op_id = 0;
	ckpt("baseline");
	rc = kernel_init();
	if (rc == 0) {
		id = op_begin(s->name);
		rc = op_end(id, s->fn());
		kernel_fini();
	}
	obj_quarantine_drain();
	ckpt("end");
	fl_rec_result(s->name, rc);
	end_run();
}

void run_abort(void)
{
	tainted = true;
	end_run();
	cmd_loop();
}

/* split "word rest" in place: returns rest (empty string when there is none) */
static char *split_word(char *line)
{
	while (*line && *line != ' ')
		line++;
	if (*line)
		*line++ = 0;
	return line;
}

static void command(char *line)
{
	char *args = split_word(line);
	const char *reason;
	const struct scenario *s;

	if (!strcmp(line, "quit")) {
		fl_rec_ok("quit");
		console_flush();
		power_off(0);
	} else if (!strcmp(line, "reset")) {
		fl_rec_ok("reset");
		console_flush();
		power_reset();
	} else if (!strcmp(line, "restart")) {
		if (tainted)
			fl_rec_err("restart", "need-reset");
		else if (restart_check())
			fl_rec_err("restart", "image-changed");
		else {
			fl_rec_ok("restart");
			console_flush();
			restart_warm();
		}
	} else if (!strcmp(line, "arm")) {
		if (state != READY)
			fl_rec_err("arm", "need-reset");
		else if (fl_hook_arm(args, &reason))
			fl_rec_err("arm", reason);
		else
			fl_rec_ok("arm");
	} else if (!strcmp(line, "guard")) {
		if (state != READY || strcmp(args, "on"))
			fl_rec_err("guard", state != READY ? "need-reset" : "bad-argument");
		else {
			guard_mode = true;
			fl_rec_ok("guard");
		}
	} else if (!strcmp(line, "run")) {
		if (state != READY)
			fl_rec_err("run", "need-reset");
		else if (!(s = find_scenario(args)))
			fl_rec_err("run", "unknown-scenario");
		else {
			fl_rec_ok("run");
			run(s);
		}
	} else {
		fl_rec_err(line, "unknown-command");
	}
}

void cmd_loop(void)
{
	static char line[FL_LINE_MAX];

	for (;;) {
		int n = console_getline(line, sizeof(line));
		if (n < 0)
			fl_rec_err("line", "too-long");
		else if (n > 0)
			command(line);
	}
}
