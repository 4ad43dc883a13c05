/* SPDX-License-Identifier: MIT */
/*
 * The host side of the MSR policy's unit test (vmm/exit_msr.c): forced into the sources (-include,
 * tests/unit/msr_policy.mk). The real arch/x86/cpu.h is read first, then the two instructions
 * the policy runs on the host are redirected: RDTSC reads a scripted counter, WRMSR is recorded.
 */
#ifndef KEEL_TEST_FAKE_MSR_H
#define KEEL_TEST_FAKE_MSR_H

#include "arch/x86/cpu.h"

u64 fake_rdtsc(void);
void fake_wrmsr(u32 msr, u64 val);

#define rdtsc()		fake_rdtsc()
#define wrmsr(msr, val) fake_wrmsr(msr, val)

#endif
