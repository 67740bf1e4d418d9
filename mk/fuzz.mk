# mk/fuzz.mk - libFuzzer targets for the tracer, built with clang and ASan + UBSan into
# $(BUILD)/fuzz/, and `make fuzz` to run them (tracer/fuzz/fuzz.py says how). Included by the
# top Makefile after tracer/tracer.mk.
#
#   fuzz-parser     console bytes -> line reassembly -> records (tracer/fuzz/parser.c)
#   fuzz-pipeline   console bytes -> one run -> checks -> an in-memory database
#                   (tracer/fuzz/pipeline.c)
#
#   make fuzz                        each target for FUZZ_SECONDS (default 300) on real
#                                    console logs; the corpus grows in $(BUILD)/fuzz/corpus/,
#                                    a crashing input is written to $(BUILD)/fuzz/crashes/
#   make fuzz FUZZ_TARGETS=parser    one target only

FUZZCC       ?= clang
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= parser pipeline
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_OBJDIR  := $(FUZZ_DIR)/obj
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer -MMD -MP \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(TRACER_CFLAGS)
FUZZ_LIB     := $(FUZZ_DIR)/libfltracer-san.a
FUZZ_BINS    := $(FUZZ_DIR)/fuzz-parser $(FUZZ_DIR)/fuzz-pipeline

ALL_TARGETS += $(FUZZ_BINS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FUZZ_OBJDIR)/%.o: tracer/%.c | $(FUZZ_OBJDIR)/fuzz
	$(FUZZCC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_OBJDIR)/schema_sql.o: $(TRACER_OBJDIR)/schema_sql.c | $(FUZZ_OBJDIR)/fuzz
	$(FUZZCC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(patsubst tracer/%.c,$(FUZZ_OBJDIR)/%.o,$(TRACER_SRC_LIB)) \
             $(FUZZ_OBJDIR)/schema_sql.o
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz-%: $(FUZZ_OBJDIR)/fuzz/%.o $(FUZZ_LIB)
	$(FUZZCC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(TRACER_LDLIBS)

$(FUZZ_OBJDIR)/fuzz:
	mkdir -p $@

fuzz: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) tracer/fuzz/fuzz.py run --build $(BUILD) --seconds $(FUZZ_SECONDS) \
		$(addprefix --target ,$(FUZZ_TARGETS))

-include $(wildcard $(FUZZ_OBJDIR)/*.d $(FUZZ_OBJDIR)/fuzz/*.d)
