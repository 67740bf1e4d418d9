# faultline top-level build. `make` builds everything into build/; `make test` runs the suite;
# `make demo` sweeps the sample kernel and writes the report; `make bench` measures speed.
# Each part keeps its rules in its own fragment: sample-kernel/kernel.mk, tracer/tracer.mk,
# injector/injector.mk.

BUILD   ?= build
OUT     ?= out
PYTHON  ?= /usr/bin/python3
HOSTCC  ?= gcc
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

ALL_TARGETS :=

.PHONY: all build deps test demo bench clean
all: build-all
# `make build` is `make`, not the build/ directory (which exists after the first build)
build: build-all

-include mk/front.mk
-include sample-kernel/kernel.mk
-include tracer/tracer.mk
-include injector/injector.mk
-include mk/demo.mk
-include mk/bench.mk
-include mk/fuzz.mk
-include examples/pebble/example.mk

build-all: $(ALL_TARGETS)

# Installs the Debian packages the project needs when they are missing.
deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) -m pytest -q tests

clean:
	rm -rf $(BUILD)
