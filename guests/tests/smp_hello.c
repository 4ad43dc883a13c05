// SPDX-License-Identifier: MIT
/*
 * SMP bring-up and IPIs, `cpus=N` on the command line (QEMU: -smp N). The BSP starts every AP
 * with INIT-SIPI-SIPI; each AP records its APIC ID (local APIC ID register and CPUID.1:EBX[31:24],
 * which must agree) and sums a range for the BSP to check. Then IPIs: a fixed IPI (vector 0x40) to
 * each AP in turn; one AP, asked by another 0x40, waits 10 ms and sends vector 0x41 back to the
 * BSP, which sleeps for it in `sti; hlt` (a halted CPU must be woken by an IPI; the AP fails the
 * test if the BSP does not answer within 1 s); and one 0x40 with the all-excluding-self shorthand.
 * Output: "cpu K: apic id K, work ok" per CPU, then "ipi: 2N delivered".
 * x2apic=1 runs it all with every local APIC in x2APIC mode (MSRs, the ICR as one MSR); the BSP then
 * prints "smp: x2APIC mode".
 * Bare QEMU: PASSES with -smp N and cpus=N (smp_hello64 is the same test in long mode; x2apic=1
 * needs a CPU model with x2APIC, e.g. -cpu max).
 */
#include "guest.h"
#include "smp.h"

#ifndef SMP_HELLO_NAME
#define SMP_HELLO_NAME "smp_hello"
#endif
GUEST_TEST(SMP_HELLO_NAME);

#define VEC_TO_AP      0x40
#define VEC_TO_BSP     0x41
#define WORK_ITEMS     100000u
#define IPI_TIMEOUT_MS 1000
#define REPLY_DELAY_US 10000
#define BSP_WAKE_MS    1000
#define MAX_HLT_WAKES  100
#define LATE_START_US  10000 /* how long a second start of an AP (a second SIPI obeyed) has to show */
#define CMD_NONE       0
#define CMD_REPLY      1 /* wait REPLY_DELAY_US, then send VEC_TO_BSP to the BSP */

struct cpu_state {
	volatile unsigned lapic_id, cpuid_id;
	volatile uint32_t work;
	volatile unsigned work_done;
	volatile unsigned ipis;	      /* VEC_TO_AP interrupts taken */
	volatile unsigned cmd;	      /* set by the BSP before a VEC_TO_AP */
	volatile unsigned cmd_ack;    /* the AP took the command */
	volatile unsigned unexpected; /* VEC_TO_BSP on an AP */
	volatile unsigned stop;	      /* the BSP is done: park */
} __attribute__((aligned(64)));

static struct cpu_state cpus[SMP_MAX_CPUS];
static volatile unsigned bsp_got_reply, bsp_reply_seen;

static uint32_t work(unsigned cpu)
{
	uint32_t sum = 0;
	for (uint32_t i = cpu * WORK_ITEMS; i < (cpu + 1) * WORK_ITEMS; i++)
		sum += i * i ^ (sum >> 3);
	return sum;
}

static void record_ids(unsigned cpu)
{
	cpus[cpu].lapic_id = smp_cpu(); /* the ID register, in either APIC mode */
	cpus[cpu].cpuid_id = cpuid(1, 0).ebx >> 24;
}

static void on_ipi(unsigned cpu, unsigned vector)
{
	if (vector == VEC_TO_AP) {
		__atomic_add_fetch(&cpus[cpu].ipis, 1, __ATOMIC_SEQ_CST);
	} else if (cpu == 0) {
		bsp_got_reply++;
	} else {
		cpus[cpu].unexpected++;
	}
}

static void ap_main(unsigned cpu)
{
	struct cpu_state *me = &cpus[cpu];
	record_ids(cpu);
	me->work = work(cpu);
	__atomic_store_n(&me->work_done, 1, __ATOMIC_SEQ_CST);
	/* Sleep until an IPI; IF = 0 between the checks and the HLT (STI's shadow covers it). */
	while (!me->stop) {
		if (me->cmd == CMD_REPLY) {
			me->cmd = CMD_NONE;
			me->cmd_ack = 1;
			/* The command may be seen before its IPI arrives: take that IPI meanwhile. */
			sti();
			udelay(REPLY_DELAY_US);
			lapic_send_ipi(0, ICR_FIXED | VEC_TO_BSP);
			/* Watchdog for the BSP's HLT: nothing else would wake it. */
			if (!smp_wait_for(&bsp_reply_seen, 1, BSP_WAKE_MS))
				fail_now(GUEST_FAIL,
					 "the BSP did not wake from HLT for IPI 0x%x within %u ms (sent by cpu %u)",
					 VEC_TO_BSP, BSP_WAKE_MS, cpu);
			cli();
			continue;
		}
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	}
}

static unsigned total_ipis(void)
{
	unsigned n = bsp_got_reply;
	for (unsigned k = 0; k < smp_ncpus; k++)
		n += cpus[k].ipis + cpus[k].unexpected;
	return n;
}

static bool wait_ipis(unsigned cpu, unsigned want, const char *what)
{
	if (smp_wait_for(&cpus[cpu].ipis, want, IPI_TIMEOUT_MS))
		return true;
	fail("%s: cpu %u took %u IPIs 0x%x, expected %u within %u ms", what, cpu, cpus[cpu].ipis, VEC_TO_AP, want,
	     IPI_TIMEOUT_MS);
	return false;
}

void test_main(void)
{
	smp_init();
	unsigned n = smp_ncpus;
	printf("%s: %u cpus, TSC %llu kHz\n", test_name, n, (unsigned long long)tsc_per_ms);
	smp_set_handler(VEC_TO_AP, on_ipi);
	smp_set_handler(VEC_TO_BSP, on_ipi);
	if (smp_x2apic)
		printf("smp: x2APIC mode\n");
	smp_start(ap_main);

	/* Bring-up: every AP exactly once, with the APIC ID it was started as. */
	record_ids(0);
	cpus[0].work = work(0);
	cpus[0].work_done = 1;
	for (unsigned k = 1; k < n; k++)
		if (!smp_wait_for(&cpus[k].work_done, 1, IPI_TIMEOUT_MS))
			fail("AP %u started but did not finish its work", k);
	udelay(LATE_START_US);
	for (unsigned k = 0; k < n; k++) {
		struct cpu_state *c = &cpus[k];
		bool ok = c->work_done && c->work == work(k);
		CHECK(smp_online[k] == 1, "cpu %u came online %u times", k, smp_online[k]);
		CHECK(c->lapic_id == k, "cpu %u: local APIC ID %u", k, c->lapic_id);
		CHECK(c->cpuid_id == k, "cpu %u: CPUID initial APIC ID %u", k, c->cpuid_id);
		CHECK(ok, "cpu %u: work gave 0x%x, expected 0x%x", k, c->work, work(k));
		printf("cpu %u: apic id %u, work %s\n", k, c->lapic_id, ok ? "ok" : "WRONG");
	}
	for (unsigned k = n; k < SMP_MAX_CPUS; k++)
		CHECK(smp_online[k] == 0, "APIC ID %u came online but was never started", k);
	if (failures())
		return;

	/* A fixed IPI to each AP in turn. */
	for (unsigned k = 1; k < n; k++) {
		lapic_send_ipi(k, ICR_FIXED | VEC_TO_AP);
		wait_ipis(k, 1, "fixed IPI");
		for (unsigned j = 1; j < n; j++)
			CHECK(j == k || cpus[j].ipis == (j < k ? 1u : 0u), "IPI to cpu %u: cpu %u took %u", k, j,
			      cpus[j].ipis);
	}

	/* An AP wakes the halted BSP. */
	if (n > 1) {
		unsigned ap = n - 1;
		cpus[ap].cmd = CMD_REPLY;
		lapic_send_ipi(ap, ICR_FIXED | VEC_TO_AP);
		if (!smp_wait_for(&cpus[ap].cmd_ack, 1, IPI_TIMEOUT_MS))
			fail_now(GUEST_FAIL, "cpu %u did not take the reply command", ap);
		uint64_t t0 = rdtsc();
		unsigned wakes = 0;
		while (!bsp_got_reply && wakes < MAX_HLT_WAKES) {
			__asm__ volatile("sti; hlt; cli" : : : "memory");
			wakes++;
		}
		uint64_t t1 = rdtsc();
		bsp_reply_seen = 1;
		CHECK(bsp_got_reply == 1, "the BSP took %u IPIs 0x%x, expected 1", bsp_got_reply, VEC_TO_BSP);
		printf("ipi: cpu %u woke the BSP from hlt after %llu us (%u wake-ups)\n", ap,
		       (unsigned long long)tsc_to_us(t1 - t0), wakes);
		wait_ipis(ap, 2, "command IPI");
	}

	/* All excluding self: every AP once more, the BSP not at all. */
	if (n > 1) {
		lapic_send_ipi(0, ICR_FIXED | ICR_DEST_OTHERS | VEC_TO_AP);
		for (unsigned k = 1; k < n; k++)
			wait_ipis(k, k == n - 1 ? 3 : 2, "all-excluding-self IPI");
		udelay(10000);
		CHECK(cpus[0].ipis == 0, "all-excluding-self IPI reached the sender (%u)", cpus[0].ipis);
	}

	for (unsigned k = 1; k < n; k++) {
		CHECK(cpus[k].unexpected == 0, "cpu %u took %u IPIs 0x%x meant for the BSP", k, cpus[k].unexpected,
		      VEC_TO_BSP);
		cpus[k].stop = 1;
	}
	unsigned spurious = 0;
	for (unsigned k = 0; k < n; k++)
		spurious += smp_spurious[k];
	unsigned want = n > 1 ? 2 * n : 0;
	unsigned got = total_ipis();
	printf("ipi: %u delivered\n", got);
	CHECK(got == want, "%u IPIs delivered, expected %u", got, want);
	if (spurious)
		printf("note: %u spurious interrupts\n", spurious);
}
