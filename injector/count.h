/*
 * count.h - the unique findings of a database, counted by the analysis library.
 *
 * Findings are fingerprinted, grouped and suppressed in one place, analysis/. At the end of
 * a sweep the injector runs `python3 -m analysis findings` on its database, so the count it
 * prints and its exit status are the analysis's, suppressions and the kernel's
 * kernel profile included.
 */
#ifndef FAULTLINE_INJECTOR_COUNT_H
#define FAULTLINE_INJECTOR_COUNT_H

#include <stddef.h>
#include <stdio.h>

struct count_args {
	const char *db;
	const char *suppressions;   /* NULL: none */
	const char *profile;        /* --profile; NULL: the analysis finds faultline.ini */
};

/*
 * Run FAULTLINE_PYTHON (default /usr/bin/python3) -m analysis findings on the database,
 * the analysis package being the one beside this injector (<dir of the binary>/../analysis),
 * and copy what it prints to out. Returns its exit status (0: nothing fails the run,
 * 1: findings), or -1 with the reason in why when it gave no result (no Python, no analysis
 * package, an error of its own, which it printed on stderr).
 */
int count_findings(const struct count_args *a, FILE *out, char *why, size_t whylen);

#endif
