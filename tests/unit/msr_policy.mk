# Host unit tests of the MSR policy (vmm/exit_msr.c) for AMD and Intel hosts, with the speculation
# MSR masks it asks arch/x86/spec_policy.c for.
UNIT_TESTS += test_msr_policy
test_msr_policy_SRCS := tests/unit/test_msr_policy.c tests/unit/shim.c vmm/exit_msr.c arch/x86/spec_policy.c \
	kernel/lib/format.c
test_msr_policy_CFLAGS := -include tests/unit/fake_msr.h
