/*
 * syscall.c - system call dispatch and user memory access.
 *
 * Every system call runs inside one op (`op+ <id> sys_<name>` ... `op- <id> <rc>`), so the
 * host can check failure atomicity: a call that returns an error must leave nothing it
 * allocated live. Blocking calls (wait, pause, yield) do their sleeping in a `block` step
 * before the op opens: an op never spans a context switch, so ops of different processes
 * never interleave. exit never returns; proc_exit() records its own op.
 *
 * User pointers are checked against the caller's page table: only pages mapped with PTE_U
 * (and PTE_W for writes) are accessed, so no user pointer reaches the trapframe, the
 * trampoline or kernel memory. Pages of an mmap region that were never touched are not
 * mapped and give -EFAULT: a system call never faults memory in on the user's behalf.
 */
#include "kernel.h"
#include "proc.h"
#include "mmap.h"
#include "blk.h"
#include "sysnum.h"
#include "faultlib/record.h"

struct uaccess {
	uint64_t need;     /* PTE bits the page must carry */
	uint64_t pa;
};

static int uaccess_visit(pte_t *pte, uint64_t va, int level, void *arg)
{
	struct uaccess *ua = arg;

	(void)va;
	if (level != 0 || !(*pte & PTE_V) || (*pte & ua->need) != ua->need)
		return -EFAULT;
	ua->pa = PTE2PA(*pte);
	return 0;
}

/* the physical address of user page va (page aligned) if it carries `need`, else -EFAULT */
static int user_page(struct proc *p, uint64_t va, int need, uint64_t *pa)
{
	struct uaccess ua = { .need = (uint64_t)(need | PTE_V | PTE_U), .pa = 0 };
	int rc;

	if (va >= MAXVA)
		return -EFAULT;
	rc = vm_walk(p->pt, va, 1, false, uaccess_visit, &ua);
	if (rc == 0 && !ua.pa)
		rc = -EFAULT;            /* no table on the way: nothing visited */
	if (rc == 0)
		*pa = ua.pa;
	return rc;
}

/* copy n bytes between kernel buffer kbuf and user address va; -EFAULT if any page is bad */
static int ucopy(struct proc *p, uint64_t va, void *kbuf, size_t n, bool to_user)
{
	char *k = kbuf;

	while (n) {
		uint64_t page = PGROUNDDOWN(va), pa;
		size_t off = va - page, chunk = PGSIZE - off;
		int rc = user_page(p, page, to_user ? PTE_W : PTE_R, &pa);

		if (rc)
			return rc;
		if (chunk > n)
			chunk = n;
		if (to_user)
			memcpy((char *)pa + off, k, chunk);
		else
			memcpy(k, (char *)pa + off, chunk);
		va += chunk;
		k += chunk;
		n -= chunk;
	}
	return 0;
}

/* copyin - n bytes from user address va into dst. Returns 0 or -EFAULT. */
int copyin(struct proc *p, void *dst, uint64_t va, size_t n)
{
	return ucopy(p, va, dst, n, false);
}

/* copyout - n bytes from src to user address va. Returns 0 or -EFAULT (part may be written). */
int copyout(struct proc *p, uint64_t va, const void *src, size_t n)
{
	return ucopy(p, va, (void *)src, n, true);
}

/* a NUL-terminated user string into buf[size]: 0, -EFAULT, or -EINVAL when too long */
static int copyinstr(struct proc *p, char *buf, uint64_t va, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		int rc = copyin(p, &buf[i], va + i, 1);
		if (rc)
			return rc;
		if (!buf[i])
			return 0;
	}
	return -EINVAL;
}

static uint64_t arg(struct proc *p, int n)
{
	return p->tf->regs[REG_A0 + n];
}

/*
 * The handlers: each returns the call's result or a negative errno, which syscall() puts in
 * the user's a0; each leaves nothing it allocated live when it fails (the callee's contract).
 */

/* fork(): the child's pid, or proc_fork's error */
static long sys_fork(struct proc *p)
{
	return proc_fork(p);
}

/* wait(status, flags): proc_wait's result (a pid, 0 with WNOHANG, or an error) */
static long sys_wait(struct proc *p)
{
	return proc_wait(p, arg(p, 0), (int)arg(p, 1));
}

static void block_wait(struct proc *p)
{
	proc_wait_block(p, arg(p, 1) & WNOHANG);
}

/*
 * exec(name, arg): on success the result, the new image's a0, is its argument; otherwise
 * -EFAULT / -EINVAL (the name) or proc_exec's error, with the old image intact.
 */
static long sys_exec(struct proc *p)
{
	char name[32];
	long a = (long)arg(p, 1);
	int rc = copyinstr(p, name, arg(p, 0), sizeof(name));

	if (rc)
		return rc;
	rc = proc_exec(p, name, a);
	return rc ? rc : a;
}

static long sys_getpid(struct proc *p)
{
	return p->pid;
}

/* mmap(addr, len, prot, flags): the region's address, or mmap_map's error */
static long sys_mmap(struct proc *p)
{
	return mmap_map(p, arg(p, 0), arg(p, 1), (int)arg(p, 2), (int)arg(p, 3));
}

/* munmap(addr, len): 0, or mmap_unmap's error with the map unchanged */
static long sys_munmap(struct proc *p)
{
	return mmap_unmap(p, arg(p, 0), arg(p, 1));
}

static long sys_mapcount(struct proc *p)
{
	return mmap_count(p);
}

/*
 * write(buf, len): one `log` record "pid N: text", newlines flattened, at most 199 bytes.
 * Returns the bytes written, or -EFAULT (nothing recorded).
 */
static long sys_write(struct proc *p)
{
	char text[200], line[224];
	uint64_t len = arg(p, 1);
	int rc;

	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	rc = copyin(p, text, arg(p, 0), len);
	if (rc)
		return rc;
	text[len] = 0;
	for (uint64_t i = 0; i < len; i++)
		if (text[i] == '\n')
			text[i] = ' ';
	ksnprintf(line, sizeof(line), "pid %d: %s", p->pid, text);
	fl_rec_log(line);
	return (long)len;
}

static long sys_yield(struct proc *p)
{
	(void)p;
	return 0;
}

static void block_yield(struct proc *p)
{
	proc_yield(p);
}

/* kill(pid): 0, or -ESRCH (no such live process) */
static long sys_kill(struct proc *p)
{
	(void)p;
	return proc_kill((int)arg(p, 0), STATUS_KILLED);
}

static const char pause_chan;

static void block_pause(struct proc *p)
{
	while (!p->killed)
		proc_sleep(p, &pause_chan);
}

/* pause(): only returns once killed (block_pause): always -EINTR */
static long sys_pause(struct proc *p)
{
	(void)p;
	return -EINTR;
}

/*
 * blkrw(sector, buf, count, write): count sectors between the block device and buf. Returns
 * 0, -EINVAL (count), -EFAULT (buf), or blk_rw's error. Allocates only inside blk_rw.
 */
static long sys_blkrw(struct proc *p)
{
	uint64_t sector = arg(p, 0), va = arg(p, 1), count = arg(p, 2);
	bool write = arg(p, 3) != 0;
	char buf[BLK_MAX_BYTES];
	size_t len;
	int rc;

	if (count == 0 || count > BLK_MAX_BYTES / BLK_SECTOR)
		return -EINVAL;
	len = count * BLK_SECTOR;
	if (write && (rc = copyin(p, buf, va, len)))
		return rc;
	rc = blk_rw(blk_default(), sector, buf, (unsigned)count, write);
	if (rc == 0 && !write)
		rc = copyout(p, va, buf, len);
	return rc;
}

struct syscall_desc {
	const char *name;
	long (*fn)(struct proc *p);
	void (*block)(struct proc *p);   /* sleeps, outside the op; may be NULL */
};

static const struct syscall_desc syscalls[NSYSCALL] = {
	[SYS_fork]     = { "sys_fork", sys_fork, NULL },
	[SYS_wait]     = { "sys_wait", sys_wait, block_wait },
	[SYS_exec]     = { "sys_exec", sys_exec, NULL },
	[SYS_getpid]   = { "sys_getpid", sys_getpid, NULL },
	[SYS_mmap]     = { "sys_mmap", sys_mmap, NULL },
	[SYS_munmap]   = { "sys_munmap", sys_munmap, NULL },
	[SYS_write]    = { "sys_write", sys_write, NULL },
	[SYS_yield]    = { "sys_yield", sys_yield, block_yield },
	[SYS_kill]     = { "sys_kill", sys_kill, NULL },
	[SYS_pause]    = { "sys_pause", sys_pause, block_pause },
	[SYS_blkrw]    = { "sys_blkrw", sys_blkrw, NULL },
	[SYS_mapcount] = { "sys_mapcount", sys_mapcount, NULL },
};

/* syscall - run the call in a7 for process p; the result goes to the user's a0. */
void syscall(struct proc *p)
{
	uint64_t num = p->tf->regs[REG_A7];
	const struct syscall_desc *sc;
	long rc;
	int id;

	if (num == SYS_exit)
		proc_exit(p, (int)arg(p, 0));
	sc = num < NSYSCALL ? &syscalls[num] : NULL;
	if (!sc || !sc->fn) {
		id = op_begin("sys_unknown");
		p->tf->regs[REG_A0] = (uint64_t)(long)op_end(id, -ENOSYS);
		return;
	}
	if (sc->block)
		sc->block(p);
	id = op_begin(sc->name);
	rc = sc->fn(p);
	op_end(id, rc < 0 ? (int)rc : rc > 0x7fffffff ? 1 : (int)rc);
	p->tf->regs[REG_A0] = (uint64_t)rc;
}
