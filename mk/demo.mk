# mk/demo.mk - `make demo`: install what is missing, build, sweep every scenario of the sample
# kernel in both fault modes (reset mode: one QEMU per worker), write the HTML report and print
# the summary. Included by the top Makefile.
#
#   make demo                      the clean kernel
#   make demo BUGS=name[,name]     the kernel with seeded bugs from sample-kernel/bugs/ built in
#
# The sweep exits 1 when it found something; that is the demo working, not a build failure.
# Exit 2 (usage or infrastructure) still stops make.

DEMO_KERNEL    ?= $(BUILD)/kernel.elf
DEMO_DB        ?= $(OUT)/faultline.db
DEMO_REPORT    ?= $(OUT)/report
DEMO_SCENARIOS ?= all
DEMO_MODE      ?= reset
DEMO_JOBS      ?= $(JOBS)
BUGS           ?=

# BUGS is handed to the kernel build; the seeded-bug catalogue defines what each name does.
ifneq ($(strip $(BUGS)),)
ifeq ($(wildcard sample-kernel/bugs/),)
$(error BUGS=$(BUGS): this tree has no seeded-bug catalogue (sample-kernel/bugs/) yet)
endif
endif

demo: deps
	@$(MAKE) --no-print-directory all BUGS='$(BUGS)'
	@mkdir -p $(dir $(DEMO_DB))
	rm -rf $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).logs
	$(BUILD)/injector sweep --kernel $(DEMO_KERNEL) --scenario $(DEMO_SCENARIOS) \
		--mode $(DEMO_MODE) --both -j $(DEMO_JOBS) --db $(DEMO_DB) || [ $$? -eq 1 ]
	$(PYTHON) -m analysis report --db $(DEMO_DB) --out $(DEMO_REPORT)
	@$(PYTHON) -m analysis summary --db $(DEMO_DB)
	@echo "demo: open $(abspath $(DEMO_REPORT))/index.html"
