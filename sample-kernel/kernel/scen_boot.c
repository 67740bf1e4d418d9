/* scen_boot.c - `boot`: kernel init and teardown only (the run framework does both). */
#include "kernel.h"

static int scen_boot(void)
{
	return 0;
}
SCENARIO("boot", scen_boot);
