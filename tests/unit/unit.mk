# Host unit tests: real kernel sources compiled for the host with ASan and UBSan, run under cmocka.
# Each tests/unit/<name>.mk adds `UNIT_TESTS += <name>` and `<name>_SRCS := test file + kernel sources`.
HOSTCC ?= gcc
UNIT_CFLAGS := -std=gnu11 -g -O1 -I. -Itests/unit -DKEEL_HOST_TEST -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter
UNIT_LDLIBS := -lcmocka

UNIT_TESTS :=
include $(filter-out tests/unit/unit.mk,$(wildcard tests/unit/*.mk))

# Any header may be included by a tested source: rebuild when one changes.
UNIT_HDRS := $(wildcard */*.h */*/*.h */*/*/*.h)

define unit_rule
$(B)/unit/$(1): $$($(1)_SRCS) $$(UNIT_HDRS)
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(UNIT_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $$(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: check-unit
check-unit: $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(B)/keel.elf
	@set -e; for t in $(UNIT_TESTS); do echo "== unit: $$t"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(B)/unit/$$t; done
	@echo "== unit: test_kmods.py (the virtio guest's module load order)"
	@$(PYTHON) -m pytest -q -p no:cacheprovider tests/unit/test_kmods.py
