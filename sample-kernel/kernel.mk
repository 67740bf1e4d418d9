# sample-kernel/kernel.mk - build rules for the sample kernel, included by the top Makefile.
# Outputs: $(BUILD)/kernel.elf (the kernel under test), $(BUILD)/kernel-cov.elf (the same
# with coverage, below) and $(BUILD)/null.elf (powers off at once: the QEMU start-up floor for
# benchmarks). Every .c/.S under kernel/ and faultlib/ is part of kernel.elf, so a new
# subsystem file only has to be dropped in place. faultlib/ is built on its own include path
# (below), which proves it needs nothing from the kernel.

KCC      ?= riscv64-unknown-elf-gcc
KDIR     := sample-kernel
KBUILD   := $(BUILD)/sample-kernel
KCOVB    := $(BUILD)/sample-kernel-cov

KCFLAGS  := -march=rv64gc -mabi=lp64d -mcmodel=medany -ffreestanding -nostdlib \
	-fno-builtin -fno-pic -fno-stack-protector -O2 -g -fno-omit-frame-pointer \
	-fno-optimize-sibling-calls -fno-tree-loop-distribute-patterns \
	-Wall -Wextra -Werror -MMD -MP -I$(KDIR)/include -I$(KDIR)
KLDFLAGS := -nostdlib -nostartfiles -static -Wl,--build-id=sha1 -Wl,-L,$(KDIR) -Wl,-T,$(KDIR)/kernel.ld

KSRCS    := $(sort $(wildcard $(KDIR)/kernel/*.c $(KDIR)/kernel/*.S $(KDIR)/faultlib/*.c))
KOBJS    := $(patsubst $(KDIR)/%,$(KBUILD)/%.o,$(KSRCS))

include $(KDIR)/user/user.mk

$(KBUILD)/%.c.o: $(KDIR)/%.c
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -c -o $@ $<

# Coverage (docs/kernel.md, "Coverage"): $(BUILD)/kernel-cov.elf is the same kernel whose
# own C files call __sanitizer_cov_trace_pc (faultlib/cov.c) at every basic block; not the
# machine-mode start, the trap path, the console transport, panic and power-off, the string
# helpers' loops, nor faultlib itself. A second ELF, because coverage costs ~40% of the CPU
# of an injection (make bench), more than a sweep that does not want it should pay.
KCOV_FLAGS := -fsanitize-coverage=trace-pc
KCOV_OFF   := start.c trap.c usertrap.c console.c uart.c panic.c power.c restart.c plic.c \
	string.c
KCOVOBJS   := $(patsubst $(KBUILD)/kernel/%.c.o,$(KCOVB)/kernel/%.c.o,$(KOBJS))

$(KCOVB)/kernel/%.c.o: $(KDIR)/kernel/%.c
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) $(if $(filter $(KCOV_OFF),$(notdir $<)),,$(KCOV_FLAGS)) -c -o $@ $<

# faultlib/ stays adoptable by another kernel: its files are compiled with their own
# directory as the only include path and the compiler's freestanding headers (<stdint.h>,
# <stddef.h>, <stdbool.h>) as the only system ones, and an #include naming a path (such as
# "../include/kernel.h", which the include path alone would not stop) fails the build.
FLCFLAGS := $(filter-out -I%,$(KCFLAGS)) -nostdinc \
	-isystem $(shell $(KCC) -print-file-name=include) -I$(KDIR)/faultlib

$(KBUILD)/faultlib/%.c.o: $(KDIR)/faultlib/%.c
	@mkdir -p $(dir $@)
	@! grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]*/' \
		$< $(wildcard $(KDIR)/faultlib/*.h) || \
		{ echo "faultlib: include only faultlib's own headers" >&2; exit 1; }
	$(KCC) $(FLCFLAGS) -c -o $@ $<

$(KBUILD)/%.S.o: $(KDIR)/%.S
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -c -o $@ $<

$(BUILD)/kernel.elf: $(KOBJS) $(KDIR)/kernel.ld $(KDIR)/faultlib/faultline.ld
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) $(KLDFLAGS) -o $@ $(KOBJS) -lgcc

$(BUILD)/kernel-cov.elf: $(KCOVOBJS) $(KDIR)/kernel.ld $(KDIR)/faultlib/faultline.ld
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) $(KLDFLAGS) -o $@ $(KCOVOBJS) -lgcc

$(BUILD)/null.elf: $(KDIR)/null/null.S
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -nostdlib -nostartfiles -static -Wl,-Ttext=0x80000000 \
		-Wl,-e,_entry -o $@ $<

-include $(KOBJS:.o=.d) $(KCOVOBJS:.o=.d)

ALL_TARGETS += $(BUILD)/kernel.elf $(BUILD)/kernel-cov.elf $(BUILD)/null.elf

# $(BUILD)/kernel-slow.elf: the same kernel spinning about BOOT_DELAY_MS of wall time before every
# hello (start.c), so `make bench` can show what a sweep pays per boot (snapshot vs reset).
BOOT_DELAY_MS ?= 1000
KSLOWOBJ := $(BUILD)/sample-kernel-slow/start.c.o

$(KSLOWOBJ): $(KDIR)/kernel/start.c
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -DBOOT_DELAY_MS=$(BOOT_DELAY_MS) -c -o $@ $<

$(BUILD)/kernel-slow.elf: $(filter-out $(KBUILD)/kernel/start.c.o,$(KOBJS)) $(KSLOWOBJ) \
		$(KDIR)/kernel.ld
	$(KCC) $(KCFLAGS) $(KLDFLAGS) -o $@ $(filter %.o,$^) -lgcc

-include $(KSLOWOBJ:.o=.d)

# $(BUILD)/kernel-norec.elf: the same kernel with recording off (faultlib/record.c built with
# FL_RECORDING=0): it sends what drives a sweep (hello, ok/err, run, ckpt, fault, result,
# panic, end) and no alloc/free/op/ref/state/resource record, so its findings mean nothing.
# `make bench` sweeps it as the limit a recording kernel's per-injection cost is judged by.
KNORECOBJ := $(BUILD)/sample-kernel-norec/record.c.o

$(KNORECOBJ): $(KDIR)/faultlib/record.c
	@mkdir -p $(dir $@)
	$(KCC) $(FLCFLAGS) -DFL_RECORDING=0 -c -o $@ $<

$(BUILD)/kernel-norec.elf: $(filter-out $(KBUILD)/faultlib/record.c.o,$(KOBJS)) $(KNORECOBJ) \
		$(KDIR)/kernel.ld
	$(KCC) $(KCFLAGS) $(KLDFLAGS) -o $@ $(filter %.o,$^) -lgcc

-include $(KNORECOBJ:.o=.d)

ALL_TARGETS += $(BUILD)/kernel-norec.elf
