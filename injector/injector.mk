# injector/injector.mk - build rules for build/injector, included by the top Makefile.
# Links the tracer library (tracer/tracer.mk publishes TRACER_LIB, TRACER_LDLIBS,
# TRACER_CFLAGS). Objects live in $(BUILD)/injector-obj/ (build/injector is the binary).

INJ_DIR    := injector
INJ_OBJDIR := $(BUILD)/injector-obj
INJ_SRCS   := $(sort $(wildcard $(INJ_DIR)/*.c))
INJ_OBJS   := $(patsubst $(INJ_DIR)/%.c,$(INJ_OBJDIR)/%.o,$(INJ_SRCS))
INJ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -MMD -MP \
	$(TRACER_CFLAGS) $(VERSION_CFLAGS)

$(INJ_OBJDIR)/%.o: $(INJ_DIR)/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(INJ_CFLAGS) -c -o $@ $<

$(BUILD)/injector: $(INJ_OBJS) $(TRACER_LIB)
	@mkdir -p $(dir $@)
	$(HOSTCC) -g -o $@ $(INJ_OBJS) $(TRACER_LIB) $(TRACER_LDLIBS) -linih

# --version prints the string mk/version.mk generates
$(INJ_OBJDIR)/main.o: $(VERSION_H)

-include $(INJ_OBJS:.o=.d)

ALL_TARGETS += $(BUILD)/injector
