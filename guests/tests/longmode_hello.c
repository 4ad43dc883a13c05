// SPDX-License-Identifier: MIT
/* Entry in long mode: the runtime switched to 64-bit mode on its identity map; check and greet. */
#include "guest.h"

GUEST_TEST("longmode_hello");

void test_main(void)
{
	_Static_assert(sizeof(void *) == 8, "longmode_hello must be built as a 64-bit guest");
	CHECK(boot.magic == MB1_BOOT_MAGIC || boot.magic == MB2_BOOT_MAGIC,
	      "EAX at entry was 0x%x, not a multiboot magic", boot.magic);
	uint64_t efer = rdmsr(MSR_EFER);
	CHECK(efer & EFER_LMA, "EFER.LMA clear (EFER 0x%llx)", (unsigned long long)efer);
	CHECK(read_cr0() & CR0_PG, "CR0.PG clear");
	CHECK(read_cr4() & CR4_PAE, "CR4.PAE clear");
	/* 64-bit arithmetic in 64-bit registers: a 32-bit mode would truncate this. */
	volatile uint64_t big = 0x123456789ull;
	CHECK(big * 16 == 0x1234567890ull, "64-bit multiply gave 0x%llx", (unsigned long long)(big * 16));
	printf("hello from 64-bit long mode, RSP %p\n", __builtin_frame_address(0));
}
