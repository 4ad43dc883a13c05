// SPDX-License-Identifier: MIT
/*
 * HLT and wake-up: with the PIT firing IRQ 0 through the PIC, an interrupt stays pending while
 * IF = 0, and each `sti; hlt` sleeps until it is delivered. Bare QEMU: PASSES. Under Keel it needs
 * a virtual PIC and PIT; without them it fails fast ("no PIC") instead of sleeping forever.
 */
#include "guest.h"

GUEST_TEST("hlt_wake");

#define TIMER_HZ 1000
#define WAKEUPS	 3
/* Each read of the PIC is an exit under Keel (~10 us on TCG): 100000 reads wait far longer than
 * one 1 ms PIT period, and a guest without a ticking PIT fails in about a second. */
#define PENDING_SPIN 100000ul

void test_main(void)
{
	pic_init();
	if (!pic_present()) {
		fail("no PIC: its mask register does not read back");
		return;
	}
	pit_start(TIMER_HZ);
	pic_unmask(0);

	/* IF = 0: the tick must wait in the PIC, not be delivered. */
	/* Without a pending tick the IF = 0 check below would pass having checked nothing, and the
	 * HLTs would sleep forever. */
	if (!pic_wait_pending(0, PENDING_SPIN)) {
		fail("IRQ 0 never showed in the PIC's IRR while IF = 0");
		return;
	}
	CHECK(irq_count[0] == 0, "%lu interrupts delivered while IF = 0", irq_count[0]);

	for (int i = 0; i < WAKEUPS; i++) {
		unsigned long before = irq_count[0];
		uint64_t t0 = rdtsc();
		/* STI's one-instruction shadow keeps the interrupt out until HLT has started. */
		__asm__ volatile("sti; hlt; cli" : : : "memory");
		uint64_t t1 = rdtsc();
		CHECK(irq_count[0] > before, "woke from HLT #%d without a timer interrupt", i);
		printf("wake %d: %lu interrupts so far, %llu TSC ticks asleep\n", i, irq_count[0],
		       (unsigned long long)(t1 - t0));
	}
}
