// SPDX-License-Identifier: MIT
/*
 * MSR policy: MSRs off the allow-list raise #GP (an unknown one, and SVM's VM_HSAVE_PA), EFER is
 * readable but EFER.SVME can neither be seen nor set, and the TSC counts.
 * Bare QEMU: FAILS (TCG reads unknown MSRs as 0, and the guest owns SVM there).
 */
#include "guest.h"

GUEST_TEST("msr_policy");

#define MSR_UNKNOWN 0xc0010999u

void test_main(void)
{
	uint64_t v = 0;
	int vec = rdmsr_safe(MSR_UNKNOWN, &v);
	CHECK(vec == VEC_GP, "rdmsr 0x%x (unknown): %s, expected #GP (read 0x%llx)", MSR_UNKNOWN, vector_name(vec),
	      (unsigned long long)v);
	vec = wrmsr_safe(MSR_UNKNOWN, 0);
	CHECK(vec == VEC_GP, "wrmsr 0x%x (unknown): %s, expected #GP", MSR_UNKNOWN, vector_name(vec));
	vec = rdmsr_safe(MSR_VM_HSAVE_PA, &v);
	CHECK(vec == VEC_GP, "rdmsr VM_HSAVE_PA: %s, expected #GP (SVM is hidden)", vector_name(vec));

	uint64_t efer = 0;
	vec = rdmsr_safe(MSR_EFER, &efer);
	if (vec >= 0) {
		fail("rdmsr EFER raised %s", vector_name(vec));
	} else {
		CHECK(!(efer & EFER_SVME), "EFER.SVME visible to the guest (EFER 0x%llx)", (unsigned long long)efer);
		vec = wrmsr_safe(MSR_EFER, efer | EFER_SVME);
		uint64_t after = 0;
		rdmsr_safe(MSR_EFER, &after);
		CHECK(vec == VEC_GP, "wrmsr EFER with SVME: %s, expected #GP (EFER now 0x%llx)", vector_name(vec),
		      (unsigned long long)after);
		if (after != efer)
			wrmsr_safe(MSR_EFER, efer);
	}

	uint64_t t0 = rdtsc(), t1 = rdtsc();
	CHECK(t1 > t0, "TSC did not advance: 0x%llx then 0x%llx", (unsigned long long)t0, (unsigned long long)t1);
}
