// SPDX-License-Identifier: MIT
/*
 * Exit round-trip cost: the median TSC delta of many CPUID, unknown-hypercall and port-IN
 * round trips, minus the median of an empty RDTSC pair. Under QEMU with -icount shift=0 the TSC
 * counts emulated instructions (guest and hypervisor), so the numbers are instruction counts.
 * Prints "BENCH <what> <instructions>" lines; `make bench` turns them into a table.
 */
#include "guest.h"

GUEST_TEST("bench_exits");

#define SAMPLES		  501
#define UNKNOWN_HYPERCALL 0xffff
#define UNCLAIMED_PORT	  0x1234

static uint64_t samples[SAMPLES];

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static void sort(uint64_t *a, int n)
{
	for (int i = 1; i < n; i++) {
		uint64_t v = a[i];
		int j = i - 1;

		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static uint64_t median(void)
{
	sort(samples, SAMPLES);
	return samples[SAMPLES / 2];
}

static void op_empty(void)
{
}

static void op_cpuid(void)
{
	uint32_t a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

static void op_hypercall(void)
{
	(void)hypercall(UNKNOWN_HYPERCALL, 0, 0, 0);
}

static void op_port_in(void)
{
	(void)inb(UNCLAIMED_PORT);
}

static uint64_t measure(void (*op)(void))
{
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0 = tsc();

		op();
		samples[i] = tsc() - t0;
	}
	return median();
}

void test_main(void)
{
	uint64_t base = measure(op_empty);
	uint64_t cpuid = measure(op_cpuid), hc = measure(op_hypercall), in = measure(op_port_in);

	printf("BENCH baseline %lu\n", (unsigned long)base);
	printf("BENCH cpuid %lu\n", (unsigned long)(cpuid - base));
	printf("BENCH hypercall %lu\n", (unsigned long)(hc - base));
	printf("BENCH port_in %lu\n", (unsigned long)(in - base));
	CHECK(cpuid > base && hc > base && in > base, "an exit cost less than an empty measurement");
}
