/*
 * kernel.h - shared declarations of the sample kernel's core: console, UART, panics, ops,
 * refcounts, init steps, scenarios, strings. Memory: mem.h; page tables: vm.h.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "types.h"
#include "errno.h"
#include "faultlib/port.h"

/* uart.c: the human-readable log (boot messages, panics, traps) */
void uart_init(void);
void uart_puts(const char *s);
void uart_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* console.c: the virtio console, the host's lifeline (allocates nothing) */
int  console_init(void);                         /* 0, or -ENODEV when no console is found */
void console_write(const char *buf, size_t len); /* buffered; flushed when nearly full */
void console_flush(void);
/* zero-copy output: room for max bytes in the batch buffer, then append len of them */
char *console_reserve(size_t max);
void console_commit(size_t len);
/*
 * Read one command line (without the newline) into buf, flushing output first. Lines longer
 * than size-1 are discarded whole and reported as -EINVAL; returns the length otherwise.
 */
int  console_getline(char *buf, size_t size);

/* plic.c: device interrupts routed to this hart's S-mode, for waking from wfi */
void plic_enable(unsigned irq);
void plic_ack_all(void);
void plic_reset(void);                           /* disable and complete everything */

/* power.c: the SiFive test device */
void power_off(int code) __attribute__((noreturn));
void power_reset(void) __attribute__((noreturn));

/* panic.c */
void panic(const char *msg) __attribute__((noreturn));
/* A legitimate panic at a site documented in docs/kernel.md: reported `expected`. */
void panic_expected(const char *msg) __attribute__((noreturn));
bool stack_bounds(uintptr_t fp, uintptr_t *lo, uintptr_t *hi);
extern char boot_stack[], boot_stack_top[];

/* trap.c */
void trap_init(void);

/*
 * faultlib/port.h: runs, ops, refcounts, panics and the command loop; scenario.c is the
 * port description and serve_host() says hello and serves the host forever.
 */
void serve_host(void) __attribute__((noreturn));
#define op_begin fl_op_begin       /* emits op+, returns the op id */
#define op_end fl_op_end           /* emits op-, returns rc */
#define ref_record fl_ref
/* Register a scenario from any file: SCENARIO("name", fn); */
#define SCENARIO FL_SCENARIO

/* init.c: kernel init steps (each an op; unwound in reverse on failure) */
int  kernel_init(void);                      /* 0, or the failing step's error (all undone) */
void kernel_fini(void);                      /* undo every step, in reverse */

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int   memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int   strcmp(const char *a, const char *b);
int   strncmp(const char *a, const char *b, size_t n);

#endif
