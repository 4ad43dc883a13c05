/* SPDX-License-Identifier: MIT */
/*
 * A scripted host CPUID for the host tests of the CPUID policy (vmm/exit_cpuid.c): forced into
 * the sources (-include, tests/unit/cpuid_policy.mk). The real arch/x86/cpu.h is read first, then
 * cpuid() is redirected to fake_cpuid(), which answers from the table the test installs.
 */
#ifndef KEEL_TEST_FAKE_CPUID_H
#define KEEL_TEST_FAKE_CPUID_H

#include "arch/x86/cpu.h"

struct fake_leaf {
	u32 leaf, sub;
	struct cpuid_regs r;
};

/* The host's leaves (a zero-terminated table); a leaf not in it reads all zeroes. */
extern const struct fake_leaf *fake_host_cpuid;
struct cpuid_regs fake_cpuid(u32 leaf, u32 sub);

#define cpuid(leaf, sub) fake_cpuid(leaf, sub)

#endif
