/* page.c - placeholder until the page allocator lands */
#include "kernel.h"
#include "mem.h"

void page_init(void)
{
}

unsigned long page_free_count(void)
{
	return 0;
}

void mem_stats(struct mem_stats *st)
{
	*st = (struct mem_stats){ 0 };
}
