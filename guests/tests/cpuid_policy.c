// SPDX-License-Identifier: MIT
/*
 * CPUID policy: the hypervisor bit is set, leaf 0x40000000 carries Keel's signature and its
 * maximum leaf, and neither SVM nor VMX is visible to the guest.
 * Bare QEMU: FAILS (no Keel signature, and SVM is visible with -cpu EPYC,+svm).
 */
#include "guest.h"

GUEST_TEST("cpuid_policy");

void test_main(void)
{
	struct cpuid_regs l1 = cpuid(1, 0);
	CHECK(l1.ecx & CPUID_1_ECX_HYPERVISOR, "CPUID.1:ECX[31] (hypervisor present) is clear");
	CHECK(!(l1.ecx & CPUID_1_ECX_VMX), "CPUID.1:ECX[5] (VMX) is visible");

	struct cpuid_regs ext = cpuid(0x80000000, 0);
	if (ext.eax >= 0x80000001) {
		struct cpuid_regs e1 = cpuid(0x80000001, 0);
		CHECK(!(e1.ecx & CPUID_80000001_ECX_SVM), "CPUID.80000001:ECX[2] (SVM) is visible");
	}

	struct cpuid_regs hv = cpuid(KEEL_CPUID_BASE, 0);
	char sig[13];
	memcpy(sig, &hv.ebx, 4);
	memcpy(sig + 4, &hv.ecx, 4);
	memcpy(sig + 8, &hv.edx, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++) {
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	}
	printf("leaf 0x40000000: eax 0x%x signature \"%s\"\n", hv.eax, sig);
	CHECK(!memcmp(sig, KEEL_CPUID_SIGNATURE, 12), "leaf 0x40000000 signature \"%s\", expected \"%s\"", sig,
	      KEEL_CPUID_SIGNATURE);
	CHECK(hv.eax >= KEEL_CPUID_BASE && hv.eax < KEEL_CPUID_BASE + 0x100,
	      "leaf 0x40000000 max leaf 0x%x, expected 0x400000xx", hv.eax);
}
