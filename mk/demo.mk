# mk/demo.mk - `make demo`: install what is missing, build, sweep every scenario of the sample
# kernel in both fault modes (warm mode: one QEMU per worker, the kernel restarted in place
# after every clean run and the machine reset after any other; the same runs as reset mode,
# byte for byte, in about 60% of the time), write the HTML report and print the summary with
# its error-path coverage line (the clean kernel is swept as build/kernel-cov.elf).
# Included by the top Makefile.
#
#   make demo                      the clean kernel, every scenario
#   make demo BUGS=name[,name]     the kernel with seeded bugs from sample-kernel/bugs/ built in
#                                  (a patched copy under $(BUILD)/bugs/; the clean sources are
#                                  never touched), swept over the scenarios those bugs need;
#                                  database and report under $(OUT)/bugs-name[+name]/
#   make bug-kernel BUGS=name[,name]   only build that kernel and print its path
#
# The sweep and the report read the sample kernel's profile (sample-kernel/faultline.ini:
# every scenario, warm mode, both fault modes, its machine and allocators); DEMO_SCENARIOS,
# DEMO_MODE, DEMO_JOBS, DEMO_DB and DEMO_REPORT override it and the other defaults.
# The sweep exits 1 when it found something; that is the demo working, not a build failure.
# Exit 2 (usage or infrastructure) still stops make.

comma := ,
BUGS           ?=
BUGS_KEY       := $(subst $(comma),+,$(strip $(BUGS)))

ifeq ($(BUGS_KEY),)
DEMO_KERNEL    ?= $(BUILD)/kernel-cov.elf
DEMO_DB        ?= $(OUT)/faultline.db
DEMO_REPORT    ?= $(OUT)/report
DEMO_SCENARIOS ?=
DEMO_SRC_ROOT  :=
else
DEMO_KERNEL    := $(BUILD)/bugs/$(BUGS_KEY)/kernel.elf
DEMO_DB        ?= $(OUT)/bugs-$(BUGS_KEY)/faultline.db
DEMO_REPORT    ?= $(OUT)/bugs-$(BUGS_KEY)/report
# the scenarios the bugs' .expect files name
DEMO_SCENARIOS ?= $(shell for b in $(subst $(comma), ,$(BUGS)); do \
	sed -n 's/.*"scenario": *"\([a-z0-9-]*\)".*/\1/p' sample-kernel/bugs/$$b.expect; \
	done 2>/dev/null | sort -u | paste -sd, -)
DEMO_SRC_ROOT  := --src-root $(BUILD)/bugs/$(BUGS_KEY)/src
endif
DEMO_PROFILE   := sample-kernel/faultline.ini
DEMO_MODE      ?=
# guard mode (freed memory unmapped: reads after free trap) costs 1.5-2.3x per injection
# (`make bench`), so sweeps keep it off by default and the demo turns it on
DEMO_GUARD ?= --guard
DEMO_JOBS      ?= $(JOBS)

.PHONY: bug-kernel

bug-kernel:
ifeq ($(BUGS_KEY),)
	$(error bug-kernel needs BUGS=name[,name] (see sample-kernel/bugs/))
endif
	@$(MAKE) --no-print-directory $(BUILD)/kernel.elf
	@BUILD=$(BUILD) MAKE=$(MAKE) sample-kernel/bugs/build.sh $(BUGS)

demo: deps
	@$(MAKE) --no-print-directory all
ifneq ($(BUGS_KEY),)
	@BUILD=$(BUILD) MAKE=$(MAKE) sample-kernel/bugs/build.sh $(BUGS) >/dev/null
endif
	@mkdir -p $(dir $(DEMO_DB))
	rm -rf $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).logs
	$(BUILD)/injector sweep --profile $(DEMO_PROFILE) --kernel $(DEMO_KERNEL) \
		$(if $(DEMO_SCENARIOS),--scenario $(DEMO_SCENARIOS)) $(if $(DEMO_MODE),--mode $(DEMO_MODE)) \
		$(DEMO_GUARD) -j $(DEMO_JOBS) --db $(DEMO_DB) $(DEMO_SRC_ROOT) || [ $$? -eq 1 ]
	$(PYTHON) -m analysis report --profile $(DEMO_PROFILE) --db $(DEMO_DB) --out $(DEMO_REPORT)
	@$(PYTHON) -m analysis summary --db $(DEMO_DB)
	@echo "demo: open $(abspath $(DEMO_REPORT))/index.html"
