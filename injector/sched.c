/*
 * sched.c - workers and the poll loop (see sched.h).
 *
 * A worker's life:
 *   EMPTY --job--> RUN (QEMU spawned, commands queued at once; they wait in the socket)
 *   RUN --end record--> fresh: EXIT (quit was queued; reap, then store)
 *                       reset: send `reset`, store, BOOT
 *                       warm: store, then `restart` if the run was clean, else `reset`; BOOT
 *   BOOT --hello--> READY --job--> RUN (commands sent after the new hello)
 *                       snapshot: restore the snapshot, send a marker, store; BOOT
 *   BOOT --`err restart`--> send `reset`, BOOT (the kernel would not restart warm)
 *   BOOT --first hello (snapshot mode)--> save the snapshot, READY
 *   BOOT --the marker's answer (snapshot mode)--> READY, the stream as it was at the snapshot
 *   RUN --timeout--> kill, store as hang        RUN --EOF--> EXIT (reap, then store)
 *   RUN --timeout (snapshot mode)--> store as hang, restore, BOOT
 * A QEMU that breaks in reset mode is killed and the worker goes back to EMPTY.
 */
#define _GNU_SOURCE
#include "sched.h"
#include "parser.h"
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define LOG_FLUSH (4u << 20)      /* write a run's log out once it holds this much */
#define EXIT_GRACE_S 5.0          /* after `end`, how long QEMU may take to exit */
#define UART_TAIL_LINES 20        /* of a kernel that never said hello, in the error */
#define UART_TAIL_BYTES 2048
#define MAX_INFRA_STREAK 4        /* infra results in a row before giving up */
#define MAX_BOOT_FAILURES 3       /* QEMUs in a row that never said hello */
#define MAX_PCS (1u << 22)        /* call sites kept from one reference run */
#define MAX_PENDING 8             /* judged runs waiting to be written, at most */
#define SNAP_TAG "hello"          /* snapshot mode: the machine as it said hello */

enum wstate { W_EMPTY, W_RUN, W_EXIT, W_BOOT, W_READY };

/* What a booting worker waits for, as boot_line found it on the console. */
enum heard { HEARD_NOTHING, HEARD_HELLO, HEARD_REFUSAL, HEARD_MARKER };

struct logbuf {
	char *p;
	size_t len, cap;
	int fd;             /* the run's log file once flushed early, else -1 */
	int overflow;       /* an allocation failed: bytes were lost from the log */
};

struct worker {
	int idx;
	enum wstate state;
	struct qemu_proc q;
	long spawns;

	struct job job;
	int active;            /* job holds a dispatched job */
	int nostore;           /* reference run already stored: run it, do not store again */
	struct ft_run *run;
	double t_start, deadline;
	double t_end;          /* when the run's end record was read; 0 before */
	int saw_eof;
	int restarting;        /* `restart` sent: waiting for its hello (or its refusal) */
	char log_path[4096];
	char uart_path[4096];
	char err_path[4096];
	struct logbuf log;

	struct ft_lines con;   /* the console between runs (W_BOOT), read by boot_line */
	enum heard heard;
	char line[FT_LINE_MAX + 2]; /* the line heard, with its terminator */
	size_t linelen;
	int unknown_cmd;       /* the refusal heard was `unknown-command` */

	uint64_t *pcs;         /* reference run: caller pc of every matching attempt */
	size_t npcs, cappcs;

	/* snapshot mode */
	struct qmp mon;        /* the QEMU's monitor */
	int saved;             /* the snapshot is taken */
	struct logbuf hello;   /* the stream from hello to the snapshot: every run's start */
	long restores;
	char marker[48];       /* after a restore: the answer that ends the old run's bytes */
};

/*
 * A run that is judged and accounted for (plan, stats, report) but not yet written: the
 * loop writes it when no machine is waiting for the host, so a machine's next run does not
 * wait for the database.
 */
struct pending {
	struct ft_run *run;
	int exit_status;
	double wall_ms;
	struct logbuf log;     /* the run's console stream, taken over from its worker */
	char raw_log[4096];    /* where it is written when kept as a file */
	char what[160];        /* "scenario N=n", for an error message */
};

/* A QEMU that has done its job and is powering off; reaped in the background. */
struct exiting {
	struct qemu_proc q;
	double deadline;
};

struct sched {
	const struct sched_cfg *cfg;
	struct worker *w;
	int nw;
	struct exiting *ex;    /* at most 2 * nw */
	int nex;
	int infra_streak;
	int boot_failures;     /* QEMUs in a row that died before hello */
	int no_warm;           /* the kernel does not know `restart`: reset from now on */
	struct pending pend[MAX_PENDING];
	int npend;
	int active_max;        /* runs at once (-j) */
	int fatal;
	char *err;
	size_t errlen;
};

/* ---- raw log buffer ---- */

static void log_reset(struct logbuf *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->len = 0;
	b->overflow = 0;
}

static int log_write_fd(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write what is buffered to path (created on first flush). */
static void log_flush(struct logbuf *b, const char *path)
{
	if (b->fd < 0) {
		b->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (b->fd < 0) {
			b->overflow = 1;
			b->len = 0;
			return;
		}
	}
	if (b->len && log_write_fd(b->fd, b->p, b->len) < 0)
		b->overflow = 1;
	b->len = 0;
}

/* Forget what is buffered, and the file it was flushed to, if any. */
static void log_drop(struct logbuf *b, const char *path)
{
	if (b->fd >= 0)
		unlink(path);
	log_reset(b);
}

static void log_append(struct logbuf *b, const char *p, size_t n, const char *path)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->overflow = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	if (path && b->len >= LOG_FLUSH)
		log_flush(b, path);
}

/* ---- what the host learns from the console ---- */

static int str_is(struct ft_str t, const char *w)
{
	return t.n == strlen(w) && !memcmp(t.p, w, t.n);
}

/* Reference run: keep the caller pc of every allocation attempt the series would count. */
static void collect_site(void *ctx, const char *cls, uint64_t pc)
{
	struct worker *w = ctx;
	const struct series *s = w->job.s;

	if (s->class_filter[0] && (!cls || strcmp(cls, s->class_filter)))
		return;
	if (s->hi && (pc < s->lo || pc >= s->hi))
		return;
	if (w->npcs == w->cappcs) {
		size_t cap = w->cappcs ? 2 * w->cappcs : 1024;
		uint64_t *np;

		if (cap > MAX_PCS)
			return;
		np = realloc(w->pcs, cap * sizeof *np);
		if (!np)
			return;
		w->pcs = np;
		w->cappcs = cap;
	}
	w->pcs[w->npcs++] = pc;
}

/*
 * After a restore: whether the line is the marker's answer, `err resync-<k> <reason>`. The
 * old run's last bytes, cut short, may come before it on the same line: the marker is the
 * host's own, so it is looked for anywhere in the line, and from there on the line must be
 * that record.
 */
static int marker_answer(const struct worker *w, const struct ft_line *l)
{
	const char *m = memmem(l->p, l->n, w->marker, strlen(w->marker));
	struct ft_rec rec;
	const char *why;

	return m && ft_parse_record(m, (size_t)(l->p + l->n - m), &rec, &why) == 0 &&
	       rec.kind == FT_K_ERR;
}

/*
 * A line on a booting worker's console. Stops the feed at what the worker waits for: the
 * hello; after `restart`, its refusal; after a restore, the marker's answer (then only that).
 * The line is kept in w->line as it came, for the run's log.
 */
static int boot_line(void *ctx, const struct ft_line *l)
{
	struct worker *w = ctx;
	const struct ft_rec *rec = l->rec;

	if (l->bad)
		return 0;
	if (w->marker[0])
		w->heard = marker_answer(w, l) ? HEARD_MARKER : HEARD_NOTHING;
	else if (rec && rec->kind == FT_K_HELLO)
		w->heard = HEARD_HELLO;
	else if (rec && rec->kind == FT_K_ERR && w->restarting && str_is(rec->name, "restart"))
		w->heard = HEARD_REFUSAL;
	if (w->heard == HEARD_NOTHING)
		return 0;
	w->unknown_cmd = w->heard == HEARD_REFUSAL && str_is(rec->text, "unknown-command");
	memcpy(w->line, l->p, l->n);
	w->linelen = l->n;
	if (l->crlf)
		w->line[w->linelen++] = '\r';
	w->line[w->linelen++] = '\n';
	return 1;
}

/* ---- worker helpers ---- */

/* "exit 1", "signal 9" for a wait status; "unknown" for -1. */
static void describe_status(int st, char *buf, size_t len)
{
	if (st == -1)
		snprintf(buf, len, "unknown status");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %d", st);
}

static void first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\r\n")] = 0;
	fclose(f);
}

/* The last lines of the UART log at path (at most UART_TAIL_LINES and UART_TAIL_BYTES), each
 * indented, bytes other than printable ASCII shown as '?'; "" when it is empty. */
static void uart_tail(const char *path, char *buf, size_t len)
{
	char raw[UART_TAIL_BYTES];
	FILE *f = fopen(path, "re");
	size_t n, start, pos = 0;
	int lines = 0;

	buf[0] = 0;
	if (!f)
		return;
	if (fseek(f, -(long)sizeof raw, SEEK_END) < 0)
		rewind(f);
	n = fread(raw, 1, sizeof raw, f);
	fclose(f);
	while (n && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
		n--;
	for (start = n; start > 0; start--)
		if (raw[start - 1] == '\n' && ++lines == UART_TAIL_LINES)
			break;
	for (size_t i = start; i < n && pos + 6 < len; i++) {
		unsigned char ch = (unsigned char)raw[i];

		if (i == start || ch == '\n')
			pos += (size_t)snprintf(buf + pos, len - pos, "\n    ");
		if (ch != '\n' && ch != '\r')
			buf[pos++] = qemu_shown_byte(ch);
	}
	buf[pos < len ? pos : len - 1] = 0;
}

static int build_commands(const struct worker *w, int guard, char *buf, size_t len)
{
	const struct job *j = &w->job;
	const struct series *se = j->s;
	size_t pos = 0;
	int r;

	buf[0] = 0;
	if (guard) {
		pos = strlen("guard on\n");
		memcpy(buf, "guard on\n", pos + 1);
	}
	if (!j->reference) {
		r = snprintf(buf + pos, len - pos, "arm %ld %s", j->n, se->fault_mode);
		if (r < 0 || (size_t)r >= len - pos)
			return -1;
		pos += (size_t)r;
		if (se->class_filter[0]) {
			r = snprintf(buf + pos, len - pos, " class=%s", se->class_filter);
			if (r < 0 || (size_t)r >= len - pos)
				return -1;
			pos += (size_t)r;
		}
		if (j->hi) {
			r = snprintf(buf + pos, len - pos, " lo=%" PRIx64 " hi=%" PRIx64, j->lo, j->hi);
			if (r < 0 || (size_t)r >= len - pos)
				return -1;
			pos += (size_t)r;
		}
		if (pos + 1 >= len)
			return -1;
		buf[pos++] = '\n';
	}
	r = snprintf(buf + pos, len - pos, "run %s\n", se->scenario);
	if (r < 0 || (size_t)r >= len - pos)
		return -1;
	return (int)(pos + (size_t)r);
}

static void worker_kill(struct sched *s, struct worker *w, int *status)
{
	int st = qemu_kill(&w->q);

	(void)s;
	if (status)
		*status = st;
	w->state = W_EMPTY;
}

/*
 * Write the oldest judged run. Its console stream becomes a file only when the run is
 * stored in full (or when it was too long to hold and is on disk already: then the file
 * goes once the database holds what is kept of it). A database error stops the sweep.
 */
static void store_pending(struct sched *s)
{
	struct pending *p = &s->pend[0];
	struct ft_run_end end = { .how = FT_END_EXITED, .keep = s->cfg->keep };
	struct ft_run_result res;
	char err[512];
	int on_disk;

	if (s->npend == 0)
		return;
	end.exit_status = p->exit_status;
	end.wall_ms = p->wall_ms;
	end.raw_log = p->raw_log;
	on_disk = p->log.fd >= 0;
	if (on_disk || ft_run_stored_in_full(p->run, s->cfg->keep)) {
		log_flush(&p->log, p->raw_log);
	} else {
		end.raw = p->log.p;
		end.raw_len = p->log.len;
	}
	if (ft_run_finish(p->run, &end, &res, err, sizeof err) < 0) {
		if (!s->fatal)
			snprintf(s->err, s->errlen, "storing %s: %s", p->what, err);
		s->fatal = 1;
	} else if (!res.in_full && on_disk) {
		unlink(p->raw_log);
	}
	log_reset(&p->log);
	free(p->log.p);
	memmove(&s->pend[0], &s->pend[1], (size_t)(--s->npend) * sizeof s->pend[0]);
}

/* Queue a judged run for writing (writing the oldest first when the queue is full). */
static void queue_store(struct sched *s, struct worker *w, const struct ft_run_end *end)
{
	struct pending *p;

	if (s->npend == MAX_PENDING)
		store_pending(s);
	p = &s->pend[s->npend++];
	p->run = w->run;
	p->exit_status = end->exit_status;
	p->wall_ms = end->wall_ms;
	p->log = w->log;
	w->log = (struct logbuf){ .fd = -1 };
	snprintf(p->raw_log, sizeof p->raw_log, "%s", end->raw_log);
	snprintf(p->what, sizeof p->what, "%s N=%ld", w->job.s->scenario, w->job.n);
	w->run = NULL;
}

/*
 * Judge the worker's run and queue it for writing (or queue the job for a retry when the
 * host could not talk to the machine), account for it, and release the job. The worker's
 * state is the caller's business.
 */
static void finish_job(struct sched *s, struct worker *w, enum ft_ending how, int status,
		       const char *reason)
{
	const struct sched_cfg *cfg = s->cfg;
	struct ft_run_end end = { 0 };
	struct ft_run_result res;
	struct job j = w->job;
	int stop;

	w->active = 0;
	cfg->stats->inflight--;
	if (how == FT_END_LOST && plan_retry(cfg->plan, &j)) {
		log_drop(&w->log, w->log_path);
		ft_run_abandon(w->run);
		w->run = NULL;
		cfg->stats->retried++;
		return;
	}
	if (j.reference)
		ft_run_attempts(w->run, collect_site, w);
	if (w->nostore) {
		log_drop(&w->log, w->log_path);
		ft_run_abandon(w->run);
		w->run = NULL;
		memset(&res, 0, sizeof res);
		res.outcome = FT_COMPLETED;
	} else {
		end.how = how;
		end.exit_status = status;
		end.wall_ms = ((w->t_end > 0 ? w->t_end : now_s()) - w->t_start) * 1e3;
		end.raw_log = w->log_path;
		end.infra_reason = reason;
		ft_run_check(w->run, &end, &res);
		queue_store(s, w, &end);
	}
	if (j.reference)
		plan_set_sites(cfg->plan, j.s, w->pcs, w->npcs);
	w->npcs = 0;
	/*
	 * Larger N cannot fire once a run ended without firing, or died before its fault was
	 * reached (the allocation sequence up to that point is the same for every larger N).
	 */
	stop = res.outcome != FT_INFRA && !res.fired && (res.ended || res.fault_pc == 0);
	plan_done(cfg->plan, &j, stop);
	if (!w->nostore)
		stats_record(cfg->stats, res.outcome, res.fault_pc, 1);
	if (res.outcome == FT_INFRA) {
		if (++s->infra_streak >= MAX_INFRA_STREAK && !s->fatal) {
			snprintf(s->err, s->errlen,
				 "giving up: %d runs in a row were infrastructure failures (last: %s "
				 "N=%ld, %s; see runs.infra_reason)", s->infra_streak, j.s->scenario,
				 j.n, reason ? reason : "classified infra by the tracer");
			s->fatal = 1;
		}
	} else {
		s->infra_streak = 0;
	}
	if (cfg->on_result && !w->nostore)
		cfg->on_result(cfg->ctx, &j, &res, w->log_path);
}

/* The kernel refused one of our commands: not a finding, not retried, fails the series. */
static void refuse_job(struct sched *s, struct worker *w)
{
	char line[FT_LINE_MAX + 1], why[FT_LINE_MAX + 64];
	struct job j = w->job;

	ft_run_refusal(w->run, line, sizeof line);
	for (char *c = line; *c; c++)
		*c = qemu_shown_byte((unsigned char)*c);
	snprintf(why, sizeof why, "the kernel refused the command: %s", line);
	worker_kill(s, w, NULL);
	log_flush(&w->log, w->log_path);
	log_reset(&w->log);
	ft_run_abandon(w->run);
	w->run = NULL;
	w->active = 0;
	w->npcs = 0;
	s->cfg->stats->inflight--;
	plan_drop(s->cfg->plan, &j, why);
}

/* Start the job on this worker: spawn QEMU if it has none, then queue the commands. */
/*
 * A QEMU died or stalled before its hello with no run on it. A few in a row mean QEMU
 * cannot boot this kernel here at all: stop, saying why.
 */
/* A worker's QEMU was killed because it broke: count it and keep why for the summary. */
static void machine_lost(struct sched *s, const char *why)
{
	struct stats *st = s->cfg->stats;

	st->lost++;
	snprintf(st->lost_why, sizeof st->lost_why, "%.*s", (int)sizeof st->lost_why - 1, why);
}

static void boot_failed(struct sched *s, struct worker *w, const char *why)
{
	char line[400], tail[UART_TAIL_BYTES + 4 * UART_TAIL_LINES + 8];

	machine_lost(s, why);
	if (++s->boot_failures < MAX_BOOT_FAILURES || s->fatal)
		return;
	first_line(w->err_path, line, sizeof line);
	uart_tail(w->uart_path, tail, sizeof tail);
	snprintf(s->err, s->errlen, "QEMU failed to boot the kernel %d times in a row: %s%s%s%s%s",
		 s->boot_failures, why, line[0] ? ": " : "", line,
		 tail[0] ? "; the kernel's last UART lines:" : "; the kernel wrote nothing on its UART",
		 tail);
	s->fatal = 1;
}

/* Give the job to a worker whose QEMU has booted and said hello (W_READY). */
static void start_job(struct sched *s, struct worker *w, const struct job *j)
{
	const struct sched_cfg *cfg = s->cfg;
	struct ft_run_key key;
	char cmd[512], path[4096];
	int n, done;

	w->job = *j;
	w->active = 1;
	w->npcs = 0;
	w->saw_eof = 0;
	cfg->stats->inflight++;
	job_key(cfg->plan, j, &key);
	w->nostore = 0;
	if (j->reference) {
		done = ft_db_run_done(cfg->store->db, cfg->store->build, &key, NULL, NULL);
		w->nostore = done == 1;
	}
	if (store_run_log(cfg->store, &key, "log", w->log_path, sizeof w->log_path) < 0)
		snprintf(w->log_path, sizeof w->log_path, "%s/run.log", cfg->store->logs);
	/* fresh mode: this QEMU's UART log belongs to this run alone */
	if (!cfg->qemu.reset_mode &&
	    store_run_log(cfg->store, &key, "uart", path, sizeof path) == 0 &&
	    rename(w->uart_path, path) == 0)
		memcpy(w->uart_path, path, sizeof path);
	w->run = ft_run_begin(cfg->store->db, cfg->store->build, j->s->sweep_id, &key);
	w->t_start = now_s();
	w->t_end = 0;
	w->deadline = w->t_start + cfg->timeout_s;
	if (!w->run) {
		snprintf(s->err, s->errlen, "cannot begin a run (out of memory?)");
		s->fatal = 1;
		w->active = 0;
		cfg->stats->inflight--;
		plan_drop(cfg->plan, j, "cannot begin a run");
		return;
	}
	/* The hello (and anything after it) is already buffered: give it to the run. */
	ft_run_feed_until_end(w->run, w->log.p, w->log.len);
	w->state = W_RUN;
	n = build_commands(w, cfg->guard, cmd, sizeof cmd);
	if (n < 0 || qemu_send(&w->q, cmd, (size_t)n) < 0) {
		int st;

		worker_kill(s, w, &st);
		finish_job(s, w, FT_END_LOST, st, n < 0 ? "command too long" : "cannot send commands");
	}
}

/*
 * Start a QEMU on an empty worker, ahead of any job: it boots while other runs proceed and
 * waits at hello (W_BOOT, then W_READY) until start_job gives it one.
 */
static void spawn_qemu(struct sched *s, struct worker *w)
{
	const struct sched_cfg *cfg = s->cfg;
	struct qemu_cfg qc = cfg->qemu;
	char err[512];

	log_reset(&w->log);
	ft_lines_init(&w->con);
	w->spawns++;
	if (cfg->qemu.reset_mode)
		snprintf(w->uart_path, sizeof w->uart_path, "%s/worker%d.%ld.uart",
			 cfg->store->logs, w->idx, w->spawns);
	else
		snprintf(w->uart_path, sizeof w->uart_path, "%s/spare%d.uart", cfg->store->logs,
			 w->idx);
	snprintf(w->err_path, sizeof w->err_path, "%s/worker%d.stderr", cfg->store->logs,
		 w->idx);
	w->saved = 0;
	w->marker[0] = 0;
	w->mon.len = 0;
	/* snapshot mode: the overlay is QEMU's alone, gone with it */
	qc.overlay_fd = cfg->snapshot ? qmp_overlay_create(err, sizeof err) : 0;
	if (qc.overlay_fd < 0 ||
	    qemu_spawn(&qc, w->uart_path, w->err_path, &w->q, err, sizeof err) < 0) {
		if (qc.overlay_fd > 0)
			close(qc.overlay_fd);
		w->state = W_EMPTY;
		boot_failed(s, w, err);
		return;
	}
	if (qc.overlay_fd > 0)
		close(qc.overlay_fd);
	w->mon.fd = w->q.qmp;
	w->state = W_BOOT;
	w->restarting = 0;
	w->deadline = now_s() + s->cfg->qemu.boot_timeout_s;
	s->cfg->stats->spawns++;
}

/*
 * Hand the worker's QEMU, which has been told to quit, to the background reaper: the worker
 * can start its next QEMU while this one tears itself down.
 */
static void retire(struct sched *s, struct worker *w)
{
	if (s->nex < 2 * s->nw) {
		s->ex[s->nex].q = w->q;
		s->ex[s->nex].deadline = now_s() + EXIT_GRACE_S;
		s->nex++;
		w->q.pid = 0;
		w->q.fd = -1;
		w->q.pidfd = -1;
		w->q.qmp = -1;
	} else {
		qemu_kill(&w->q);
	}
	w->state = W_EMPTY;
}

static void reap_exiting(struct sched *s, int i, int force)
{
	struct exiting *e = &s->ex[i];
	int st;

	if (force || now_s() >= e->deadline)
		qemu_kill(&e->q);
	else if (!qemu_try_reap(&e->q, &st))
		return;
	s->ex[i] = s->ex[--s->nex];
}

/*
 * Send `reset` or `restart` to a worker whose run is over and wait for the new hello; a
 * QEMU that cannot be told is killed (a new one is started when needed).
 */
static void restart_machine(struct sched *s, struct worker *w, int warm)
{
	const char *cmd = warm ? "restart\n" : "reset\n";

	ft_lines_init(&w->con);
	w->restarting = warm;
	if (qemu_send(&w->q, cmd, strlen(cmd)) < 0) {
		worker_kill(s, w, NULL);
		machine_lost(s, warm ? "cannot send restart" : "cannot send reset");
		return;
	}
	s->cfg->stats->resets += !warm;
	s->cfg->stats->warm += warm;
	w->state = W_BOOT;
	w->deadline = now_s() + s->cfg->qemu.boot_timeout_s;
}

/*
 * Snapshot mode: put the machine back to the snapshot taken at its hello, then send a
 * command it does not know, unique to this restore. Its answer is the first thing the
 * restored machine says: what comes before it is the old run's, still in the socket.
 */
static void restore_machine(struct sched *s, struct worker *w)
{
	char err[512], cmd[48];
	double t0;
	int loaded;

	ft_lines_init(&w->con);
	w->restores++;
	snprintf(cmd, sizeof cmd, "resync-%ld\n", w->restores);
	snprintf(w->marker, sizeof w->marker, "err resync-%ld ", w->restores);
	t0 = now_s();
	loaded = qmp_load(&w->mon, SNAP_TAG, s->cfg->qemu.boot_timeout_s, err, sizeof err);
	s->cfg->stats->restore_s += now_s() - t0;
	if (loaded < 0) {
		char why[sizeof err + 32];

		worker_kill(s, w, NULL);
		snprintf(why, sizeof why, "restoring the snapshot: %s", err);
		machine_lost(s, why);
		return;
	}
	if (qemu_send(&w->q, cmd, strlen(cmd)) < 0) {
		worker_kill(s, w, NULL);
		machine_lost(s, "cannot send the resync marker");
		return;
	}
	s->cfg->stats->restores++;
	w->state = W_BOOT;
	w->deadline = now_s() + s->cfg->qemu.boot_timeout_s;
}

/*
 * Snapshot mode, the first hello of this QEMU: save the machine as it is (it waits for
 * commands), and keep what it said as the start of every run's stream.
 */
static int take_snapshot(struct sched *s, struct worker *w)
{
	char err[512];

	if (qmp_start(&w->mon, s->cfg->qemu.boot_timeout_s, err, sizeof err) < 0 ||
	    qmp_save(&w->mon, SNAP_TAG, s->cfg->qemu.boot_timeout_s, err, sizeof err) < 0) {
		worker_kill(s, w, NULL);
		boot_failed(s, w, err);
		return -1;
	}
	w->saved = 1;
	log_reset(&w->hello);
	log_append(&w->hello, w->log.p, w->log.len, NULL);
	return 0;
}

/* The run saw its end record: everything the run says has been said. */
static void on_end(struct sched *s, struct worker *w)
{
	const struct ft_run_end exited = { .how = FT_END_EXITED, .exit_status = -1 };
	struct ft_run_result res;
	int clean;

	w->t_end = now_s();   /* the run's time ends here, before any restart or restore */
	if (!s->cfg->qemu.reset_mode) {
		/* store now; QEMU powers off in the background */
		qemu_send(&w->q, "quit\n", 5);
		finish_job(s, w, FT_END_EXITED, -1, NULL);
		retire(s, w);
		return;
	}
	if (s->cfg->snapshot) {
		restore_machine(s, w);
		finish_job(s, w, FT_END_EXITED, -1, NULL);
		return;
	}
	if (!s->cfg->warm) {
		/* the guest resets while the run is being stored */
		restart_machine(s, w, 0);
		finish_job(s, w, FT_END_EXITED, -1, NULL);
		return;
	}
	/*
	 * warm: only a run the tracer finds clean (handled or completed, nothing malformed) may
	 * leave its kernel running; anything else resets. Judged first, so that the kernel
	 * restarts while the run is being stored.
	 */
	ft_run_check(w->run, &exited, &res);
	clean = !w->nostore && (res.outcome == FT_HANDLED || res.outcome == FT_COMPLETED) &&
		res.nmalformed == 0;
	restart_machine(s, w, clean && !s->no_warm);
	finish_job(s, w, FT_END_EXITED, -1, NULL);
}

/* The kernel answered `restart` with `err` (tainted, image changed, or no such command). */
static void restart_refused(struct sched *s, struct worker *w)
{
	if (w->unknown_cmd)
		s->no_warm = 1;
	s->cfg->stats->warm--;
	restart_machine(s, w, 0);
}

/*
 * QEMU has exited (or must be reaped now, killed_here: by us): store the run it was running.
 * A QEMU killed by a signal that is not ours before the end record broke; the guest cannot
 * send QEMU a signal, so the run is an infrastructure failure (retried), not a crash.
 */
static void on_qemu_exit(struct sched *s, struct worker *w, int status, int killed_here)
{
	char why[600], line[400], how[32];

	w->state = W_EMPTY;
	if (!w->active)
		return;
	describe_status(status, how, sizeof how);
	if (!killed_here && status != -1 && WIFSIGNALED(status) && !ft_run_saw_end(w->run)) {
		snprintf(why, sizeof why, "QEMU was killed (%s) during a run", how);
		machine_lost(s, why);
		finish_job(s, w, FT_END_LOST, status, why);
		return;
	}
	if (ft_run_saw_end(w->run) || ft_run_saw_hello(w->run, NULL, 0)) {
		finish_job(s, w, FT_END_EXITED, status, NULL);
		return;
	}
	first_line(w->err_path, line, sizeof line);
	snprintf(why, sizeof why, "qemu exited before hello (%s)%s%s", how,
		 line[0] ? ": " : "", line);
	finish_job(s, w, FT_END_LOST, status, why);
}

static void on_bytes(struct sched *s, struct worker *w, const char *p, size_t n);

/* The console of a worker whose run is over said what it waits for (boot_line). */
static void on_heard(struct sched *s, struct worker *w, const char *rest, size_t n)
{
	if (w->heard == HEARD_REFUSAL) {   /* `err restart ...`: reset instead */
		restart_refused(s, w);
		if (w->state == W_BOOT)
			on_bytes(s, w, rest, n);
		return;
	}
	w->restarting = 0;
	/* The run's stream starts at hello; what the old run said after `end` is gone. */
	log_reset(&w->log);
	if (w->heard == HEARD_MARKER)
		log_append(&w->log, w->hello.p, w->hello.len, NULL);
	else
		log_append(&w->log, w->line, w->linelen, NULL);
	log_append(&w->log, rest, n, NULL);
	w->marker[0] = 0;
	if (s->cfg->snapshot && !w->saved && take_snapshot(s, w) < 0)
		return;
	w->state = W_READY;
	s->boot_failures = 0;
}

/* Bytes from a worker's console: fed to the tracer's readers, kept in the run's log. */
static void on_bytes(struct sched *s, struct worker *w, const char *p, size_t n)
{
	size_t at;

	switch (w->state) {
	case W_RUN:
		log_append(&w->log, p, n, w->log_path);
		/*
		 * The run's stream stops at its end record: what follows (`ok quit` in fresh
		 * mode) is kept in the raw log only, so every mode stores the same stream.
		 */
		ft_run_feed_until_end(w->run, p, n);
		if (ft_run_saw_end(w->run))
			on_end(s, w);
		else if (ft_run_refusal(w->run, NULL, 0))
			refuse_job(s, w);
		return;
	case W_EXIT:
		log_append(&w->log, p, n, w->log_path);
		ft_run_feed_until_end(w->run, p, n);
		return;
	case W_BOOT:
		w->heard = HEARD_NOTHING;
		at = ft_records_feed(&w->con, p, n, boot_line, w);
		if (w->heard != HEARD_NOTHING)
			on_heard(s, w, p + at, n - at);
		return;
	case W_READY:
		log_append(&w->log, p, n, NULL);
		return;
	case W_EMPTY:
		return;
	}
}

static void on_timeout(struct sched *s, struct worker *w)
{
	int st;

	switch (w->state) {
	case W_RUN:
		if (s->cfg->snapshot) {
			finish_job(s, w, FT_END_TIMEOUT, -1, NULL);
			restore_machine(s, w);
			return;
		}
		worker_kill(s, w, &st);
		if (ft_run_saw_hello(w->run, NULL, 0))
			finish_job(s, w, FT_END_TIMEOUT, st, NULL);
		else
			finish_job(s, w, FT_END_LOST, st, "no hello within the timeout");
		return;
	case W_EXIT:
		worker_kill(s, w, &st);
		on_qemu_exit(s, w, st, 1);
		return;
	case W_BOOT: {
		char why[96];

		worker_kill(s, w, NULL);
		snprintf(why, sizeof why, "no %s within %g s",
			 w->marker[0] ? "answer to the marker after a restore" : "hello",
			 s->cfg->qemu.boot_timeout_s);
		boot_failed(s, w, why);
		return;
	}
	default:
		return;
	}
}

/* Read what the console has; returns 0 at EOF or on error, 1 otherwise. */
static int drain(struct sched *s, struct worker *w)
{
	char buf[READ_CHUNK];

	for (int k = 0; k < 16 && w->q.fd >= 0; k++) {
		ssize_t r = read(w->q.fd, buf, sizeof buf);

		if (r > 0) {
			on_bytes(s, w, buf, (size_t)r);
			if (w->state == W_EMPTY)
				return 1;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
		return 0;
	}
	return 1;
}

static void on_console_closed(struct sched *s, struct worker *w)
{
	char why[64];
	int st;

	qemu_close_console(&w->q);
	switch (w->state) {
	case W_RUN:
	case W_EXIT:
		/* QEMU is going away (or the channel broke): reap it, then store. */
		w->state = W_EXIT;
		w->saw_eof = 1;
		if (w->q.pidfd < 0) {
			st = qemu_kill(&w->q);
			on_qemu_exit(s, w, st, 1);
		} else if (w->deadline > now_s() + EXIT_GRACE_S) {
			w->deadline = now_s() + EXIT_GRACE_S;
		}
		return;
	case W_BOOT:
	case W_READY: {
		int st;

		char how[32];

		worker_kill(s, w, &st);
		describe_status(st, how, sizeof how);
		snprintf(why, sizeof why, "QEMU exited before hello (%s)", how);
		boot_failed(s, w, why);
		return;
	}
	case W_EMPTY:
		return;
	}
}

/* A job found already done in the database counts as finished with its stored outcome. */
static void on_skip(void *ctx, const struct job *j, int fired, enum ft_outcome o)
{
	struct stats *st = ctx;

	(void)j;
	(void)fired;
	stats_record(st, o, 0, 0);
}

static void assign_jobs(struct sched *s)
{
	const struct sched_cfg *cfg = s->cfg;
	int active = 0, idle = 0;

	for (int i = 0; i < s->nw; i++) {
		active += s->w[i].active;
		idle += !s->w[i].active && (s->w[i].state == W_BOOT || s->w[i].state == W_READY);
	}
	/* jobs go to booted QEMUs, at most -j at once */
	for (int i = 0; i < s->nw && active < s->active_max && !s->fatal; i++) {
		struct worker *w = &s->w[i];
		struct job j;
		int r;

		if (w->state != W_READY)
			continue;
		r = plan_next(cfg->plan, &j, on_skip, cfg->stats);
		if (r != 1)
			break;
		start_job(s, w, &j);
		active++;
		idle--;
	}
	if (s->fatal)
		return;
	if (!plan_pending(cfg->plan)) {
		/* no job will come: let idle QEMUs go */
		for (int i = 0; i < s->nw; i++) {
			struct worker *w = &s->w[i];

			if (!w->active && (w->state == W_BOOT || w->state == W_READY))
				worker_kill(s, w, NULL);
		}
		return;
	}
	/* keep up to -j QEMUs booting or booted ahead of their jobs */
	for (int i = 0; i < s->nw && idle < s->active_max && !s->fatal; i++) {
		if (s->w[i].state == W_EMPTY && active + idle < s->nw) {
			spawn_qemu(s, &s->w[i]);
			idle += s->w[i].state == W_BOOT;
		}
	}
}

static void stop_all(struct sched *s)
{
	while (s->nex > 0)
		reap_exiting(s, s->nex - 1, 1);
	for (int i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];

		if (w->q.pid > 0)
			worker_kill(s, w, NULL);
		if (w->active) {
			struct job j = w->job;

			log_flush(&w->log, w->log_path);
			log_reset(&w->log);
			ft_run_abandon(w->run);
			w->run = NULL;
			w->active = 0;
			s->cfg->stats->inflight--;
			plan_drop(s->cfg->plan, &j, NULL);
		}
		w->state = W_EMPTY;
	}
}

static int any_busy(const struct sched *s)
{
	for (int i = 0; i < s->nw; i++)
		if (s->w[i].active || s->w[i].state == W_BOOT)
			return 1;
	return 0;
}

/* The fds one turn of the loop waits on; owner[k] is the worker of pfd[k], -1 for a QEMU
 * that is exiting. */
struct pollset {
	struct pollfd *pfd;
	int *owner;
	int n;
};

/* Free the workers' buffers and the scheduler's arrays; any of them may be NULL. */
static void sched_free(struct sched *s, struct pollset *ps)
{
	for (int i = 0; s->w && i < s->nw; i++) {
		free(s->w[i].log.p);
		free(s->w[i].hello.p);
		free(s->w[i].pcs);
	}
	free(s->w);
	free(s->ex);
	free(ps->pfd);
	free(ps->owner);
}

/* Size s for cfg->workers runs at once and give each worker closed fds. 0, or -1 with
 * nothing left allocated. */
static int sched_alloc(struct sched *s, struct pollset *ps)
{
	s->active_max = s->cfg->workers > 0 ? s->cfg->workers : 1;
	/* fresh mode: a second QEMU per run slot boots while the first one runs */
	s->nw = s->cfg->qemu.reset_mode ? s->active_max : 2 * s->active_max;
	s->w = calloc((size_t)s->nw, sizeof *s->w);
	s->ex = calloc(2 * (size_t)s->nw, sizeof *s->ex);
	ps->pfd = calloc(4 * (size_t)s->nw, sizeof *ps->pfd);
	ps->owner = calloc(4 * (size_t)s->nw, sizeof *ps->owner);
	if (!s->w || !s->ex || !ps->pfd || !ps->owner) {
		sched_free(s, ps);
		return -1;
	}
	for (int i = 0; i < s->nw; i++) {
		s->w[i].idx = i;
		s->w[i].q.pid = 0;
		s->w[i].q.fd = -1;
		s->w[i].q.pidfd = -1;
		s->w[i].q.qmp = -1;
		s->w[i].log.fd = -1;
		s->w[i].hello.fd = -1;
	}
	return 0;
}

static void watch_fd(struct pollset *ps, int fd, int owner)
{
	ps->pfd[ps->n].fd = fd;
	ps->pfd[ps->n].events = POLLIN;
	ps->owner[ps->n++] = owner;
}

/* Fill ps with the consoles and the pidfds of exiting QEMUs; returns the nearest deadline,
 * or -1 when nothing has one. */
static double watch_machines(const struct sched *s, struct pollset *ps)
{
	double next = -1;

	ps->n = 0;
	for (int i = 0; i < s->nw; i++) {
		const struct worker *w = &s->w[i];

		if (w->state == W_EMPTY)
			continue;
		if (w->q.fd >= 0)
			watch_fd(ps, w->q.fd, i);
		if (w->state == W_EXIT && w->q.pidfd >= 0)
			watch_fd(ps, w->q.pidfd, i);
		if (w->state != W_READY && (next < 0 || w->deadline < next))
			next = w->deadline;
	}
	for (int i = 0; i < s->nex; i++) {
		if (s->ex[i].q.pidfd >= 0)
			watch_fd(ps, s->ex[i].q.pidfd, -1);
		if (next < 0 || s->ex[i].deadline < next)
			next = s->ex[i].deadline;
	}
	return next;
}

/* How long to wait at time t for deadline next (-1: none), into *ts; NULL waits for an fd. */
static struct timespec *poll_timeout(const struct sched *s, double t, double next,
				     struct timespec *ts)
{
	int tty = s->cfg->stats->tty;

	if (s->npend > 0) {
		/* runs wait to be written: look at the machines, then write one */
		ts->tv_sec = 0;
		ts->tv_nsec = 0;
	} else if (next >= 0) {
		double d = next - t;

		if (d < 0)
			d = 0;
		if (tty && d > 0.1)
			d = 0.1;
		ts->tv_sec = (time_t)d;
		ts->tv_nsec = (long)((d - (double)ts->tv_sec) * 1e9);
	} else if (tty) {
		/* the progress line is redrawn ten times a second */
		ts->tv_sec = 0;
		ts->tv_nsec = 100000000;
	} else {
		return NULL;
	}
	return ts;
}

/* Hand each fd ppoll marked to its worker: console bytes, or the exit of its QEMU. */
static void on_ready_fds(struct sched *s, const struct pollset *ps)
{
	for (int k = 0; k < ps->n; k++) {
		const struct pollfd *p = &ps->pfd[k];
		struct worker *w;

		if (!p->revents || ps->owner[k] < 0)
			continue;
		w = &s->w[ps->owner[k]];
		if (p->fd == w->q.fd && w->q.fd >= 0) {
			if (!drain(s, w) && w->q.fd == p->fd)
				on_console_closed(s, w);
		} else if (p->fd == w->q.pidfd && w->q.pidfd >= 0 && w->state == W_EXIT) {
			int st;

			if (w->q.fd >= 0)
				drain(s, w);
			if (qemu_try_reap(&w->q, &st))
				on_qemu_exit(s, w, st, 0);
		}
	}
}

static void expire_deadlines(struct sched *s)
{
	double t = now_s();

	for (int i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];

		if (w->state != W_EMPTY && w->state != W_READY && w->deadline <= t)
			on_timeout(s, w);
	}
}

/* Wait for console bytes, an exit or a deadline, and act on what came. 0, or -1 with the
 * error in s->err when ppoll fails. */
static int poll_once(struct sched *s, struct pollset *ps)
{
	struct timespec ts;
	double t = now_s();
	double next = watch_machines(s, ps);
	int r = ppoll(ps->pfd, (nfds_t)ps->n, poll_timeout(s, t, next, &ts), s->cfg->poll_mask);

	if (r < 0 && errno != EINTR) {
		snprintf(s->err, s->errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (r == 0 && s->npend > 0)
		store_pending(s);
	if (r > 0)
		on_ready_fds(s, ps);
	for (int i = s->nex - 1; i >= 0; i--)
		reap_exiting(s, i, 0);
	expire_deadlines(s);
	return 0;
}

/* Start jobs and serve the machines until the plan is done, a signal or a fatal error. */
static enum sched_status serve(struct sched *s, struct pollset *ps)
{
	for (;;) {
		if (*s->cfg->interrupted)
			return SCHED_INTERRUPTED;
		if (s->fatal)
			return SCHED_FAILED;
		assign_jobs(s);
		if (s->fatal)
			continue;
		if (!any_busy(s) && plan_finished(s->cfg->plan))
			return SCHED_DONE;
		progress_draw(s->cfg->stats, 0);
		if (poll_once(s, ps) < 0)
			return SCHED_FAILED;
	}
}

enum sched_status sched_run(const struct sched_cfg *cfg, char *err, size_t errlen)
{
	struct sched s = { .cfg = cfg, .err = err, .errlen = errlen };
	struct pollset ps = { NULL, NULL, 0 };
	enum sched_status ret;

	err[0] = 0;
	if (sched_alloc(&s, &ps) < 0) {
		snprintf(err, errlen, "out of memory");
		return SCHED_FAILED;
	}
	ret = serve(&s, &ps);
	stop_all(&s);
	while (s.npend > 0)     /* finished runs are kept, whatever stopped the loop */
		store_pending(&s);
	if (s.fatal)
		ret = SCHED_FAILED;
	progress_clear(cfg->stats);
	sched_free(&s, &ps);
	return ret;
}
