/*
 * port.c - the command loop and the run framework of port.h.
 *
 * Ownership: the loop owns the run state: READY until a run ends, then DONE (only quit,
 * reset and restart are served, so every run starts from a freshly started kernel). A run
 * that ended in a panic or trap, and the after-boot model's boot run, leave the machine
 * needing a real reset: `restart` is refused with need-reset.
 */
#include "port.h"
#include "cov.h"
#include "hook.h"
#include "record.h"
#include "vcons.h"

/* faultline.ld */
extern const struct fl_scenario fl_scenarios_start[], fl_scenarios_end[];
extern const char fl_build_id_note[], fl_build_id_note_end[];

/* QEMU virt's test device (sifive_test): a write powers off or resets */
#define VIRT_TEST_DEVICE 0x100000UL
#define TEST_PASS        0x5555
#define TEST_FAIL        0x3333
#define TEST_RESET       0x7777

static const struct fl_port *port;
static enum { READY, DONE } state;
static bool need_reset;        /* only a machine reset gives a clean kernel again */
static bool booted;            /* after-boot model: init() has run */
static bool panicking;
static int next_op_id;

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int __attribute__((noinline)) fl_op_begin(const char *name)
{
	int id = ++next_op_id;

	fl_rec_op_begin(id, name, (uintptr_t)__builtin_return_address(0));
	return id;
}

int fl_op_end(int id, int rc)
{
	fl_rec_op_end(id, rc);
	return rc;
}

void __attribute__((noinline)) fl_ref(const char *verb, const char *kind, const void *obj,
				      int count)
{
	fl_rec_ref(verb, kind, (uintptr_t)obj, count, (uintptr_t)__builtin_return_address(0));
}

static const struct fl_scenario *find_scenario(const char *name)
{
	for (const struct fl_scenario *s = port->scenarios; s < port->scenarios_end; s++)
		if (streq(s->name, name))
			return s;
	return NULL;
}

static void ckpt(const char *which)
{
	struct fl_mem_stats st;

	port->mem_stats(&st);
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
	fl_flush();
}

/* after-boot model: init before the first run's baseline, unseen and uninjected */
static int boot_silently(void)
{
	int rc;

	fl_record_mute(true);
	fl_hook_suspend(true);
	rc = port->init ? port->init() : 0;
	fl_hook_suspend(false);
	fl_record_mute(false);
	booted = rc == 0;
	return rc;
}

/* the scenario body (or, for `run boot`, init itself) and the teardown the model allows */
static int run_body(const struct fl_scenario *s)
{
	int rc = 0, id;

	if (port->model == FL_MODEL_AFTER_BOOT) {
		need_reset |= !s;
		id = fl_op_begin(s ? s->name : FL_BOOT_SCENARIO);
		return fl_op_end(id, s ? s->fn() : port->init ? port->init() : 0);
	}
	if (port->init)
		rc = port->init();
	if (rc == 0) {
		id = fl_op_begin(s->name);
		rc = fl_op_end(id, s->fn());
		if (port->fini)
			port->fini();
	}
	return rc;
}

/* s == NULL: the after-boot model's boot run */
static void run(const struct fl_scenario *s)
{
	const char *name = s ? s->name : FL_BOOT_SCENARIO;
	int rc;

	fl_rec_run(name);
	fl_hook_run_begin();
	fl_cov_run_begin();
	next_op_id = 0;
	ckpt("baseline");
	rc = run_body(s);
	if (port->drain)
		port->drain();
	ckpt("end");
	fl_rec_result(name, rc);
	end_run();
}

/* Before fl_port_main there is no port to power off with and no host to serve: stop here. */
static void no_port(void)
{
	if (!port)
		for (;;)
			;
}

void fl_panic_report(bool expected, const char *msg, uintptr_t pc, uintptr_t fp)
{
	no_port();
	if (panicking)
		port->power_off(2);
	panicking = true;
	fl_rec_panic(expected, pc, fp, msg);
}

static void cmd_loop(void) __attribute__((noreturn));

void fl_run_abort(void)
{
	no_port();
	need_reset = true;
	end_run();
	cmd_loop();
}

void __attribute__((noinline)) fl_panic_expected(const char *msg)
{
	FL_PANIC(true, msg);
}

void fl_trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp)
{
	fl_rec_trap(scause, sepc, stval, ra, fp);
	fl_run_abort();
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

static void cmd_restart(void)
{
	const char *why;

	if (!port->restart) {
		fl_rec_err("restart", "unknown-command");
	} else if (need_reset) {
		fl_rec_err("restart", "need-reset");
	} else if ((why = port->restart_check ? port->restart_check() : NULL)) {
		fl_rec_err("restart", why);
	} else {
		fl_rec_ok("restart");
		fl_flush();
		port->restart();
	}
}

static void cmd_guard(const char *args)
{
	if (!port->guard_on)
		fl_rec_err("guard", "unknown-command");
	else if (state != READY)
		fl_rec_err("guard", "need-reset");
	else if (!streq(args, "on") || port->guard_on())
		fl_rec_err("guard", "bad-argument");
	else
		fl_rec_ok("guard");
}

static void cmd_run(const char *args)
{
	bool boot = port->model == FL_MODEL_AFTER_BOOT && streq(args, FL_BOOT_SCENARIO);
	const struct fl_scenario *s = boot ? NULL : find_scenario(args);

	if (state != READY)
		fl_rec_err("run", "need-reset");
	else if (!boot && !s)
		fl_rec_err("run", "unknown-scenario");
	else if (boot && booted)
		fl_rec_err("run", "need-reset");
	else if (!boot && port->model == FL_MODEL_AFTER_BOOT && !booted && boot_silently())
		fl_rec_err("run", "boot-failed");
	else {
		fl_rec_ok("run");
		run(s);
	}
}

static void command(char *line)
{
	char *args = split_word(line);
	const char *reason;

	if (streq(line, "quit")) {
		fl_rec_ok("quit");
		fl_flush();
		port->power_off(0);
	} else if (streq(line, "reset")) {
		fl_rec_ok("reset");
		fl_flush();
		port->reset();
	} else if (streq(line, "restart")) {
		cmd_restart();
	} else if (streq(line, "arm")) {
		if (state != READY)
			fl_rec_err("arm", "need-reset");
		else if (fl_hook_arm(args, &reason))
			fl_rec_err("arm", reason);
		else
			fl_rec_ok("arm");
	} else if (streq(line, "guard")) {
		cmd_guard(args);
	} else if (streq(line, "run")) {
		cmd_run(args);
	} else {
		fl_rec_err(line, "unknown-command");
	}
}

static void cmd_loop(void)
{
	static char line[FL_LINE_MAX];

	for (;;) {
		int n = port->getline(line, sizeof(line));
		if (n < 0)
			fl_rec_err("line", "too-long");
		else if (n > 0)
			command(line);
	}
}

static void __attribute__((noreturn)) testdev_write(uint32_t v)
{
	*(volatile uint32_t *)VIRT_TEST_DEVICE = v;
	for (;;)
		;
}

static void __attribute__((noreturn)) virt_power_off(int status)
{
	testdev_write(status ? ((uint32_t)status << 16) | TEST_FAIL : TEST_PASS);
}

static void __attribute__((noreturn)) virt_reset(void)
{
	testdev_write(TEST_RESET);
}

/* serve a copy of p with the defaults in place of what it left NULL */
static void set_port(const struct fl_port *p)
{
	static struct fl_port full;

	full = *p;
	port = &full;
	if (!full.scenarios) {
		full.scenarios = fl_scenarios_start;
		full.scenarios_end = fl_scenarios_end;
	}
	if (!full.build_id)
		full.build_id = fl_kernel_build_id();
	if (!full.getline)
		full.getline = fl_vcons_getline;
	if (!full.power_off)
		full.power_off = virt_power_off;
	if (!full.reset)
		full.reset = virt_reset;
	if (!full.init && full.model == FL_MODEL_AFTER_BOOT) {
		const struct fl_scenario *boot = find_scenario(FL_BOOT_SCENARIO);

		full.init = boot ? boot->fn : NULL;
	}
}

void fl_port_main(const struct fl_port *p)
{
	set_port(p);
	if (port->stack_lo)
		fl_record_stack(port->stack_lo, port->stack_hi);
	fl_record_lock(port->lock, port->unlock);
	fl_record_ctx(port->ctx_id);
	fl_rec_hello(port->build_id);
	if (port->model == FL_MODEL_AFTER_BOOT)
		fl_rec_model("after-boot");
	cmd_loop();
}

/* The note: namesz, descsz, type, the name padded to 4 bytes, then the id bytes. */
const char *fl_build_id(const void *note, const void *note_end)
{
	static char hex[2 * 40 + 1];
	const uint8_t *b = note, *e = note_end, *desc;
	uint32_t namesz, descsz;
	char *o = hex;

	if (hex[0])
		return hex;
	if (e - b >= 16) {
		namesz = ((const uint32_t *)note)[0];
		descsz = ((const uint32_t *)note)[1];
		desc = b + 12 + ((namesz + 3) & ~3U);
		if (descsz > 40 || namesz > (uint32_t)(e - b) || desc + descsz > e)
			descsz = 0;
		for (uint32_t i = 0; i < descsz; i++) {
			*o++ = "0123456789abcdef"[desc[i] >> 4];
			*o++ = "0123456789abcdef"[desc[i] & 15];
		}
	}
	if (o == hex)
		*o++ = '0';
	*o = 0;
	return hex;
}

const char *fl_kernel_build_id(void)
{
	return fl_build_id(fl_build_id_note, fl_build_id_note_end);
}

uint64_t fl_poll_clock(void)
{
	static uint64_t polls;

	return ++polls;
}
