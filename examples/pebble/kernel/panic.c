/* panic.c - pebble's fatal errors: say why on the UART, then power off. */
#include "pebble.h"

#define TESTDEV   0x100000UL
#define TEST_PASS 0x5555
#define TEST_FAIL 0x3333

void power_off(int code)
{
	*(volatile uint32_t *)TESTDEV = code ? ((uint32_t)code << 16) | TEST_FAIL : TEST_PASS;
	for (;;)
		asm volatile("wfi");
}

void panic(const char *msg)
{
	kprintf("panic: %s\n", msg);
	power_off(1);
}

void trap(uint64_t scause, uint64_t sepc, uint64_t stval, uintptr_t ra, uintptr_t fp)
{
	kprintf("trap: scause %lx sepc %lx stval %lx ra %lx fp %lx\n", scause, sepc, stval, ra,
		fp);
	panic("unexpected trap");
}
