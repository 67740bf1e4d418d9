/*
 * store.h - the injector's side of the database: open it through the tracer library, keep
 * raw logs next to it, answer "is this run done?" for resume, and look up where a pc is in
 * the source for the messages the injector prints. The tracer's ft_db is the one writer.
 */
#ifndef FAULTLINE_INJECTOR_STORE_H
#define FAULTLINE_INJECTOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tracer.h"

struct store {
	struct ft_db *db;
	int64_t build;
	char path[3000];      /* database file */
	char logs[3000];      /* <db>.logs directory */
	char kernel[3100];    /* the private copy of the kernel ELF that QEMU boots */
	int lock_fd;          /* <logs>/lock, locked while this injector uses the database */
};

/*
 * Open the database, create the logs directory, lock the database against a second
 * injector, register the kernel and copy it to <logs>/kernel.elf, so a kernel rebuilt
 * during a sweep does not change what it boots. 0 or -1 with err (a database in use by
 * another injector: which one, by pid).
 */
int store_open(struct store *st, const char *db_path, const char *kernel, const char *src_root,
	       char *err, size_t errlen);
void store_close(struct store *st);

/* The raw console log of a run: <logs>/<scenario>.<exec>.<fault>[.<class>][.<site>].<n>.<ext>
 * (characters outside [A-Za-z0-9_.-] in names become '_'). 0, or -1 if it does not fit. */
int store_run_log(const struct store *st, const struct ft_run_key *key, const char *ext,
		  char *buf, size_t len);

/* "func (file:line)" or "func" or "pc <hex>" for a pc of the registered build. */
void store_describe_pc(const struct store *st, uint64_t pc, const char *func, char *buf,
		       size_t len);

#endif
