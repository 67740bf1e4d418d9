# sample-kernel/user/user.mk - the user programs, included by kernel.mk. Every user/*.c except
# ulib.c is one program, linked at USER_BASE as $(BUILD)/user/<name>.elf and embedded in the
# kernel image by kernel/uprogs.S (the list reaches the kernel as $(BUILD)/user/progs.def).

UDIR     := $(KDIR)/user
UBUILD   := $(BUILD)/user
UCFLAGS  := -march=rv64imac -mabi=lp64 -mcmodel=medany -ffreestanding -nostdlib -fno-builtin \
	-fno-pic -fno-stack-protector -O2 -fno-omit-frame-pointer -mno-relax \
	-Wall -Wextra -Werror -MMD -MP -I$(UDIR) -I$(KDIR)/include
ULDFLAGS := -nostdlib -nostartfiles -static -Wl,-T,$(UDIR)/user.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096
UPROGS   := $(sort $(filter-out ulib,$(basename $(notdir $(wildcard $(UDIR)/*.c)))))
ULIB     := $(UBUILD)/start.o $(UBUILD)/usys.o $(UBUILD)/ulib.o
UELFS    := $(UPROGS:%=$(UBUILD)/%.elf)

$(UBUILD)/%.o: $(UDIR)/%.c
	@mkdir -p $(dir $@)
	$(KCC) $(UCFLAGS) -c -o $@ $<

$(UBUILD)/%.o: $(UDIR)/%.S
	@mkdir -p $(dir $@)
	$(KCC) $(UCFLAGS) -c -o $@ $<

$(UBUILD)/%.elf: $(UBUILD)/%.o $(ULIB) $(UDIR)/user.ld
	$(KCC) $(UCFLAGS) $(ULDFLAGS) -o $@ $< $(ULIB) -lgcc

# rewritten only when the list of programs changes
$(UBUILD)/progs.def: FORCE
	@mkdir -p $(dir $@)
	@printf 'UPROG(%s)\n' $(UPROGS) > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(KBUILD)/kernel/uprogs.S.o: $(UELFS) $(UBUILD)/progs.def
$(KBUILD)/kernel/exec.c.o $(KCOVB)/kernel/exec.c.o: $(UBUILD)/progs.def
$(KBUILD)/kernel/uprogs.S.o $(KBUILD)/kernel/exec.c.o $(KCOVB)/kernel/exec.c.o: KCFLAGS += -I$(UBUILD) -Wa,-I$(UBUILD)

.PHONY: FORCE
FORCE:

-include $(UPROGS:%=$(UBUILD)/%.d) $(UBUILD)/ulib.d
