// SPDX-License-Identifier: MIT
/*
 * NMIs sent by IPI (ICR delivery mode NMI) and NMI blocking (issue 13 item 5), with cpus=2:
 *   - a self-NMI is taken at once;
 *   - NMIs sent while the handler of the last one runs wait for its IRET (SDM vol. 3A §6.7.1),
 *     several of them make one, and that one comes right after the IRET (within a few
 *     instructions, with no exit in between: the hypervisor must notice the IRET itself);
 *   - an NMI wakes a CPU halted with interrupts disabled, the AP's and the BSP's.
 * The handler runs on the interrupted stack (no IST), so a nested NMI would be seen as a second
 * handler entry before the first one's exit.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("nmi");

#define HELD_NMIS	  3
#define WAIT_MS		  200
#define PROMPT_SPINS	  1000 /* loop iterations allowed between the IRET and the held NMI */
#define BSP_WAKE_DELAY_US 5000
#define CMD_NMI_BSP	  1
#define CMD_WAKE_BSP	  2

static volatile unsigned nmis[SMP_MAX_CPUS], depth[SMP_MAX_CPUS], nested[SMP_MAX_CPUS];
static volatile unsigned hold, held_seen, held_done, ap_cmd, ap_ready, bsp_awake;

GUEST_RAW_HANDLER(nmi_stub, nmi_handler);

void nmi_handler(struct iret_frame *f)
{
	unsigned cpu = smp_cpu();

	(void)f;
	if (depth[cpu]++)
		nested[cpu]++;
	__atomic_add_fetch(&nmis[cpu], 1, __ATOMIC_SEQ_CST);
	if (cpu == 0 && hold) {
		hold = 0;
		/* More NMIs while this one is handled: each exits to the hypervisor, which must keep
		 * them pending; so must the exits and the time that follow. */
		for (int i = 0; i < HELD_NMIS; i++)
			lapic_send_ipi(0, ICR_NMI | ICR_DEST_SELF);
		for (int i = 0; i < 20; i++)
			(void)cpuid(0, 0);
		udelay(2000);
		held_seen = nmis[0];
		held_done = 1;
	}
	depth[cpu]--;
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	ap_ready = 1;
	/* Halted with IF = 0: only an NMI (or INIT) wakes it. */
	for (;;) {
		if (ap_cmd == CMD_NMI_BSP) {
			ap_cmd = 0;
			udelay(BSP_WAKE_DELAY_US);
			lapic_send_ipi(0, ICR_NMI);
		} else if (ap_cmd == CMD_WAKE_BSP) {
			/* Again until the BSP says it is awake: one NMI may beat its HLT. */
			ap_cmd = 0;
			do {
				udelay(BSP_WAKE_DELAY_US);
				lapic_send_ipi(0, ICR_NMI);
			} while (!bsp_awake);
		}
		__asm__ volatile("cli; hlt" : : : "memory");
	}
}

static bool wait_nmis(unsigned cpu, unsigned want)
{
	return smp_wait_for(&nmis[cpu], want, WAIT_MS);
}

void test_main(void)
{
	unsigned long spins;
	unsigned base;

	idt_set_stub(2, nmi_stub); /* before smp_init(), which copies the IDT */
	smp_init();
	if (smp_ncpus < 2)
		fail_now(GUEST_FAIL, "needs cpus=2");
	smp_start(ap_main);
	if (!smp_wait_for(&ap_ready, 1, WAIT_MS))
		fail_now(GUEST_FAIL, "the AP did not start");

	/* A self-NMI: taken before the ICR write returns, or very soon after. */
	lapic_send_ipi(0, ICR_NMI | ICR_DEST_SELF);
	CHECK(wait_nmis(0, 1), "self-NMI: not taken within %u ms", WAIT_MS);
	printf("self-NMI taken\n");

	/* NMIs sent from inside the handler wait for its IRET, and make one, which comes right
	 * after the IRET: this CPU then runs a loop that makes no exit, so the hypervisor must see
	 * the IRET itself. The AP sends the first NMI (woken by one, BSP_WAKE_DELAY_US later). */
	hold = 1;
	ap_cmd = CMD_NMI_BSP;
	lapic_send_ipi(1, ICR_NMI);
	if (!smp_wait_for(&held_done, 1, WAIT_MS))
		fail_now(GUEST_FAIL, "the AP's NMI to the BSP was not taken within %u ms", WAIT_MS);
	for (spins = 0; nmis[0] < 3 && spins < 10000000ul; spins++)
		pause();
	CHECK(held_seen == 2, "NMIs sent inside the NMI handler were taken before its IRET (%u NMIs seen there)",
	      held_seen);
	CHECK(nmis[0] >= 3, "the NMI held until the handler's IRET never came (%u NMIs)", nmis[0]);
	CHECK(spins <= PROMPT_SPINS, "the held NMI came %lu loop iterations after the handler's IRET", spins);
	udelay(20000);
	CHECK(nmis[0] == 3, "%u NMIs sent while blocked gave %u NMIs after the IRET, expected 1", HELD_NMIS,
	      nmis[0] - 2);
	printf("held NMIs: one, %lu iterations after the IRET\n", spins);

	/* An NMI to the AP, halted with IF = 0 (it took one above). */
	CHECK(nmis[1] == 1, "the AP took %u NMIs, expected 1", nmis[1]);
	lapic_send_ipi(1, ICR_NMI);
	CHECK(wait_nmis(1, 2), "NMI to the halted AP: not taken within %u ms", WAIT_MS);
	/* All excluding self. */
	lapic_send_ipi(0, ICR_NMI | ICR_DEST_OTHERS);
	CHECK(wait_nmis(1, 3), "NMI to all excluding self: not taken within %u ms", WAIT_MS);
	CHECK(nmis[0] == 3, "NMI to all excluding self reached the sender");

	/* The AP wakes the BSP from `cli; hlt` with an NMI (the AP needs an NMI to see the order). */
	base = nmis[0];
	ap_cmd = CMD_WAKE_BSP;
	lapic_send_ipi(1, ICR_NMI);
	__asm__ volatile("cli; hlt" : : : "memory");
	bsp_awake = 1;
	CHECK(nmis[0] > base, "the BSP woke from HLT without an NMI");
	for (unsigned k = 0; k < 2; k++)
		CHECK(!nested[k], "cpu %u: %u NMIs nested in the handler", k, nested[k]);
	printf("NMIs: cpu0 %u, cpu1 %u, none nested\n", nmis[0], nmis[1]);
}
