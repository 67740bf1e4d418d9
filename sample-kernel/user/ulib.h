/* ulib.h - the user programs' system calls and helpers (usys.S, ulib.c). */
#ifndef USER_ULIB_H
#define USER_ULIB_H

#include <stddef.h>
#include <stdint.h>
#include "sysnum.h"
#include "errno.h"

/* exit status a program uses when the kernel broke a promise (not an errno) */
#define BAD_RESULT (-1000)

void exit(int status) __attribute__((noreturn));
int  fork(void);
int  wait(int *status, int flags);
int  exec(const char *name, long arg);
int  getpid(void);
long mmap(void *addr, unsigned long len, int prot, int flags);
int  munmap(void *addr, unsigned long len);
long write(const char *buf, unsigned long len);
int  yield(void);
int  kill(int pid);
int  pause(void);
int  blkrw(unsigned long sector, void *buf, unsigned long count, int write);
int  mapcount(void);

/* one `log` record: %d %ld %x %lx %s */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Fork a child running fn(arg) and exiting with its result; returns fork's result. */
int spawn(int (*fn)(long), long arg);
/* Reap one child, which must be pid: pid (status in *status), an errno, or BAD_RESULT. */
int wait_for(int pid, int *status);
/* Fork a child running fn(arg), wait for it: its pid (status in *status) or an error. */
int run_child(int (*fn)(long), long arg, int *status);

#endif
