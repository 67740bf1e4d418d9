/* proc.c: fixture source for the analysis tests (never built). */
















/* map_trapframe: returns 0 or -ENOMEM; frees what it took on failure. */
int map_trapframe(struct ctx *c)
{
	if (step_1(c) < 0)	/* map_trapframe step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* map_trapframe step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* map_trapframe step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* map_trapframe step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* map_trapframe step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* map_trapframe step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* map_trapframe step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* map_trapframe step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* map_trapframe step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* map_trapframe step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* map_trapframe step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* map_trapframe step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* map_trapframe step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* map_trapframe step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* map_trapframe step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* map_trapframe step 16 */ goto out_undo_16;
	return 0;
}









/* proc_create: returns 0 or -ENOMEM; frees what it took on failure. */
int proc_create(struct ctx *c)
{
	if (step_1(c) < 0)	/* proc_create step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* proc_create step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* proc_create step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* proc_create step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* proc_create step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* proc_create step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* proc_create step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* proc_create step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* proc_create step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* proc_create step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* proc_create step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* proc_create step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* proc_create step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* proc_create step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* proc_create step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* proc_create step 16 */ goto out_undo_16;
	if (step_17(c) < 0)	/* proc_create step 17 */ goto out_undo_17;
	if (step_18(c) < 0)	/* proc_create step 18 */ goto out_undo_18;
	if (step_19(c) < 0)	/* proc_create step 19 */ goto out_undo_19;
	if (step_20(c) < 0)	/* proc_create step 20 */ goto out_undo_20;
	if (step_21(c) < 0)	/* proc_create step 21 */ goto out_undo_21;
	if (step_22(c) < 0)	/* proc_create step 22 */ goto out_undo_22;
	if (step_23(c) < 0)	/* proc_create step 23 */ goto out_undo_23;
	if (step_24(c) < 0)	/* proc_create step 24 */ goto out_undo_24;
	if (step_25(c) < 0)	/* proc_create step 25 */ goto out_undo_25;
	if (step_26(c) < 0)	/* proc_create step 26 */ goto out_undo_26;
	if (step_27(c) < 0)	/* proc_create step 27 */ goto out_undo_27;
	if (step_28(c) < 0)	/* proc_create step 28 */ goto out_undo_28;
	if (step_29(c) < 0)	/* proc_create step 29 */ goto out_undo_29;
	if (step_30(c) < 0)	/* proc_create step 30 */ goto out_undo_30;
	if (step_31(c) < 0)	/* proc_create step 31 */ goto out_undo_31;
	if (step_32(c) < 0)	/* proc_create step 32 */ goto out_undo_32;
	return 0;
}













/* proc_free: returns 0 or -ENOMEM; frees what it took on failure. */
int proc_free(struct ctx *c)
{
	if (step_1(c) < 0)	/* proc_free step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* proc_free step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* proc_free step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* proc_free step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* proc_free step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* proc_free step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* proc_free step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* proc_free step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* proc_free step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* proc_free step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* proc_free step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* proc_free step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* proc_free step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* proc_free step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* proc_free step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* proc_free step 16 */ goto out_undo_16;
	return 0;
}



















/* fork: returns 0 or -ENOMEM; frees what it took on failure. */
int fork(struct ctx *c)
{
	if (step_1(c) < 0)	/* fork step 1 */ goto out_undo_1;
	if (step_2(c) < 0)	/* fork step 2 */ goto out_undo_2;
	if (step_3(c) < 0)	/* fork step 3 */ goto out_undo_3;
	if (step_4(c) < 0)	/* fork step 4 */ goto out_undo_4;
	if (step_5(c) < 0)	/* fork step 5 */ goto out_undo_5;
	if (step_6(c) < 0)	/* fork step 6 */ goto out_undo_6;
	if (step_7(c) < 0)	/* fork step 7 */ goto out_undo_7;
	if (step_8(c) < 0)	/* fork step 8 */ goto out_undo_8;
	if (step_9(c) < 0)	/* fork step 9 */ goto out_undo_9;
	if (step_10(c) < 0)	/* fork step 10 */ goto out_undo_10;
	if (step_11(c) < 0)	/* fork step 11 */ goto out_undo_11;
	if (step_12(c) < 0)	/* fork step 12 */ goto out_undo_12;
	if (step_13(c) < 0)	/* fork step 13 */ goto out_undo_13;
	if (step_14(c) < 0)	/* fork step 14 */ goto out_undo_14;
	if (step_15(c) < 0)	/* fork step 15 */ goto out_undo_15;
	if (step_16(c) < 0)	/* fork step 16 */ goto out_undo_16;
	if (step_17(c) < 0)	/* fork step 17 */ goto out_undo_17;
	if (step_18(c) < 0)	/* fork step 18 */ goto out_undo_18;
	if (step_19(c) < 0)	/* fork step 19 */ goto out_undo_19;
	if (step_20(c) < 0)	/* fork step 20 */ goto out_undo_20;
	if (step_21(c) < 0)	/* fork step 21 */ goto out_undo_21;
	if (step_22(c) < 0)	/* fork step 22 */ goto out_undo_22;
	if (step_23(c) < 0)	/* fork step 23 */ goto out_undo_23;
	if (step_24(c) < 0)	/* fork step 24 */ goto out_undo_24;
	if (step_25(c) < 0)	/* fork step 25 */ goto out_undo_25;
	if (step_26(c) < 0)	/* fork step 26 */ goto out_undo_26;
	if (step_27(c) < 0)	/* fork step 27 */ goto out_undo_27;
	if (step_28(c) < 0)	/* fork step 28 */ goto out_undo_28;
	if (step_29(c) < 0)	/* fork step 29 */ goto out_undo_29;
	if (step_30(c) < 0)	/* fork step 30 */ goto out_undo_30;
	if (step_31(c) < 0)	/* fork step 31 */ goto out_undo_31;
	if (step_32(c) < 0)	/* fork step 32 */ goto out_undo_32;
	return 0;
}
