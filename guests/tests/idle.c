// SPDX-License-Identifier: MIT
/*
 * Idle CPUs, `cpus=N` on the command line (QEMU: -smp N): starts every AP, prints
 * "idle: N cpus halted" and then every CPU sleeps in `sti; hlt` for ever, with the PIC fully
 * masked and the local APIC timer masked, so nothing should wake them. It never ends: the test
 * checks from outside that the host really idles, then kills it. The BSP prints
 * "idle: cpu 0 woke up (N)" for its first wake-ups, which should never happen.
 * Bare QEMU: runs for ever at about 0% host CPU (not in the bare checks).
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("idle");

#define START_TIMEOUT_MS 1000
#define WAKES_REPORTED	 10

static volatile unsigned halting;
static volatile unsigned long wakes[SMP_MAX_CPUS];

static __attribute__((noreturn)) void idle_loop(unsigned cpu)
{
	for (;;) {
		__asm__ volatile("sti; hlt; cli" : : : "memory");
		wakes[cpu]++;
		if (cpu == 0 && wakes[0] <= WAKES_REPORTED)
			printf("idle: cpu 0 woke up (%lu)\n", wakes[0]);
	}
}

static void ap_idle(unsigned cpu)
{
	__atomic_add_fetch(&halting, 1, __ATOMIC_SEQ_CST);
	idle_loop(cpu);
}

void test_main(void)
{
	smp_init();
	smp_start(ap_idle);
	if (!smp_wait_for(&halting, smp_ncpus - 1, START_TIMEOUT_MS))
		fail_now(GUEST_FAIL, "only %u of %u APs reached the idle loop", halting, smp_ncpus - 1);
	printf("idle: %u cpus halted\n", smp_ncpus);
	idle_loop(0);
}
