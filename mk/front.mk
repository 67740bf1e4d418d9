# mk/front.mk - the front door: the version header of the C tools and build/faultline.
# Included by the top Makefile before the tools' fragments.
#
# $(VERSION_H) gives C tools faultline's version string (scripts/version.sh: VERSION plus the
# git commit). A tool's main.c does `#include "version.h"` and prints FAULTLINE_VERSION; its
# fragment adds $(VERSION_CFLAGS) to the compile flags and lists $(VERSION_H) as a
# prerequisite of main.o. The header is rewritten only when the string changes (a new commit,
# an edit to VERSION), so only those objects are rebuilt.
#
# $(BUILD)/faultline runs scripts/faultline (sweep, findings, report, trace, ...) with this
# build directory, from any directory: link it into PATH.

VERSION_DIR    := $(BUILD)/gen
VERSION_H      := $(VERSION_DIR)/version.h
VERSION_CFLAGS := -I$(VERSION_DIR)
FRONT          := $(BUILD)/faultline

ALL_TARGETS += $(FRONT)

.PHONY: version-check
$(VERSION_H): version-check
	@mkdir -p $(VERSION_DIR)
	@printf '#define FAULTLINE_VERSION "%s"\n' "$$(scripts/version.sh)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(FRONT): scripts/faultline mk/front.mk
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# made by mk/front.mk: scripts/faultline with this build directory\n' > $@.tmp
	@printf 'FAULTLINE_BUILD=%s exec %s "$$@"\n' "'$(abspath $(BUILD))'" \
		"'$(abspath scripts/faultline)'" >> $@.tmp
	@chmod +x $@.tmp && mv $@.tmp $@
