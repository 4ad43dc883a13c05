// SPDX-License-Identifier: MIT
/*
 * The x87/SSE/AVX registers and the MSRs a guest reads and writes without an exit (FS_BASE,
 * GS_BASE, KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK, SYSENTER_CS/ESP/EIP) are per CPU, and the
 * hypervisor must switch them: else a VM sharing a CPU with another, or a vCPU moved to another
 * CPU, reads someone else's values. Several copies of this guest run at once, each with its own
 * `pat=P` (1-255), for `ms=M` milliseconds (TSC, calibrated against the PIT; default 500):
 *   it enables what the CPU offers (CR0.MP, CR4.OSFXSR/OSXMMEXCPT, and with XSAVE CR4.OSXSAVE and
 *   XCR0 = x87|SSE|AVX as CPUID says), then round after round loads its own values, which carry P
 *   in their top byte and the round number, into FCW, FSW, the tags, ST0-ST7, MXCSR, XMM0-15, the
 *   upper halves of YMM0-15 and the MSRs, and reads them all back again and again (XSAVE into a
 *   cleared area, RDMSR, XGETBV), spinning in between so that the scheduler preempts it. Any
 *   difference fails, naming the register, the value and whose it is. With `hlt_us=N` it also
 *   halts after each round until its local APIC timer (N us at 1 GHz) wakes it, so that its vCPU
 *   blocks and wakes, possibly on another CPU. The timer is periodic, stopped after each wake-up:
 *   under Keel on QEMU 7.2's TCG the interrupt is sometimes injected between STI and HLT (after a
 *   VINTR exit whose VMCB shows no STI shadow), so it returns to the HLT, and with a one-shot timer
 *   the guest would stay halted for good (a hang, not this test's point).
 * It prints "state_isolation: R rounds, C checks" at the end.
 * Bare QEMU: passes alone.
 */
#include "guest.h"
#include "smp.h"
#include "xstate.h"

GUEST_TEST("state_isolation");

#define BATCH	       16
#define SPIN	       200
#define TIMER_VECTOR   SMP_VECTOR_FIRST
#define TIMER_DIV_BY_1 0xb
#define TIMER_PER_US   1000	  /* Keel's and QEMU's local APIC timers count at 1 GHz */
#define TIMER_PERIODIC (1u << 17) /* LVT timer mode (SDM vol. 3A §11.5.4) */

/* Canonical in the lower half (bits 63:47 zero), as WRMSR wants the bases and entry points. */
#define ADDR_HIGH 0x00007f0000000000ull

static const struct {
	uint32_t msr;
	const char *name;
	int kind; /* 0: a 64-bit address, 1: any 64 bits, 2: 32 bits, 3: 16 bits */
} msrs[] = {
	{ 0xc0000100, "FS_BASE", 0 }, { 0xc0000101, "GS_BASE", 0 }, { 0xc0000102, "KERNEL_GS_BASE", 0 },
	{ 0xc0000081, "STAR", 1 },    { 0xc0000082, "LSTAR", 0 },   { 0xc0000083, "CSTAR", 0 },
	{ 0xc0000084, "SFMASK", 2 },  { 0x174, "SYSENTER_CS", 3 },  { 0x175, "SYSENTER_ESP", 2 },
	{ 0x176, "SYSENTER_EIP", 2 },
};
#define NR_MSRS (sizeof(msrs) / sizeof(msrs[0]))

static uint8_t image[4096] __attribute__((aligned(64))); /* what each round loads */
static uint8_t back[4096] __attribute__((aligned(64)));	 /* what XSAVE/FXSAVE reads back */
static bool use_xsave;
static uint64_t xcr0;
static unsigned size, avx_off;
static unsigned long pat;

static void spin(void)
{
	for (volatile unsigned i = 0; i < SPIN; i++)
		;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* The value of register word `idx` in round `round`: P in the top byte, then the round. */
static uint64_t word(uint64_t round, unsigned idx)
{
	return (uint64_t)pat << 56 | (round & 0xffffff) << 32 | 0x5a000000u | idx;
}

static uint64_t msr_value(uint64_t round, unsigned i)
{
	uint64_t r = round & 0xfffff;

	switch (msrs[i].kind) {
	case 0:
		return ADDR_HIGH | (uint64_t)pat << 32 | (uint64_t)i << 24 | r;
	case 1:
		return word(round, i);
	case 2:
		return (uint64_t)pat << 24 | (uint64_t)i << 20 | r;
	default:
		return pat << 8 | (round & 0xff);
	}
}

static void enable(void)
{
	struct cpuid_regs c = cpuid(1, 0);

	if (!(c.edx & CPUID1_EDX_FXSR) || !(c.edx & CPUID1_EDX_SSE))
		fail_now(GUEST_FAIL, "CPUID offers no FXSR/SSE: nothing to check");
	write_cr0((read_cr0() | CR0_MP) & ~(CR0_EM | CR0_TS));
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	size = FX_SIZE;
	xcr0 = XCR0_X87 | XCR0_SSE;
	if ((c.ecx & CPUID1_ECX_XSAVE) && cpuid(0, 0).eax >= 0xd) {
		uint64_t offered = cpuid(0xd, 0).eax;

		use_xsave = true;
		write_cr4(read_cr4() | CR4_OSXSAVE);
		if ((c.ecx & CPUID1_ECX_AVX) && (offered & XCR0_AVX)) {
			xcr0 |= XCR0_AVX;
			avx_off = cpuid(0xd, 2).ebx;
		}
		xsetbv(0, xcr0);
		size = cpuid(0xd, 0).ebx; /* for the components XCR0 now enables */
		CHECK(size <= sizeof(back) && (!avx_off || avx_off + 256 <= size), "XSAVE area of %u bytes, AVX at %u",
		      size, avx_off);
	}
	printf("%s: pat %lu, %s, XCR0 0x%llx (x87 SSE%s), %u MSRs\n", test_name, pat, use_xsave ? "XSAVE" : "FXSAVE",
	       (unsigned long long)xcr0, avx_off ? " AVX" : "", (unsigned)NR_MSRS);
}

static uint32_t mxcsr_value(uint64_t round)
{
	/* Every exception masked, flags clear; rounding control and FTZ differ with P and the round. */
	return 0x1f80u | (uint32_t)((pat ^ round) & 3) << 13 | (uint32_t)(pat & 1) << 15;
}

static uint16_t fcw_value(uint64_t round)
{
	/* Every exception masked; precision and rounding control differ with P and the round. */
	return (uint16_t)(0x007f | ((pat ^ round) & 3) << 8 | ((pat >> 1) & 3) << 10);
}

static void load(uint64_t round)
{
	memset(image, 0, size);
	put64(image + FX_FCW, fcw_value(round)); /* FSW = 0: TOP 0, no exceptions */
	image[FX_FTW] = 0xff;			 /* all eight registers valid */
	put64(image + FX_MXCSR, mxcsr_value(round));
	for (unsigned i = 0; i < 8; i++) {
		/* A normal extended-precision number: integer bit set, a real exponent. */
		put64(image + FX_ST(i), word(round, 0x100 + i) | 1ull << 63);
		image[FX_ST(i) + 8] = (uint8_t)(0x3f00 + i);
		image[FX_ST(i) + 9] = 0x40;
	}
	for (unsigned i = 0; i < 16; i++) {
		put64(image + FX_XMM(i), word(round, 0x200 + 2 * i));
		put64(image + FX_XMM(i) + 8, word(round, 0x201 + 2 * i));
		if (avx_off) {
			put64(image + avx_off + 16 * i, word(round, 0x300 + 2 * i));
			put64(image + avx_off + 16 * i + 8, word(round, 0x301 + 2 * i));
		}
	}
	if (use_xsave) {
		put64(image + XS_BV, xcr0);
		xrstor(image, xcr0);
	} else {
		fxrstor(image);
	}
	for (unsigned i = 0; i < NR_MSRS; i++)
		wrmsr(msrs[i].msr, msr_value(round, i));
}

/* One register's bytes read back must be what was loaded: else fail with the first 8 that differ. */
static void expect(const char *reg, unsigned off, unsigned len, uint64_t round)
{
	uint64_t got = 0, want = 0;
	unsigned from = 0;

	if (!memcmp(back + off, image + off, len))
		return;
	if (len > 8 && !memcmp(back + off, image + off, 8))
		from = 8;
	memcpy(&got, back + off + from, len - from < 8 ? len - from : 8);
	memcpy(&want, image + off + from, len - from < 8 ? len - from : 8);
	fail_now(GUEST_FAIL, "%s%s is 0x%llx, not 0x%llx as loaded (round %llu)", reg, from ? " bits 127:64" : "",
		 (unsigned long long)got, (unsigned long long)want, (unsigned long long)round);
}

static void check(uint64_t round)
{
	static const char *const st[8] = { "ST0", "ST1", "ST2", "ST3", "ST4", "ST5", "ST6", "ST7" };
	char name[16];
	uint64_t v;

	memset(back, 0, size);
	if (use_xsave) {
		v = xgetbv(0);
		if (v != xcr0)
			fail_now(GUEST_FAIL, "XCR0 is 0x%llx, not 0x%llx as set", (unsigned long long)v,
				 (unsigned long long)xcr0);
		xsave(back, xcr0);
		memcpy(&v, back + XS_BV, 8);
		if ((v & xcr0) != xcr0)
			fail_now(GUEST_FAIL, "XSTATE_BV is 0x%llx: components in their initial state (round %llu)",
				 (unsigned long long)v, (unsigned long long)round);
	} else {
		fxsave(back);
	}
	expect("FCW", FX_FCW, 2, round);
	expect("FSW", FX_FSW, 2, round);
	expect("FTW", FX_FTW, 1, round);
	expect("MXCSR", FX_MXCSR, 4, round);
	for (unsigned i = 0; i < 8; i++)
		expect(st[i], FX_ST(i), 10, round);
	for (unsigned i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "XMM%u", i);
		expect(name, FX_XMM(i), 16, round);
		if (avx_off) {
			snprintf(name, sizeof(name), "YMM%u_H", i);
			expect(name, avx_off + 16 * i, 16, round);
		}
	}
	for (unsigned i = 0; i < NR_MSRS; i++) {
		uint64_t want = msr_value(round, i);

		v = rdmsr(msrs[i].msr);
		if (v != want)
			fail_now(GUEST_FAIL, "%s is 0x%llx, not 0x%llx as written (round %llu)", msrs[i].name,
				 (unsigned long long)v, (unsigned long long)want, (unsigned long long)round);
	}
}

static volatile unsigned long wakes;

static void timer_fired(unsigned cpu, unsigned vector)
{
	wakes++;
}

/* Halts until the local APIC timer, started for a period of `us`, fires; then stops it. */
static void halt_for(unsigned long us)
{
	unsigned long before = wakes;

	lapic_write(LAPIC_TIMER_INIT, (uint32_t)(us * TIMER_PER_US));
	while (wakes == before)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	lapic_write(LAPIC_TIMER_INIT, 0);
}

void test_main(void)
{
	uint64_t end, round = 0, checks = 0;
	unsigned long hlt_us = cmdline_ulong("hlt_us", 0);

	pat = cmdline_ulong("pat", 1);
	if (!pat || pat > 0xff)
		fail_now(GUEST_FAIL, "pat=%lu: 1-255 expected", pat);
	enable();
	smp_init(); /* the TSC's rate */
	if (hlt_us) {
		smp_set_handler(TIMER_VECTOR, timer_fired);
		lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_BY_1);
		lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | TIMER_PERIODIC);
	}
	end = rdtsc() + tsc_per_ms * cmdline_ulong("ms", 500);
	while (rdtsc() < end) {
		round++;
		load(round);
		for (unsigned i = 0; i < BATCH; i++, checks++) {
			check(round);
			spin();
		}
		if (hlt_us) {
			halt_for(hlt_us);
			check(round); /* right after the wake-up, as well */
		}
	}
	printf("%s: %llu rounds, %llu checks, %lu wake-ups\n", test_name, (unsigned long long)round,
	       (unsigned long long)checks, wakes);
}
