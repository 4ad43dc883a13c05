// SPDX-License-Identifier: MIT
/*
 * Hypercall ABI (32-bit registers: EAX = number, EBX, ECX, EDX = arguments): HC_VERSION, an
 * unknown number, HC_CONSOLE_WRITE with a good buffer (its text "HC-CONSOLE-OK" should appear on
 * Keel's console) and with bad pointers and lengths, which must fail with -EFAULT or -EINVAL while
 * the VM goes on. Bare QEMU: FAILS as expected (VMMCALL raises #UD without a hypervisor).
 */
#include "guest.h"

GUEST_TEST("hypercall");

static const char message[] = "HC-CONSOLE-OK: written by HC_CONSOLE_WRITE\n";

static void check_rejected(const char *what, unsigned long ptr, unsigned long len)
{
	long r = hypercall(HC_CONSOLE_WRITE, ptr, len, 0);
	CHECK(r == -KEEL_EFAULT || r == -KEEL_EINVAL,
	      "HC_CONSOLE_WRITE(0x%lx, 0x%lx) (%s) returned %ld, expected %d or %d", ptr, len, what, r, -KEEL_EFAULT,
	      -KEEL_EINVAL);
}

void test_main(void)
{
	long version = hypercall_version();
	if (version < 0)
		return;
	CHECK(version >= 1, "HC_VERSION returned %ld, expected >= 1", version);
	printf("ABI version %ld\n", version);

	long r = hypercall(0x7fff, 1, 2, 3);
	CHECK(r == -KEEL_ENOSYS, "unknown hypercall 0x7fff returned %ld, expected %d", r, -KEEL_ENOSYS);
	r = hypercall(0xffffffff, 0, 0, 0);
	CHECK(r == -KEEL_ENOSYS, "unknown hypercall 0xffffffff returned %ld, expected %d", r, -KEEL_ENOSYS);

	unsigned long len = sizeof(message) - 1;
	r = hypercall(HC_CONSOLE_WRITE, (unsigned long)message, len, 0);
	CHECK(r == (long)len, "HC_CONSOLE_WRITE of %lu bytes returned %ld", len, r);

	unsigned long top = boot.ram_top ? (unsigned long)boot.ram_top : 64ul << 20;
	check_rejected("buffer just past RAM", top, 16);
	check_rejected("buffer straddling the end of RAM", top - 8, 16);
	check_rejected("buffer at 1 GiB", UNMAPPED_ADDR, 16);
	check_rejected("length 0xffffffff", (unsigned long)message, 0xffffffff);
	check_rejected("length HC_CONSOLE_MAX + 1", (unsigned long)message, HC_CONSOLE_MAX + 1);

	r = hypercall(HC_VERSION, 0, 0, 0);
	CHECK(r == version, "HC_VERSION after the bad calls returned %ld", r);
}
