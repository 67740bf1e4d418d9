# examples/pebble/example.mk - pebble, a second kernel hooked with faultline's port kit
# (examples/pebble/README.md), included by the top Makefile.
#
# Outputs under $(BUILD)/examples/pebble/: plain/kernel.elf (pebble as written, no faultline
# in it), kernel.elf (the same sources with faultline.patch applied, linked with faultlib's
# objects as kernel.mk builds them), disk.img (its pebblefs disk), and bugs/<name>/kernel.elf
# for each seeded bug (bugs/<name>.patch on top of the hooked sources) on demand.
# `make pebble-hook-size` prints the lines the hook adds to pebble (every line faultline.patch
# adds or changes; scenarios.c and faultlib are not counted) and fails when they are more
# than PB_HOOK_MAX, the port kit's promise.

PB_DIR    := examples/pebble
PB_BUILD  := $(BUILD)/examples/pebble
PB_SRCS   := $(sort $(wildcard $(PB_DIR)/kernel/*.c $(PB_DIR)/kernel/*.S))
PB_HDRS   := $(wildcard $(PB_DIR)/include/*.h)
PB_CFLAGS := $(filter-out -I% -MMD -MP,$(KCFLAGS))
PB_LDFLAGS := -nostdlib -nostartfiles -static -Wl,--build-id=sha1

$(PB_BUILD)/plain/kernel.elf: $(PB_SRCS) $(PB_HDRS) $(PB_DIR)/kernel.ld
	@mkdir -p $(dir $@)
	$(KCC) $(PB_CFLAGS) -I$(PB_DIR)/include $(PB_LDFLAGS) -Wl,-T,$(PB_DIR)/kernel.ld \
		-o $@ $(PB_SRCS) -lgcc

# The hooked kernel: a copy of the plain sources with faultline.patch (and, for a seeded bug,
# bugs/<name>.patch) applied, linked with scenarios.c and faultlib's objects, which kernel.mk
# builds on faultlib's own include path; the linker script INCLUDEs faultlib/faultline.ld
# from $(KDIR). $(1): the output directory; $(2): more patches.
PB_FLOBJS := $(patsubst $(KDIR)/%,$(KBUILD)/%.o,$(wildcard $(KDIR)/faultlib/*.c))
PB_HOOKED := $(PB_SRCS) $(PB_HDRS) $(PB_DIR)/kernel.ld $(PB_DIR)/faultline.patch \
	$(PB_DIR)/scenarios.c $(PB_FLOBJS) $(KDIR)/faultlib/faultline.ld

define pb_hooked_kernel
	rm -rf $(1)/src && mkdir -p $(1)/src/$(PB_DIR)
	cp -R $(PB_DIR)/kernel $(PB_DIR)/include $(PB_DIR)/kernel.ld $(1)/src/$(PB_DIR)/
	for p in $(PB_DIR)/faultline.patch $(2); do \
		patch -s -p1 -N -F0 --no-backup-if-mismatch -r - -d $(1)/src <$$p || exit 2; done
	$(KCC) $(PB_CFLAGS) -I$(1)/src/$(PB_DIR)/include -I$(KDIR) $(PB_LDFLAGS) -L$(KDIR) \
		-Wl,-T,$(1)/src/$(PB_DIR)/kernel.ld -o $(1)/kernel.elf \
		$(1)/src/$(PB_DIR)/kernel/*.[cS] $(PB_DIR)/scenarios.c $(PB_FLOBJS) -lgcc
endef

$(PB_BUILD)/kernel.elf: $(PB_HOOKED)
	$(call pb_hooked_kernel,$(PB_BUILD))

$(PB_BUILD)/bugs/%/kernel.elf: $(PB_DIR)/bugs/%.patch $(PB_HOOKED)
	$(call pb_hooked_kernel,$(PB_BUILD)/bugs/$*,$<)

$(PB_BUILD)/disk.img: $(PB_DIR)/mkdisk.py $(wildcard $(PB_DIR)/disk/*)
	@mkdir -p $(dir $@)
	$(PYTHON) $(PB_DIR)/mkdisk.py $@ $(sort $(wildcard $(PB_DIR)/disk/*))

PB_HOOK_MAX := 60

pebble-hook-size:
	@awk -v max=$(PB_HOOK_MAX) '/^\+\+\+ /{next} /^\+/{n++} END{ \
		print "pebble: the faultline hook adds " n " lines to the kernel" \
		" (examples/pebble/faultline.patch; at most " max ")"; exit n > max}' \
		$(PB_DIR)/faultline.patch

# `make test` says it too
test: pebble-hook-size

.PHONY: pebble-hook-size
ALL_TARGETS += $(PB_BUILD)/plain/kernel.elf $(PB_BUILD)/kernel.elf $(PB_BUILD)/disk.img
