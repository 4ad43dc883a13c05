# Host unit tests of the speculation-mitigation decision table, per CPU model.
UNIT_TESTS += test_spec
test_spec_SRCS := tests/unit/test_spec.c tests/unit/shim.c arch/x86/spec_policy.c kernel/lib/format.c
