# mk/bench.mk - `make bench`: the QEMU floor and every cost measured against it, in one run
# (scripts/bench.py says what is measured and the targets).

bench: build-all $(BUILD)/kernel-slow.elf
	$(PYTHON) scripts/bench.py --build $(BUILD)
