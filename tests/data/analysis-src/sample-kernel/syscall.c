/* syscall.c: fixture source for the analysis tests (never built). */






/* sys_fork: returns 0 or -ENOMEM; frees what it took on failure. */
int sys_fork(struct ctx *c)
{
	if (step_1(c) < 0)	/* sys_fork step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* sys_fork step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* sys_fork step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* sys_fork step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* sys_fork step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* sys_fork step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* sys_fork step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* sys_fork step 8 */ goto out_undo_8;
	return 0;
}
