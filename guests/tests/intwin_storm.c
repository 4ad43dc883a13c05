// SPDX-License-Identifier: MIT
/*
 * Interrupt-window storm (hostile): with a timer interrupt pending, toggle IF with back-to-back
 * `sti; cli` (the STI shadow means the window never really opens) `count=` times (default one
 * million), opening it for one instruction every 4096 rounds. The hypervisor must neither hang nor
 * lose the guest; at the end an open window must deliver the interrupt.
 * Bare QEMU: PASSES. Under Keel it needs a virtual PIC and PIT; without them, or if the timer
 * interrupt is not pending when the storm starts, the storm would prove nothing: it fails.
 */
#include "guest.h"

GUEST_TEST("intwin_storm");

#define TIMER_HZ 1000
/* Each read of the PIC is an exit under Keel (~10 us on TCG): 100000 reads wait far longer than
 * one 1 ms PIT period, and a guest without a ticking PIT fails in about a second. */
#define PENDING_SPIN 100000ul
#define OPEN_EVERY   4096

void test_main(void)
{
	unsigned long rounds = cmdline_ulong("count", 1000000);
	pic_init();
	if (!pic_present()) {
		fail("no PIC: the storm would run without a pending interrupt");
		return;
	}
	pit_start(TIMER_HZ);
	pic_unmask(0);
	if (!pic_wait_pending(0, PENDING_SPIN)) {
		fail("IRQ 0 never became pending: the storm would run without a pending interrupt");
		return;
	}

	uint64_t t0 = rdtsc();
	for (unsigned long i = 0; i < rounds; i++) {
		if (i % OPEN_EVERY == OPEN_EVERY - 1)
			__asm__ volatile("sti; nop; cli" : : : "memory");
		else
			__asm__ volatile("sti; cli" : : : "memory");
	}
	uint64_t t1 = rdtsc();
	printf("%lu sti/cli rounds in %llu TSC ticks, %lu timer interrupts taken\n", rounds,
	       (unsigned long long)(t1 - t0), irq_count[0]);

	unsigned long before = irq_count[0];
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	CHECK(irq_count[0] > before, "no timer interrupt after the storm");
}
