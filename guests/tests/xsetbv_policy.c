// SPDX-License-Identifier: MIT
/*
 * XCR0 (XSETBV): valid values are accepted and read back with XGETBV; clearing x87, unknown bits,
 * AVX without SSE and XCRs other than 0 raise #GP. Under VT-x every XSETBV exits to Keel, which
 * checks it; under AMD-V the CPU checks it. Bare QEMU: PASSES (the CPU's own checks).
 */
#include "guest.h"
#include "xstate.h"

GUEST_TEST("xsetbv_policy");

static int xsetbv_safe(uint32_t index, uint64_t v)
{
	expect_exception(VEC_GP, 3);
	__asm__ volatile("xsetbv" : : "c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return exception_taken();
}

void test_main(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)) {
		/* Every lane this guest runs on (QEMU's EPYC, Bochs's ryzen and Skylake-X) offers
		 * XSAVE: a guest that sees none checked nothing, which must not read as a PASS. */
		fail("CPUID.1:ECX.XSAVE is clear: XSETBV cannot be checked");
		return;
	}
	/* CPUID.1:ECX.OSXSAVE reports this CPU's (the guest's) CR4.OSXSAVE, not the host's. */
	CHECK(!(cpuid(1, 0).ecx & CPUID1_ECX_OSXSAVE), "CPUID reports OSXSAVE with CR4.OSXSAVE clear");
	write_cr4(read_cr4() | CR4_OSXSAVE);
	CHECK(cpuid(1, 0).ecx & CPUID1_ECX_OSXSAVE, "CPUID does not report OSXSAVE with CR4.OSXSAVE set");
	CHECK(xgetbv(0) == 1, "XCR0 starts as 0x%llx, expected 1 (x87 only)", (unsigned long long)xgetbv(0));
	int vec = xsetbv_safe(0, 3);
	CHECK(vec == -1, "xsetbv(0, x87|SSE): %s", vector_name(vec));
	CHECK(xgetbv(0) == 3, "XCR0 reads 0x%llx after writing 3", (unsigned long long)xgetbv(0));
	vec = xsetbv_safe(0, 0);
	CHECK(vec == VEC_GP, "xsetbv(0, 0): %s, expected #GP", vector_name(vec));
	vec = xsetbv_safe(0, 1ull << 62);
	CHECK(vec == VEC_GP, "xsetbv(0, bit 62): %s, expected #GP", vector_name(vec));
	vec = xsetbv_safe(0, 5);
	CHECK(vec == VEC_GP, "xsetbv(0, AVX without SSE): %s, expected #GP", vector_name(vec));
	vec = xsetbv_safe(1, 1);
	CHECK(vec == VEC_GP, "xsetbv(1, 1): %s, expected #GP", vector_name(vec));
	CHECK(xgetbv(0) == 3, "XCR0 changed by a refused write: 0x%llx", (unsigned long long)xgetbv(0));
}
