/*
 * qmp.h - the injector's side of QEMU's monitor (QMP), for snapshot mode: save the machine
 * once it has said hello, restore it before every run.
 *
 * The monitor is one end of a socketpair QEMU inherits (`-chardev socket,id=qmp,fd=4 -mon
 * chardev=qmp,mode=control`), never a listening socket. The snapshot lives in a scratch
 * qcow2 overlay in memory (a memfd, made a qcow2 by qemu-img, inherited by QEMU as fd
 * QMP_OVERLAY_FD and gone with it): QEMU's `-blockdev` node QMP_NODE, attached to no device,
 * and the only node a
 * snapshot is taken of or restored to (other drives, such as the null-co disk, cannot take
 * internal snapshots and are left alone). Every exchange is synchronous and bounded in
 * time and size; QEMU's replies are untrusted: anything but the expected answer is an error
 * whose text is printable and bounded.
 */
#ifndef FAULTLINE_INJECTOR_QMP_H
#define FAULTLINE_INJECTOR_QMP_H

#include <stddef.h>

#define QMP_FD 4                 /* the monitor's fd in QEMU */
#define QMP_OVERLAY_FD 5         /* the overlay's fd in QEMU */
#define QMP_NODE "faultline-snap" /* the overlay's block node */
#define QMP_LINE_MAX 65536       /* the longest reply line read */

struct qmp {
	int fd;                  /* host end of the monitor socketpair; -1 when none */
	char buf[QMP_LINE_MAX];  /* bytes read and not yet taken as a line */
	size_t len;
	const char *job;         /* the job being awaited: its events are noted whenever read */
	int job_aborted, job_concluded;
};

/* The scratch overlay: a memfd made an empty qcow2 by qemu-img (Debian's qemu-utils). Its fd
 * (close-on-exec), or -1 and err. */
int qmp_overlay_create(char *err, size_t errlen);

/* Read QEMU's greeting and leave capability negotiation. 0, or -1 and err. */
int qmp_start(struct qmp *m, double timeout_s, char *err, size_t errlen);

/* Save the running machine (RAM, CPU, devices) as snapshot tag; it keeps running. */
int qmp_save(struct qmp *m, const char *tag, double timeout_s, char *err, size_t errlen);

/* Put the machine back to snapshot tag; it runs on from there. 0, or -1 and err. */
int qmp_load(struct qmp *m, const char *tag, double timeout_s, char *err, size_t errlen);

#endif
