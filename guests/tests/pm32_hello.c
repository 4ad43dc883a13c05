// SPDX-License-Identifier: MIT
/* Entry in 32-bit protected mode: the loader's hand-over matches the multiboot contract. */
#include "guest.h"

GUEST_TEST("pm32_hello");

extern char __image_start[], __image_end[];

void test_main(void)
{
	CHECK(boot.magic == MB1_BOOT_MAGIC || boot.magic == MB2_BOOT_MAGIC,
	      "EAX at entry was 0x%x, not a multiboot magic", boot.magic);
	unsigned long cr0 = read_cr0();
	CHECK(cr0 & CR0_PE, "CR0.PE clear: not in protected mode (CR0 0x%lx)", cr0);
	CHECK(!(cr0 & CR0_PG), "CR0.PG set at entry (CR0 0x%lx)", cr0);
	uint64_t efer = 0;
	if (rdmsr_safe(MSR_EFER, &efer) < 0)
		CHECK(!(efer & EFER_LMA), "EFER.LMA set in a 32-bit guest (EFER 0x%llx)", (unsigned long long)efer);
	CHECK(boot.ram_top >= 0x200000 + (uintptr_t)(__image_end - __image_start),
	      "memory information missing or too small: RAM top 0x%llx", (unsigned long long)boot.ram_top);
	CHECK((uintptr_t)__image_start == 0x200000, "image at %p, linked for 0x200000", (void *)__image_start);
	printf("hello from 32-bit protected mode, %llu KiB of RAM, image %p-%p\n",
	       (unsigned long long)boot.ram_top / 1024, (void *)__image_start, (void *)__image_end);
}
