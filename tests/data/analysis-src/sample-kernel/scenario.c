/* scenario.c: fixture source for the analysis tests (never built). */






/* scenario_proc: returns 0 or -ENOMEM; frees what it took on failure. */
int scenario_proc(struct ctx *c)
{
	if (step_1(c) < 0)	/* scenario_proc step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* scenario_proc step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* scenario_proc step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* scenario_proc step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* scenario_proc step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* scenario_proc step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* scenario_proc step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* scenario_proc step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* scenario_proc step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* scenario_proc step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* scenario_proc step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* scenario_proc step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* scenario_proc step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* scenario_proc step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* scenario_proc step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* scenario_proc step 16 */ goto out_undo_16;
	return 0;
}









/* scenario_fork: returns 0 or -ENOMEM; frees what it took on failure. */
int scenario_fork(struct ctx *c)
{
	if (step_1(c) < 0)	/* scenario_fork step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* scenario_fork step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* scenario_fork step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* scenario_fork step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* scenario_fork step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* scenario_fork step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* scenario_fork step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* scenario_fork step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* scenario_fork step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* scenario_fork step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* scenario_fork step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* scenario_fork step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* scenario_fork step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* scenario_fork step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* scenario_fork step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* scenario_fork step 16 */ goto out_undo_16;
	return 0;
}









/* scenario_all: returns 0 or -ENOMEM; frees what it took on failure. */
int scenario_all(struct ctx *c)
{
	if (step_1(c) < 0)	/* scenario_all step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* scenario_all step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* scenario_all step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* scenario_all step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* scenario_all step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* scenario_all step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* scenario_all step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* scenario_all step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* scenario_all step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* scenario_all step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* scenario_all step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* scenario_all step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* scenario_all step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* scenario_all step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* scenario_all step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* scenario_all step 16 */ goto out_undo_16;
	return 0;
}
