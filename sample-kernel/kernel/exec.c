/*
 * exec.c - load an embedded user program (an ELF image linked at USER_BASE, built from
 * user/ and included in the kernel image by uprogs.S) into a process.
 *
 * Pattern: prepare, then commit. exec_build() makes the complete new address space (page
 * table with trampoline and trapframe, stack, every image page) without touching the
 * process; only when nothing more can fail does proc_exec() swap it in and free the old
 * one. So a failed exec leaves the old image intact, and the caller of a first exec (which
 * has no old image) frees the process.
 *
 * Cleanup style: scope guards (cleanup.h). Each acquisition is guarded where it is
 * declared; ownership leaves a guard only by take() (to the caller) or disarm() (to the new
 * page table). The builder has many exits and one owner of everything it made, the image,
 * so a guard on the image undoes all of it on any early return.
 */
#include "kernel.h"
#include "mem.h"
#include "proc.h"
#include "mmap.h"
#include "elf.h"
#include "cleanup.h"
#include "faultlib/state.h"

struct uprog {
	const char *name;
	const uint8_t *start, *end;
};

#define UPROG(n) extern const uint8_t uprog_##n##_start[], uprog_##n##_end[];
#include "progs.def"
#undef UPROG
#define UPROG(n) { #n, uprog_##n##_start, uprog_##n##_end },
static const struct uprog uprogs[] = {
#include "progs.def"
};
#undef UPROG

static const struct uprog *uprog_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(uprogs); i++)
		if (!strcmp(uprogs[i].name, name))
			return &uprogs[i];
	return NULL;
}

/* a user address space under construction: [USTACK_BOTTOM, top) is mapped in pt */
struct uimage {
	pagetable_t pt;
	uint64_t top;
	uint64_t entry;
};

/* Frees every page mapped so far, then the page table, then the image. */
static void uimage_free(struct uimage *img)
{
	if (img->pt) {
		proc_free_image(img->pt, img->top);
		proc_pagetable_free(img->pt);
	}
	obj_free(img);
}

DEFINE_FREE(uimage, struct uimage *, uimage_free(it))

/*
 * Map one fresh page at img->top holding n bytes from src (the rest zeroed). Returns 0 or
 * -ENOMEM (vm_map's error); on failure nothing new is mapped or allocated. On success the
 * page belongs to img->pt (freed by proc_free_image) and img->top has moved past it.
 */
static int uimage_push_page(struct uimage *img, int perm, const void *src, size_t n)
{
	scoped_free(page) void *pg = page_alloc(0);
	int rc;

	if (!pg)
		return -ENOMEM;
	memset(pg, 0, PGSIZE);
	if (n)
		memcpy(pg, src, n);
	rc = vm_map(img->pt, img->top, (uint64_t)pg, PGSIZE, perm | PTE_U);
	if (rc)
		return rc;
	disarm(pg);                 /* the page table owns the page now */
	img->top += PGSIZE;
	return 0;
}

static int phdr_perm(const struct elf64_phdr *ph)
{
	return (ph->flags & PF_R ? PTE_R : 0) | (ph->flags & PF_W ? PTE_W : 0) |
	       (ph->flags & PF_X ? PTE_X : 0);
}

/*
 * Check the ELF header and program headers of an image of len bytes. Returns 0 and the
 * image end (page aligned) in *end, or -ENOEXEC. Loadable segments must be page aligned,
 * in ascending order, inside [USER_BASE, USER_LIMIT) and inside the file.
 */
static int elf_check(const uint8_t *elf, size_t len, uint64_t *end)
{
	const struct elf64_ehdr *eh = (const void *)elf;
	uint64_t top = USER_BASE;

	if (len < sizeof(*eh) || eh->magic != ELF_MAGIC || eh->ident_class != ELFCLASS64 ||
	    eh->ident_data != ELFDATA2LSB || eh->type != ET_EXEC || eh->machine != EM_RISCV ||
	    eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > len ||
	    eh->phnum > (len - eh->phoff) / sizeof(struct elf64_phdr))
		return -ENOEXEC;
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph = (const struct elf64_phdr *)(elf + eh->phoff) + i;
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		if (ph->vaddr % PGSIZE || ph->vaddr < top || ph->filesz > ph->memsz ||
		    ph->memsz > USER_LIMIT - ph->vaddr || ph->offset > len ||
		    ph->filesz > len - ph->offset)
			return -ENOEXEC;
		top = PGROUNDUP(ph->vaddr + ph->memsz);
	}
	if (top == USER_BASE || eh->entry < USER_BASE || eh->entry >= top)
		return -ENOEXEC;
	*end = top;
	return 0;
}

/*
 * exec_build - the complete address space for program prog, using trapframe tf: a page
 * table with the trampoline and tf mapped, the stack pages, and every page of
 * [USER_BASE, end) (gaps between segments are zero pages, so the image range has no
 * holes). Returns 0 and hands the image to the caller in *out; on failure -ENOMEM or
 * -ENOEXEC with everything it allocated freed (by the guard on img).
 */
static NOINLINE int exec_build(const struct uprog *prog, struct trapframe *tf,
				 struct uimage **out)
{
	const uint8_t *elf = prog->start;
	const struct elf64_ehdr *eh = (const void *)elf;
	size_t len = (size_t)(prog->end - prog->start);
	uint64_t end;
	int rc = elf_check(elf, len, &end);

	if (rc)
		return rc;

	scoped_free(uimage) struct uimage *img = obj_alloc(sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->pt = proc_pagetable(tf);
	if (!img->pt)
		return -ENOMEM;
	img->top = USTACK_BOTTOM;

	for (int i = 0; i < USTACK_PAGES; i++) {
		rc = uimage_push_page(img, PTE_R | PTE_W, NULL, 0);
		if (rc)
			return rc;
	}
	while (img->top < end) {
		int perm = PTE_R | PTE_W;         /* a gap between segments */
		const uint8_t *src = NULL;
		size_t n = 0;

		for (unsigned i = 0; i < eh->phnum; i++) {
			const struct elf64_phdr *ph = (const struct elf64_phdr *)(elf + eh->phoff) + i;
			if (ph->type != PT_LOAD || img->top < ph->vaddr ||
			    img->top >= ph->vaddr + ph->memsz)
				continue;
			uint64_t off = img->top - ph->vaddr;
			perm = phdr_perm(ph);
			if (off < ph->filesz) {
				src = elf + ph->offset + off;
				n = ph->filesz - off < PGSIZE ? ph->filesz - off : PGSIZE;
			}
			break;
		}
		rc = uimage_push_page(img, perm, src, n);
		if (rc)
			return rc;
	}
	img->entry = eh->entry;
	*out = take(img);
	return 0;
}

/* A digest of what a user sees of p's image: its page table, size, entry and name. */
static uint64_t image_digest(const struct proc *p)
{
	uint64_t h = fl_digest_add(FL_DIGEST_SEED, (uint64_t)(uintptr_t)p->pt);

	h = fl_digest_add(h, p->sz);
	h = fl_digest_add(h, p->tf->epc);
	for (size_t i = 0; i < sizeof(p->name); i++)
		h = fl_digest_add(h, (uint8_t)p->name[i]);
	return h;
}

/*
 * proc_exec - replace p's user image with program prog, started with a0 = arg. Returns 0,
 * or -ENOENT (no such program), -ENOEXEC, -ENOMEM with p unchanged: its "image" and "map"
 * state promises. On success the old address space (image, mmap regions, page table) is
 * freed.
 */
int proc_exec(struct proc *p, const char *prog, long arg)
{
	const struct uprog *up = uprog_find(prog);
	struct fl_state image, map;
	struct uimage *img;
	int rc;

	if (!up)
		return -ENOENT;
	fl_state_begin(&image, "image", image_digest(p));
	fl_state_begin(&map, "map", mmap_digest(p));
	rc = exec_build(up, p->tf, &img);
	if (rc) {
		fl_state_end(&map, mmap_digest(p), rc);
		return fl_state_end(&image, image_digest(p), rc);
	}

	/* commit: nothing below can fail */
	if (p->pt) {
		mmap_release_all(p);
		proc_free_image(p->pt, p->sz);
		proc_pagetable_free(p->pt);
	}
	p->pt = img->pt;
	p->sz = img->top;
	memset(p->tf->regs, 0, sizeof(p->tf->regs));
	p->tf->epc = img->entry;
	p->tf->regs[REG_SP] = USER_BASE;
	p->tf->regs[REG_A0] = (uint64_t)arg;
	proc_set_name(p, prog);
	obj_free(img);
	fl_state_end(&map, mmap_digest(p), 0);
	return fl_state_end(&image, image_digest(p), 0);
}
