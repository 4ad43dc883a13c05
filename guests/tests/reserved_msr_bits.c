// SPDX-License-Identifier: MIT
/*
 * Reserved MSR bits (hostile): writing EFER with any reserved bit set raises #GP and leaves EFER
 * alone (APM vol 2, 3.1.7: reserved EFER bits must be written as zero).
 * Bare QEMU: FAILS as expected (QEMU 7.2 TCG drops reserved EFER bits silently).
 */
#include "guest.h"

GUEST_TEST("reserved_msr_bits");

/* Reserved on every current AMD and Intel CPU (bits 13-21 are or were defined by some models). */
static const unsigned reserved_bits[] = { 1, 2, 3, 7, 9, 24, 31, 32, 48, 63 };

void test_main(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	for (unsigned i = 0; i < sizeof(reserved_bits) / sizeof(reserved_bits[0]); i++) {
		unsigned bit = reserved_bits[i];
		int vec = wrmsr_safe(MSR_EFER, efer | (1ull << bit));
		uint64_t after = rdmsr(MSR_EFER);
		CHECK(vec == VEC_GP, "wrmsr EFER with reserved bit %u: %s, expected #GP", bit, vector_name(vec));
		if (after != efer) {
			fail("EFER changed to 0x%llx by a write with reserved bit %u", (unsigned long long)after, bit);
			wrmsr(MSR_EFER, efer);
		}
	}
}
