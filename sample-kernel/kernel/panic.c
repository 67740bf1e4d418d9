/*
 * panic.c - panics and the stack bounds that backtraces trust.
 *
 * A panic reports on the UART and as a `panic` record (with a frame-pointer backtrace),
 * ends the run (`end`) and then serves only quit/reset (faultlib/port.h). panic_expected()
 * marks a site documented in docs/kernel.md as a legitimate panic; plain panic() is a bug.
 * A panic while panicking powers off with status 2.
 */
#include "kernel.h"
#include "memlayout.h"
#include "mem.h"
#include "faultlib/hook.h"
#include "faultlib/record.h"

/*
 * The stack holding fp, for backtraces: the boot stack, or any live page_alloc block (so a
 * kernel stack taken from the page allocator needs no registration). fp is a frame's top,
 * so it may equal the stack's end.
 */
bool stack_bounds(uintptr_t fp, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t head;
	unsigned order;

	if (fp > (uintptr_t)boot_stack && fp <= (uintptr_t)boot_stack_top) {
		*lo = (uintptr_t)boot_stack;
		*hi = (uintptr_t)boot_stack_top;
		return true;
	}
	if (page_owner_of(fp - 1, &head, &order) == OWN_PAGE) {
		*lo = head;
		*hi = head + (PGSIZE << order);
		return true;
	}
	return false;
}

/* the UART's copy of a panic: what a human reads when the console is gone */
static void NOINLINE panic_log(bool expected, const char *msg, uintptr_t pc, uintptr_t fp)
{
	uintptr_t pcs[FL_BT_MAX];
	int n;

	uart_printf("panic (%s) at %lx: %s\nbacktrace:", expected ? "expected" : "unexpected",
		    pc, msg);
	n = fl_backtrace(fp, pcs, FL_BT_MAX);
	for (int i = 0; i < n; i++)
		uart_printf(" %lx", pcs[i]);
	uart_puts("\n");
}

void NOINLINE panic(const char *msg)
{
	panic_log(false, msg, FL_CALLER_PC(), FL_MY_FP());
	FL_PANIC(false, msg);
}

void NOINLINE panic_expected(const char *msg)
{
	panic_log(true, msg, FL_CALLER_PC(), FL_MY_FP());
	FL_PANIC(true, msg);
}
