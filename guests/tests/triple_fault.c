// SPDX-License-Identifier: MIT
/*
 * Triple fault (hostile): load an empty IDT and execute int3. #BP cannot be delivered (#GP), nor
 * can that (#DF), nor that: the CPU shuts down. Keel must end this VM only.
 * Bare QEMU: QEMU resets the machine, which -no-reboot turns into an exit with code 0; no PASS or
 * FAIL line is printed.
 */
#include "guest.h"

GUEST_TEST("triple_fault");

void test_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uintptr_t base;
	} empty = { 0, 0 };
	expect_crash("empty IDT, then int3: #BP -> #GP -> #DF -> shutdown");
	__asm__ volatile("lidt %0; int3" : : "m"(empty) : "memory");
	fail_now(GUEST_FAIL_SURVIVED, "int3 with an empty IDT returned");
}
