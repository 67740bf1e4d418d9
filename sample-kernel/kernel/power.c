/* power.c - power off and reset through the SiFive test device. Neither returns. */
#include "kernel.h"
#include "memlayout.h"

#define TEST_PASS  0x5555
#define TEST_FAIL  0x3333
#define TEST_RESET 0x7777

static void testdev_write(uint32_t v)
{
	*(volatile uint32_t *)TESTDEV = v;
	for (;;)
		asm volatile("wfi");
}

void power_off(int code)
{
	testdev_write(code ? ((uint32_t)code << 16) | TEST_FAIL : TEST_PASS);
	for (;;)
		;
}

void power_reset(void)
{
	testdev_write(TEST_RESET);
	for (;;)
		;
}
