// SPDX-License-Identifier: MIT
/*
 * I/O-exit flood (hostile): `count=` OUTs (default one million) to an unclaimed port, each one an
 * exit under Keel, then check the port still reads all-ones and the guest is alive.
 * Bare QEMU: PASSES.
 */
#include "guest.h"

GUEST_TEST("io_flood");

#define UNCLAIMED_PORT 0x1234

void test_main(void)
{
	unsigned long count = cmdline_ulong("count", 1000000);
	uint64_t t0 = rdtsc();
	for (unsigned long i = 0; i < count; i++)
		outb(UNCLAIMED_PORT, (uint8_t)i);
	uint64_t t1 = rdtsc();
	printf("%lu OUTs in %llu TSC ticks\n", count, (unsigned long long)(t1 - t0));
	uint8_t b = inb(UNCLAIMED_PORT);
	CHECK(b == 0xff, "inb 0x%x = 0x%x after the flood, expected 0xff", UNCLAIMED_PORT, b);
}
