/*
 * scenario.c - the sample kernel's port (faultlib/port.h): the scenarios registered with
 * SCENARIO(), the console as command input, the test device for power-off and reset, the
 * allocators' counts for `ckpt`, init and teardown inside every run, the warm restart, guard
 * mode and the current process as the context. faultlib owns the command loop and the runs.
 */
#include "kernel.h"
#include "mem.h"
#include "proc.h"
#include "restart.h"
#include "guard.h"

static void ckpt_stats(struct fl_mem_stats *st)
{
	struct mem_stats m;

	mem_stats(&m);
	*st = (struct fl_mem_stats){ m.page_live, m.obj_live, m.page_bytes, m.obj_bytes };
}

static const char *restart_refused(void)
{
	return restart_check() ? "image-changed" : NULL;
}

static int guard_on(void)
{
	guard_mode = true;
	return 0;
}

static long current_pid(void)
{
	return curproc ? curproc->pid : 0;
}

void serve_host(void)
{
	static const struct fl_port port = {
		.getline = console_getline,
		.power_off = power_off,
		.reset = power_reset,
		.mem_stats = ckpt_stats,
		.init = kernel_init,
		.fini = kernel_fini,
		.drain = obj_quarantine_drain,
		.restart_check = restart_refused,
		.restart = restart_warm,
		.guard_on = guard_on,
		.ctx_id = current_pid,
	};

	fl_port_main(&port);
}
