# tracer/tracer.mk - the tracer library (build/libfltracer.a) and CLI (build/tracer).
# The injector links the library with:
#   $(TRACER_CFLAGS) for the include path, $(TRACER_LIB) $(TRACER_LDLIBS) to link.

TRACER_SRC_LIB := tracer/util.c tracer/parser.c tracer/symbols.c tracer/build.c \
                  tracer/run.c tracer/checks.c tracer/store_schema.c tracer/store_build.c \
                  tracer/store_run.c tracer/store_query.c tracer/covmap.c
TRACER_SRC_CLI := tracer/main.c tracer/cli.c tracer/bench.c
TRACER_OBJDIR  := $(BUILD)/obj/tracer
TRACER_LIB     := $(BUILD)/libfltracer.a
TRACER_LDLIBS  := -lsqlite3 -ldw -lelf -lz
TRACER_CFLAGS  := -Itracer
TRACER_HOSTCFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -MMD -MP $(TRACER_CFLAGS) \
                     $(VERSION_CFLAGS)

TRACER_OBJ_LIB := $(patsubst tracer/%.c,$(TRACER_OBJDIR)/%.o,$(TRACER_SRC_LIB)) \
                  $(TRACER_OBJDIR)/schema_sql.o
TRACER_OBJ_CLI := $(patsubst tracer/%.c,$(TRACER_OBJDIR)/%.o,$(TRACER_SRC_CLI))

ALL_TARGETS += $(TRACER_LIB) $(BUILD)/tracer

.PHONY: tracer
tracer: $(TRACER_LIB) $(BUILD)/tracer

$(TRACER_OBJDIR)/%.o: tracer/%.c | $(TRACER_OBJDIR)
	$(HOSTCC) $(TRACER_HOSTCFLAGS) -c -o $@ $<

# The schema lives in one place, tracer/schema.sql; the library embeds it as a C string.
$(TRACER_OBJDIR)/schema_sql.c: tracer/schema.sql | $(TRACER_OBJDIR)
	{ echo '/* generated from tracer/schema.sql by tracer/tracer.mk */'; \
	  echo 'const char ft_schema_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

$(TRACER_OBJDIR)/schema_sql.o: $(TRACER_OBJDIR)/schema_sql.c
	$(HOSTCC) $(TRACER_HOSTCFLAGS) -c -o $@ $<

$(TRACER_LIB): $(TRACER_OBJ_LIB)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tracer: $(TRACER_OBJ_CLI) $(TRACER_LIB)
	$(HOSTCC) -o $@ $(TRACER_OBJ_CLI) $(TRACER_LIB) $(TRACER_LDLIBS)

# build/tracer-asan: the same CLI under AddressSanitizer and UBSan (the first error aborts),
# for the tests that feed the tracer hostile streams.
TRACER_ASAN_OBJDIR := $(BUILD)/obj/tracer-asan
TRACER_ASANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
                    -fno-omit-frame-pointer
TRACER_OBJ_ASAN := $(patsubst tracer/%.c,$(TRACER_ASAN_OBJDIR)/%.o,$(TRACER_SRC_LIB) \
                   $(TRACER_SRC_CLI))
ALL_TARGETS += $(BUILD)/tracer-asan

$(TRACER_ASAN_OBJDIR)/%.o: tracer/%.c | $(TRACER_ASAN_OBJDIR)
	$(HOSTCC) $(TRACER_HOSTCFLAGS) $(TRACER_ASANFLAGS) -c -o $@ $<

$(BUILD)/tracer-asan: $(TRACER_OBJ_ASAN) $(TRACER_OBJDIR)/schema_sql.o
	$(HOSTCC) $(TRACER_ASANFLAGS) -o $@ $^ $(TRACER_LDLIBS)

# --version prints the string mk/version.mk generates
$(TRACER_OBJDIR)/main.o $(TRACER_ASAN_OBJDIR)/main.o: $(VERSION_H)

$(TRACER_OBJDIR) $(TRACER_ASAN_OBJDIR):
	mkdir -p $@

-include $(wildcard $(TRACER_OBJDIR)/*.d $(TRACER_ASAN_OBJDIR)/*.d)
