// SPDX-License-Identifier: MIT
/*
 * Nested-paging isolation: a read of guest-physical memory beyond the guest's RAM must end this VM
 * (Keel crashes it on the nested page fault). The guest announces EXPECT-CRASH first; if the read
 * returns, it reports FAIL with status GUEST_FAIL_SURVIVED. The address is the RAM top the loader
 * reported rounded up to 1 GiB (0x40000000 with 64 MiB), or `addr=`.
 * Bare QEMU: FAILS as expected (-m 64M reads unbacked memory as open bus).
 */
#include "guest.h"

GUEST_TEST("npt_isolation");

#define GIB 0x40000000ull

void test_main(void)
{
	uint64_t top = boot.ram_top ? boot.ram_top : 64ull << 20;
	uint64_t target = (top + GIB - 1) & ~(GIB - 1);
	if (target >= 0xc0000000ull)
		target = 0xc0000000ull; /* below the 32-bit MMIO hole; pass addr= for big guests */
	target = cmdline_ulong("addr", (unsigned long)target);
	expect_crash("reading guest-physical 0x%llx, beyond RAM (top 0x%llx)", (unsigned long long)target,
		     (unsigned long long)top);
	uint32_t v = *(volatile uint32_t *)(uintptr_t)target;
	fail_now(GUEST_FAIL_SURVIVED, "read of guest-physical 0x%llx returned 0x%x: the VM was not stopped",
		 (unsigned long long)target, v);
}
