/* objalloc.c: fixture source for the analysis tests (never built). */


























/* obj_alloc: returns 0 or -ENOMEM; frees what it took on failure. */
int obj_alloc(struct ctx *c)
{
	if (step_1(c) < 0)	/* obj_alloc step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* obj_alloc step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* obj_alloc step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* obj_alloc step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* obj_alloc step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* obj_alloc step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* obj_alloc step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* obj_alloc step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* obj_alloc step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* obj_alloc step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* obj_alloc step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* obj_alloc step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* obj_alloc step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* obj_alloc step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* obj_alloc step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* obj_alloc step 16 */ goto out_undo_16;
	return 0;
}









/* obj_free: returns 0 or -ENOMEM; frees what it took on failure. */
int obj_free(struct ctx *c)
{
	if (step_1(c) < 0)	/* obj_free step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* obj_free step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* obj_free step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* obj_free step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* obj_free step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* obj_free step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* obj_free step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* obj_free step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* obj_free step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* obj_free step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* obj_free step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* obj_free step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* obj_free step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* obj_free step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* obj_free step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* obj_free step 16 */ goto out_undo_16;
	return 0;
}
