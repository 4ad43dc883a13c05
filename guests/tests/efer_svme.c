// SPDX-License-Identifier: MIT
/*
 * Setting EFER.SVME (hostile): the guest must not be able to turn on SVM. The WRMSR raises #GP
 * and EFER reads back without SVME. Bare QEMU: FAILS as expected (the write succeeds there; the
 * test puts EFER back).
 */
#include "guest.h"

GUEST_TEST("efer_svme");

void test_main(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	CHECK(!(efer & EFER_SVME), "EFER.SVME already visible (EFER 0x%llx)", (unsigned long long)efer);
	int vec = wrmsr_safe(MSR_EFER, efer | EFER_SVME);
	uint64_t after = rdmsr(MSR_EFER);
	CHECK(vec == VEC_GP, "wrmsr EFER |= SVME: %s, expected #GP", vector_name(vec));
	CHECK(!(after & EFER_SVME), "EFER reads 0x%llx after the write: SVME is set", (unsigned long long)after);
	if (after != efer)
		wrmsr(MSR_EFER, efer);
}
