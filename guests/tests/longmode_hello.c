// SPDX-License-Identifier: MIT
/* Entry in long mode: the runtime switched to 64-bit mode on its identity map; check and greet. */
#include "guest.h"
#include "smp.h"

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
	/* CR8 is the local APIC's TPR[7:4] (SDM vol. 3A §11.8.6): both views agree. Under Keel a
	 * MOV to CR8 must reach the virtual APIC, never the host's TPR. */
	uint64_t cr8;

	lapic_map();
	__asm__ volatile("mov %0, %%cr8" ::"r"(5ull));
	CHECK((lapic_read(LAPIC_TPR) >> 4) == 5, "CR8 = 5, but the TPR reads 0x%x", lapic_read(LAPIC_TPR));
	lapic_write(LAPIC_TPR, 0x30);
	__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
	CHECK(cr8 == 3, "TPR = 0x30, but CR8 reads %llu", (unsigned long long)cr8);
	__asm__ volatile("mov %0, %%cr8" ::"r"(0ull));
	CHECK(lapic_read(LAPIC_TPR) == 0, "CR8 = 0, but the TPR reads 0x%x", lapic_read(LAPIC_TPR));
	printf("hello from 64-bit long mode, RSP %p\n", __builtin_frame_address(0));
}
