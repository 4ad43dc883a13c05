// SPDX-License-Identifier: MIT
/*
 * CPU hogs for scheduler tests, `cpus=N [seconds=S | ms=M] [report=1]` on the command line (QEMU:
 * -smp N).
 * Starts every AP, prints "spin: N cpus spinning", then every CPU, the BSP included, increments its
 * own counter in a tight loop. Without seconds=S it never ends (the test measures CPU shares from
 * outside and kills it) and prints nothing more, unless report=1: then the BSP prints
 * "spin: T s: c0 c1 ..." (the counters) every second.
 * With seconds=S the BSP stops everyone after S seconds (TSC, calibrated against the PIT), prints
 * "spin: cpu K: C iterations" per CPU and passes if every CPU counted; ms=M is the same in
 * milliseconds (for slow emulators). tsc=1 also has every CPU check, at each iteration, that the TSC
 * it reads is not behind the latest value any CPU has seen (one TSC for the whole machine, even
 * as vCPUs move between physical CPUs); the BSP prints "spin: TSC monotonic across cpus (N
 * reads)" or fails.
 * Bare QEMU: PASSES with -smp N, cpus=N seconds=S.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("spin");

#define STOP_TIMEOUT_MS 1000
#define BSP_BATCH	4096 /* iterations between two looks at the TSC */

struct counter {
	volatile uint64_t n;
	volatile unsigned stopped;
} __attribute__((aligned(64)));

static struct counter counters[SMP_MAX_CPUS];
static volatile unsigned started, stopped, stop;
static bool check_tsc;
static uint64_t last_tsc, tsc_behind, tsc_worst;

/* The TSC read after loading the latest value any CPU published must not be below it. */
static void tsc_step(void)
{
	uint64_t seen = __atomic_load_n(&last_tsc, __ATOMIC_ACQUIRE);
	uint64_t t;

	__asm__ volatile("lfence" ::: "memory");
	t = rdtsc();
	if (t < seen) {
		__atomic_add_fetch(&tsc_behind, 1, __ATOMIC_RELAXED);
		if (seen - t > __atomic_load_n(&tsc_worst, __ATOMIC_RELAXED))
			__atomic_store_n(&tsc_worst, seen - t, __ATOMIC_RELAXED);
		return;
	}
	while (t > seen && !__atomic_compare_exchange_n(&last_tsc, &seen, t, false, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
}

static void ap_spin(unsigned cpu)
{
	struct counter *c = &counters[cpu];
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	while (!stop) {
		c->n++;
		if (check_tsc)
			tsc_step();
	}
	__atomic_add_fetch(&stopped, 1, __ATOMIC_SEQ_CST);
}

static void print_counters(uint64_t secs)
{
	printf("spin: %llu s:", (unsigned long long)secs);
	for (unsigned k = 0; k < smp_ncpus; k++)
		printf(" %llu", (unsigned long long)counters[k].n);
	printf("\n");
}

void test_main(void)
{
	smp_init();
	unsigned long seconds = cmdline_ulong("seconds", 0);
	unsigned long ms = cmdline_ulong("ms", 0);
	bool report = cmdline_ulong("report", 0);
	unsigned n = smp_ncpus;
	check_tsc = cmdline_ulong("tsc", 0);
	smp_start(ap_spin);
	if (!smp_wait_for(&started, n - 1, STOP_TIMEOUT_MS))
		fail_now(GUEST_FAIL, "only %u of %u APs reached the spin loop", started, n - 1);
	if (seconds)
		printf("spin: %u cpus spinning for %lu s\n", n, seconds);
	else if (ms)
		printf("spin: %u cpus spinning for %lu ms\n", n, ms);
	else
		printf("spin: %u cpus spinning\n", n);

	uint64_t second = tsc_per_ms * 1000, secs = 0;
	uint64_t next = rdtsc() + second, end = rdtsc() + tsc_per_ms * ms;
	for (;;) {
		for (unsigned i = 0; i < BSP_BATCH; i++) {
			counters[0].n++;
			if (check_tsc)
				tsc_step();
		}
		if (ms && rdtsc() >= end)
			break;
		if (rdtsc() < next)
			continue;
		next += second;
		secs++;
		if (report)
			print_counters(secs);
		if (seconds && secs >= seconds)
			break;
	}
	stop = 1;
	if (!smp_wait_for(&stopped, n - 1, STOP_TIMEOUT_MS))
		fail("only %u of %u APs left the spin loop", stopped, n - 1);
	for (unsigned k = 0; k < n; k++) {
		printf("spin: cpu %u: %llu iterations\n", k, (unsigned long long)counters[k].n);
		CHECK(counters[k].n > 0, "cpu %u never ran", k);
	}
	if (check_tsc) {
		uint64_t reads = 0;

		for (unsigned k = 0; k < n; k++)
			reads += counters[k].n;
		CHECK(!tsc_behind, "the TSC went backwards %llu times (by up to %llu cycles)",
		      (unsigned long long)tsc_behind, (unsigned long long)tsc_worst);
		if (!tsc_behind)
			printf("spin: TSC monotonic across cpus (%llu reads)\n", (unsigned long long)reads);
	}
}
