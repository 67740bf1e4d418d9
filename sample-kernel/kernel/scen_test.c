/*
 * scen_test.c - TEST-ONLY scenarios (names start with `test-`): each misbehaves on purpose
 * so the host's tests can prove the host notices. They are not part of any sweep of the
 * kernel and are documented as such in docs/kernel.md.
 */
#include "kernel.h"
#include "mem.h"
#include "memlayout.h"
#include "vm.h"
#include "faultlib/record.h"
#include "faultlib/recover.h"

/* allocates an object and never frees it: a leak. Returns 0, or -ENOMEM (then no leak). */
static int scen_test_leak(void)
{
	return obj_alloc(64) ? 0 : -ENOMEM;
}
SCENARIO("test-leak", scen_test_leak);

/* frees an object twice: one free, then badfree double. Returns 0 or -ENOMEM. */
static int scen_test_doublefree(void)
{
	void *p = obj_alloc(32);

	if (!p)
		return -ENOMEM;
	obj_free(p);
	obj_free(p);
	return 0;
}
SCENARIO("test-doublefree", scen_test_doublefree);

/*
 * frees through the wrong allocator (both ways, both refused), then frees correctly.
 * Returns 0, or -ENOMEM with nothing left allocated.
 */
static int scen_test_wrongfree(void)
{
	void *obj, *page;

	obj = obj_alloc(48);
	if (!obj)
		return -ENOMEM;
	page = page_alloc(0);
	if (!page) {
		obj_free(obj);
		return -ENOMEM;
	}
	page_free(obj);      /* badfree mismatch page */
	obj_free(page);      /* badfree mismatch obj */
	page_free(page);
	obj_free(obj);
	return 0;
}
SCENARIO("test-wrongfree", scen_test_wrongfree);

/* emits some records, flushes them, then spins forever without output: a hang */
static int scen_test_hang(void)
{
	void *p = obj_alloc(16);

	obj_free(p);
	fl_rec_log("test-hang: spinning forever");
	console_flush();
	for (;;)
		asm volatile("" ::: "memory");
	return 0;
}
SCENARIO("test-hang", scen_test_hang);

/*
 * exhausts memory for real: takes single pages until the page allocator says oom, then one
 * large object (which needs fresh pages: oom too), then gives every page back. Returns 0,
 * -EINVAL (the large object fit: memory was not exhausted) or -ENOMEM (not one page).
 */
static int scen_test_oom(void)
{
	void **chain = NULL, **page;
	void *big;
	unsigned long n = 0;

	while ((page = page_alloc(0))) {     /* each page links to the previous one */
		*page = chain;
		chain = page;
		n++;
	}
	big = obj_alloc(2 * PGSIZE);
	while (chain) {
		page = *chain;
		page_free(chain);
		chain = page;
	}
	if (big) {
		obj_free(big);
		return -EINVAL;                  /* memory was not exhausted after all */
	}
	return n ? 0 : -ENOMEM;
}
SCENARIO("test-oom", scen_test_oom);

/* panics at an unannotated site: an unexpected panic */
static int scen_test_panic(void)
{
	panic("test-panic: unexpected on purpose");
}
SCENARIO("test-panic", scen_test_panic);

/* panics at an annotated site: an expected panic, not a finding */
static int scen_test_panic_expected(void)
{
	panic_expected("test-panic-expected: annotated on purpose");
}
SCENARIO("test-panic-expected", scen_test_panic_expected);

/* loads from an unmapped address (paging is on during a run): an unexpected trap */
static int scen_test_trap(void)
{
	return (int)*(volatile uint64_t *)0x3000000000UL;
}
SCENARIO("test-trap", scen_test_trap);

/*
 * writes a byte of its own read-only data, as a stray pointer would (the running copy of the
 * image is mapped writable outside its text): the run itself ends cleanly, but a warm
 * restart must be refused (`err restart image-changed`) until a reset reloads the image
 */
static const char scribble_target[16] = "scribble target";

static int scen_test_scribble(void)
{
	volatile char *p = (volatile char *)(uintptr_t)scribble_target;

	p[0] ^= 0x20;
	return 0;
}
SCENARIO("test-scribble", scen_test_scribble);

/*
 * vm_copy's failure atomicity when dst already maps a page of the range: src maps three
 * pages, dst its own page at the middle one; the copy must fail with -EEXIST, take back the
 * copy it made of the first page, and leave dst's own page mapped to its own frame. Returns
 * 0 when all of that holds, -ENOMEM under injection (everything freed either way), or
 * -EFAULT when the copy broke its contract. Teardown frees every frame exactly once, so a
 * copy that freed dst's frame shows up as a double free too.
 */
#define COPY_VA 0x400000UL
static int scen_test_copy_exists(void)
{
	pagetable_t src, dst;
	uint64_t pa;
	void *own;
	int rc = -ENOMEM;

	src = vm_create();
	if (!src)
		return -ENOMEM;
	dst = vm_create();
	if (!dst)
		goto out_destroy_src;
	for (int i = 0; i < 3; i++) {
		void *frame = page_alloc(0);

		if (!frame)
			goto out_unmap;
		if (vm_map(src, COPY_VA + i * PGSIZE, (uint64_t)frame, PGSIZE, PTE_R | PTE_W)) {
			page_free(frame);
			goto out_unmap;
		}
	}
	own = page_alloc(0);
	if (!own)
		goto out_unmap;
	if (vm_map(dst, COPY_VA + PGSIZE, (uint64_t)own, PGSIZE, PTE_R | PTE_W)) {
		page_free(own);
		goto out_unmap;
	}
	rc = vm_copy(src, dst, COPY_VA, 3 * PGSIZE);
	if (rc == -EEXIST) {
		bool kept = vm_lookup(dst, COPY_VA + PGSIZE, &pa) == 0 && pa == (uint64_t)own;
		bool undone = vm_lookup(dst, COPY_VA, &pa) == -ENOENT;

		rc = kept && undone ? 0 : -EFAULT;
	} else if (rc != -ENOMEM) {
		rc = -EFAULT;
	}
out_unmap:
	vm_unmap(dst, COPY_VA, 3, true);
	vm_unmap(src, COPY_VA, 3, true);
	vm_destroy(dst);
out_destroy_src:
	vm_destroy(src);
	return rc;
}
SCENARIO("test-copy-exists", scen_test_copy_exists);

/*
 * A buffer of 4 pages, or a single page when the 4 cannot be had: the fallback of
 * test-recover (marked with FL_RECOVER: a deliberate recovery) and test-swallow (unmarked:
 * the failure is eaten). Returns 0, or -ENOMEM when the single page fails too.
 */
static int take_buffer(bool mark)
{
	void *buf = page_alloc(2);

	if (!buf) {
		if (mark)
			FL_RECOVER();
		buf = page_alloc(0);
	}
	if (!buf)
		return -ENOMEM;
	page_free(buf);
	return 0;
}

static int scen_test_recover(void)
{
	return take_buffer(true);
}
SCENARIO("test-recover", scen_test_recover);

static int scen_test_swallow(void)
{
	return take_buffer(false);
}
SCENARIO("test-swallow", scen_test_swallow);
