# Host unit tests of the CPUID policy (vmm/exit_cpuid.c) over scripted host CPUIDs (AMD and Intel).
UNIT_TESTS += test_cpuid_policy
test_cpuid_policy_SRCS := tests/unit/test_cpuid_policy.c tests/unit/shim.c vmm/exit_cpuid.c
test_cpuid_policy_CFLAGS := -include tests/unit/fake_cpuid.h
