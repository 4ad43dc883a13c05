// SPDX-License-Identifier: MIT
/*
 * CR2 and the debug registers DR0-DR3 and DR6 are per CPU, and neither VM entry nor VM exit
 * switches all of them: the hypervisor must, or one VM reads (and plants) another's page-fault
 * address and breakpoints. Two copies of this guest share one CPU (both pinned to it, with a short
 * scheduler slice), `role=writer` and `role=reader`, each for `ms=M` milliseconds (TSC,
 * calibrated against the PIT; default 500):
 *   writer: loops writing markers (bits 47:32 = 0x5a5a) into CR2 and DR0-DR3, and B0-B3 into DR6;
 *   reader: sets values of its own (bits 47:32 = 0x1111, new ones every round) and DR6 = its
 *           power-on value, then reads them back again and again: it must always see exactly
 *           what it wrote last, never a marker. It prints "reader: R rounds, C checks".
 * Both start by checking the power-on state: DR0-DR3 = 0, DR6 = 0xffff0ff0.
 * Bare QEMU: each role passes alone.
 */
#include "dreg.h"
#include "guest.h"
#include "smp.h"

GUEST_TEST("regs_isolation");

#define MARK	0x00005a5a00000000ul
#define OWN	0x0000111100000000ul
#define HIGH(v) ((v) >> 32)
/* MOVs to and from debug registers are slow in the emulators (Bochs ends its trace at each):
 * between them both roles run plain loops, still far shorter than a scheduler slice. */
#define SPIN	   200
#define READ_BATCH 64

static void spin(void)
{
	for (volatile unsigned i = 0; i < SPIN; i++)
		;
}

static bool arg_is(const char *want)
{
	size_t n = strlen(want);

	for (const char *p = boot.cmdline; *p; p++)
		if ((p == boot.cmdline || p[-1] == ' ') && !strncmp(p, want, n) && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

static void writer(uint64_t end)
{
	uint64_t n = 0;

	for (; rdtsc() < end; n++) {
		unsigned long m = MARK | ((n & 0xffff) << 8);

		write_cr2(m);
		for (unsigned r = 0; r < 4; r++)
			write_dr(r, m + r);
		write_dr(6, DR6_INIT | 0xf);
		spin();
	}
	printf("writer: %llu rounds\n", (unsigned long long)n);
}

/* The value read back from one register must be the one written: else fail, naming whose it is. */
static void expect(const char *reg, unsigned long got, unsigned long want, uint64_t round)
{
	if (got == want)
		return;
	fail_now(GUEST_FAIL, "%s is 0x%lx, not 0x%lx as written (round %llu)%s", reg, got, want,
		 (unsigned long long)round, HIGH(got) == HIGH(MARK) ? ": the writer VM's marker" : "");
}

static void reader(uint64_t end)
{
	static const char *const names[4] = { "DR0", "DR1", "DR2", "DR3" };
	uint64_t round = 0, checks = 0;

	while (rdtsc() < end) {
		unsigned long own = OWN | ((round & 0xffff) << 8), dr6;

		round++;
		write_cr2(own);
		for (unsigned r = 0; r < 4; r++)
			write_dr(r, own + r);
		write_dr(6, DR6_INIT);
		dr6 = read_dr(6);
		if (dr6 & 0xf)
			fail_now(GUEST_FAIL, "DR6 is 0x%lx right after writing 0x%lx: B0-B3 set by someone else", dr6,
				 DR6_INIT);
		for (unsigned i = 0; i < READ_BATCH; i++, checks++) {
			expect("CR2", read_cr2(), own, round);
			for (unsigned r = 0; r < 4; r++)
				expect(names[r], read_dr(r), own + r, round);
			expect("DR6", read_dr(6), dr6, round);
			spin();
		}
	}
	printf("reader: %llu rounds, %llu checks\n", (unsigned long long)round, (unsigned long long)checks);
}

void test_main(void)
{
	bool is_writer = arg_is("role=writer"), is_reader = arg_is("role=reader");
	uint64_t end;

	if (is_writer == is_reader)
		fail_now(GUEST_FAIL, "role=writer or role=reader expected on the command line");
	for (unsigned r = 0; r < 4; r++)
		CHECK(read_dr(r) == 0, "DR%u is 0x%lx at power-on, not 0", r, read_dr(r));
	CHECK(read_dr(6) == DR6_INIT, "DR6 is 0x%lx at power-on, not 0x%lx", read_dr(6), DR6_INIT);
	smp_init(); /* the TSC's rate */
	end = rdtsc() + tsc_per_ms * cmdline_ulong("ms", 500);
	if (is_writer)
		writer(end);
	else
		reader(end);
}
