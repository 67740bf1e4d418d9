# mk/bench.mk - `make bench`: the QEMU floor and every cost measured against it, in one run
# (scripts/bench.py says what is measured and the targets). BENCH_ARGS passes options on,
# e.g. `make bench BENCH_ARGS="--only norec,old"` runs two of its blocks.

BENCH_ARGS ?=

bench: build-all $(BUILD)/kernel-slow.elf
	$(PYTHON) scripts/bench.py --build $(BUILD) $(BENCH_ARGS)
