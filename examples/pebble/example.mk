# examples/pebble/example.mk - pebble, a second kernel hooked with faultline's port kit
# (examples/pebble/README.md), included by the top Makefile.
#
# Outputs under $(BUILD)/examples/pebble/: plain/kernel.elf (pebble as written, no faultline
# in it), kernel.elf (the same sources with faultline.patch applied, linked with faultlib's
# objects as kernel.mk builds them), disk.img (its pebblefs disk), and bugs/<name>/kernel.elf
# for each seeded bug (bugs/<name>.patch on top of the hooked sources) on demand.
# `make pebble-hook-size` prints the lines the hook adds to pebble.

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

$(PB_BUILD)/disk.img: $(PB_DIR)/mkdisk.py $(wildcard $(PB_DIR)/disk/*)
	@mkdir -p $(dir $@)
	$(PYTHON) $(PB_DIR)/mkdisk.py $@ $(sort $(wildcard $(PB_DIR)/disk/*))

pebble-hook-size:
	@awk '/^\+\+\+ /{next} /^\+/{n++} END{print "pebble: the faultline hook adds " n \
		" lines to the kernel (examples/pebble/faultline.patch)"}' $(PB_DIR)/faultline.patch

.PHONY: pebble-hook-size
ALL_TARGETS += $(PB_BUILD)/plain/kernel.elf $(PB_BUILD)/disk.img
