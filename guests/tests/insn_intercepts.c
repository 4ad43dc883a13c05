// SPDX-License-Identifier: MIT
/*
 * Instructions that reach state other VMs share (issue 11 item 4), each as CPUID says:
 *   - MONITOR/MWAIT (and AMD's MONITORX/MWAITX) and RDPRU are hidden in CPUID and raise #UD;
 *   - RDPMC raises #GP(0): there is no virtual PMU (CPUID leaf 0xA is zero);
 *   - WBINVD and WBNOINVD run (the hypervisor intercepts them and does nothing; the test on the
 *     host side counts the exits: "wbinvd=2");
 *   - RDTSCP and RDPID raise #UD where CPUID hides them; where CPUID offers them IA32_TSC_AUX is
 *     the guest's own: it writes `aux=V` (default 0x5a17) and, for `ms=M` milliseconds (default:
 *     once), RDTSCP, RDPID and RDMSR must read back V, never another VM's value. Two copies with
 *     different values pinned to one CPU check that the value is per vCPU. It prints
 *     "tsc_aux: N checks".
 * Bare QEMU (EPYC): FAILS, CPUID offers MONITOR/MWAIT (and QEMU's RDPMC raises #UD).
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("insn_intercepts");

#define CPUID1_ECX_MONITOR	   (1u << 3)
#define CPUID7_ECX_RDPID	   (1u << 22)
#define CPUID80000001_ECX_MONITORX (1u << 29)
#define CPUID80000001_EDX_RDTSCP   (1u << 27)
#define CPUID80000008_EBX_RDPRU	   (1u << 4)
#define MSR_TSC_AUX		   0xc0000103u

static int monitor_line[16] __attribute__((aligned(64)));

/* Runs one instruction of `len` bytes with the handler armed (`vector` is the one expected, -1
 * for none); returns the vector taken or -1. */
#define TRY(vector, len, insn, ...)                   \
	({                                            \
		expect_exception((vector), (len));    \
		__asm__ volatile(insn : __VA_ARGS__); \
		exception_taken();                    \
	})

static void expect_ud(const char *name, int v)
{
	CHECK(v == VEC_UD, "%s raised %s, expected #UD (CPUID hides it)", name, vector_name(v));
}

static void monitor_mwait(void)
{
	bool monitor = cpuid(1, 0).ecx & CPUID1_ECX_MONITOR, monitorx = false;
	int v;

	CHECK(!monitor, "CPUID.1:ECX[3] (MONITOR/MWAIT) is visible");
	if (cpuid(0x80000000, 0).eax >= 0x80000001)
		monitorx = cpuid(0x80000001, 0).ecx & CPUID80000001_ECX_MONITORX;
	CHECK(!monitorx, "CPUID.80000001:ECX[29] (MONITORX/MWAITX) is visible");
	/* Where CPUID offers them, MWAIT could stop this CPU for good (interrupts are off): skip. */
	if (!monitor) {
		v = TRY(VEC_UD, 3, ".byte 0x0f, 0x01, 0xc8",
			: "a"(monitor_line), "c"(0), "d"(0)
			: "memory"); /* MONITOR */
		expect_ud("MONITOR", v);
		v = TRY(VEC_UD, 3, ".byte 0x0f, 0x01, 0xc9", : "a"(0), "c"(0) : "memory"); /* MWAIT */
		expect_ud("MWAIT", v);
	}
	if (!monitorx) {
		v = TRY(VEC_UD, 3, ".byte 0x0f, 0x01, 0xfa",
			: "a"(monitor_line), "c"(0), "d"(0)
			: "memory"); /* MONITORX */
		expect_ud("MONITORX", v);
		v = TRY(VEC_UD, 3, ".byte 0x0f, 0x01, 0xfb", : "a"(0), "b"(0), "c"(0) : "memory"); /* MWAITX */
		expect_ud("MWAITX", v);
	}
}

static void rdpru(void)
{
	uint32_t lo, hi;
	int v;

	if (cpuid(0x80000000, 0).eax >= 0x80000008 && (cpuid(0x80000008, 0).ebx & CPUID80000008_EBX_RDPRU)) {
		fail("CPUID.80000008:EBX[4] (RDPRU) is visible");
		return;
	}
	v = TRY(VEC_UD, 3, ".byte 0x0f, 0x01, 0xfd", "=a"(lo), "=d"(hi) : "c"(0) : "memory"); /* RDPRU MPERF */
	expect_ud("RDPRU", v);
}

static void rdpmc(void)
{
	uint32_t lo = 0, hi = 0;
	int v = TRY(VEC_GP, 2, "rdpmc", "=a"(lo), "=d"(hi) : "c"(0) : "memory");

	CHECK(v == VEC_GP, "RDPMC raised %s (read 0x%x%08x), expected #GP: there is no PMU", vector_name(v), hi, lo);
	CHECK(v < 0 || last_exc.error_code == 0, "RDPMC's #GP has error code 0x%lx, expected 0", last_exc.error_code);
}

static void wbinvd(void)
{
	int v = TRY(-1, 2, "wbinvd", : : "memory");

	CHECK(v < 0, "WBINVD raised %s", vector_name(v));
	v = TRY(-1, 3, ".byte 0xf3, 0x0f, 0x09", : : "memory"); /* WBNOINVD (WBINVD where it is not known) */
	CHECK(v < 0, "WBNOINVD raised %s", vector_name(v));
}

/* `expect`: the vector CPUID says it raises (#UD when hidden), -1 for none. */
static uint32_t read_rdtscp(int expect, int *v)
{
	uint32_t lo, hi, aux = 0;

	*v = TRY(expect, 3, "rdtscp", "=a"(lo), "=d"(hi), "+c"(aux) : : "memory");
	return aux;
}

static uint64_t read_rdpid(int expect, int *v)
{
	uint64_t id = 0;

	*v = TRY(expect, 4, ".byte 0xf3, 0x0f, 0xc7, 0xf8", "+a"(id) : : "memory"); /* RDPID RAX */
	return id;
}

static void tsc_aux(void)
{
	bool has_rdtscp =
	    cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_RDTSCP);
	bool has_rdpid = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & CPUID7_ECX_RDPID);
	uint64_t want = cmdline_ulong("aux", 0x5a17), got, end, checks = 0;
	int v;

	printf("CPUID offers RDTSCP: %s, RDPID: %s\n", has_rdtscp ? "yes" : "no", has_rdpid ? "yes" : "no");
	if (!has_rdtscp) {
		got = read_rdtscp(VEC_UD, &v);
		CHECK(v == VEC_UD, "RDTSCP raised %s (read TSC_AUX 0x%llx), expected #UD (CPUID hides it)",
		      vector_name(v), (unsigned long long)got);
	}
	if (!has_rdpid) {
		got = read_rdpid(VEC_UD, &v);
		CHECK(v == VEC_UD, "RDPID raised %s (read 0x%llx), expected #UD (CPUID hides it)", vector_name(v),
		      (unsigned long long)got);
	}
	if (!has_rdtscp && !has_rdpid) {
		CHECK(rdmsr_safe(MSR_TSC_AUX, &got) == VEC_GP, "IA32_TSC_AUX is readable without RDTSCP or RDPID");
		return;
	}
	v = wrmsr_safe(MSR_TSC_AUX, want);
	if (v >= 0)
		fail_now(GUEST_FAIL, "WRMSR IA32_TSC_AUX raised %s although CPUID offers RDTSCP/RDPID", vector_name(v));
	smp_init(); /* the TSC's rate */
	end = rdtsc() + tsc_per_ms * cmdline_ulong("ms", 0);
	do {
		for (unsigned i = 0; i < 64; i++, checks++) {
			if (has_rdtscp) {
				got = read_rdtscp(-1, &v);
				if (v >= 0 || got != want)
					fail_now(GUEST_FAIL, "RDTSCP read TSC_AUX 0x%llx (%s), not 0x%llx as written",
						 (unsigned long long)got, vector_name(v), (unsigned long long)want);
			}
			if (has_rdpid) {
				got = read_rdpid(-1, &v);
				if (v >= 0 || got != want)
					fail_now(GUEST_FAIL, "RDPID read 0x%llx (%s), not 0x%llx as written",
						 (unsigned long long)got, vector_name(v), (unsigned long long)want);
			}
		}
		if (rdmsr_safe(MSR_TSC_AUX, &got) >= 0 || got != want)
			fail_now(GUEST_FAIL, "RDMSR IA32_TSC_AUX read 0x%llx, not 0x%llx as written",
				 (unsigned long long)got, (unsigned long long)want);
	} while (rdtsc() < end);
	printf("tsc_aux: %llu checks\n", (unsigned long long)checks);
}

void test_main(void)
{
	monitor_mwait();
	rdpmc();
	rdpru();
	wbinvd();
	tsc_aux();
}
