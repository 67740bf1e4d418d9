# mk/version.mk - $(VERSION_H), the header that gives C tools faultline's version string
# (scripts/version.sh: VERSION plus the git commit). Included by the top Makefile before the
# tools' fragments. A tool's main.c does `#include "version.h"` and prints FAULTLINE_VERSION;
# its fragment adds $(VERSION_CFLAGS) to the compile flags and lists $(VERSION_H) as a
# prerequisite of main.o. The header is rewritten only when the string changes (a new commit,
# an edit to VERSION), so only those objects are rebuilt.

VERSION_DIR    := $(BUILD)/gen
VERSION_H      := $(VERSION_DIR)/version.h
VERSION_CFLAGS := -I$(VERSION_DIR)

.PHONY: version-check
$(VERSION_H): version-check
	@mkdir -p $(VERSION_DIR)
	@printf '#define FAULTLINE_VERSION "%s"\n' "$$(scripts/version.sh)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
