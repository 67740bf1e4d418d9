/*
 * A stand-in kernel for the tracer tests. tracer-mini.ld puts each function at a fixed
 * address (0x80001000, 0x80002000, ...) and PAD makes each one 0x400 bytes long, so the
 * hand-written tests/data/tracer-*.log files can name pcs inside them (e.g. 80003010 is in
 * proc_create). Each function is on one line: every pc inside it maps to that line.
 * vm_setup inlines four helpers of 0x100 bytes each, in this order after its prologue:
 * step_a (+0x10..), step_b, unstep_b, unstep_a.
 */
#define PAD __asm__ volatile(".skip 0x400")
#define PAD1 __asm__ volatile(".skip 0x100")
#define INLINE static inline __attribute__((always_inline))

void *kalloc(unsigned long n) { PAD; return (void *)n; }
void kfree(void *p) { PAD; (void)p; }
int proc_create(void) { PAD; return 0; }
void *proc_alloc(void) { PAD; return 0; }
void proc_free(void *p) { PAD; (void)p; }
int scenario_run(void) { PAD; return 0; }
void *amap_new(void) { PAD; return 0; }
void amap_put(void *a) { PAD; (void)a; }

INLINE void step_a(void) { PAD1; }
INLINE void step_b(void) { PAD1; }
INLINE void unstep_b(void) { PAD1; }
INLINE void unstep_a(void) { PAD1; }
void vm_setup(void) { step_a(); step_b(); unstep_b(); unstep_a(); }
