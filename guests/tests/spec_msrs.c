// SPDX-License-Identifier: MIT
/*
 * Speculation-control MSRs as CPUID describes them (issue 11 item 3): each one works where CPUID
 * offers it and raises #GP where it does not, never the host's MSR behind the guest's back.
 *   - IA32_SPEC_CTRL (0x48): where offered (Intel CPUID.7.EDX[26], AMD 8000_0008.EBX[14/15/24]),
 *     every bit CPUID shows (IBRS, STIBP, SSBD) reads back what was written, a reserved bit
 *     raises #GP and the value stays; otherwise reads and writes raise #GP.
 *   - IA32_PRED_CMD (0x49, IBPB): write-only where offered (Intel 7.EDX[26], AMD
 *     8000_0008.EBX[12]); #GP otherwise.
 *   - IA32_FLUSH_CMD (0x10B): write-only where 7.EDX[28] offers it.
 *   - IA32_ARCH_CAPABILITIES (0x10A): read-only where 7.EDX[29] offers it, and says
 *     SKIP_L1DFL_VMENTRY (the hypervisor flushes L1D for the guest's own guests).
 *   - CPUID hides the bits of MSRs nobody virtualizes: 7.EDX[9] SRBDS_CTRL, [30]
 *     CORE_CAPABILITIES; 8000_0008.EBX[25] VIRT_SSBD, [28] PSFD; 8000_0021.EAX[8] AutoIBRS.
 * It prints which MSRs CPUID offered ("offers: ..."). `hold=1` keeps every SPEC_CTRL bit it may set
 * for `ms=` milliseconds and checks it keeps reading them back (a second VM on the same CPU,
 * run with hold=0 ms=..., must keep reading 0: the value is per vCPU).
 * Bare QEMU (EPYC): FAILS, TCG reads MSRs it does not know as 0 instead of raising #GP.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("spec_msrs");

#define MSR_SPEC_CTRL	      0x48u
#define MSR_PRED_CMD	      0x49u
#define MSR_ARCH_CAPABILITIES 0x10au
#define MSR_FLUSH_CMD	      0x10bu

static bool bit(uint32_t reg, unsigned n)
{
	return (reg >> n) & 1;
}

static void expect_gp(const char *what, int vec)
{
	CHECK(vec == VEC_GP, "%s: %s, expected #GP (CPUID does not offer it)", what, vector_name(vec));
}

static void expect_ok(const char *what, int vec)
{
	CHECK(vec < 0, "%s raised %s (CPUID offers it)", what, vector_name(vec));
}

void test_main(void)
{
	struct cpuid_regs v = cpuid(0, 0), l7 = { 0 }, e8 = { 0 };
	uint32_t xmax = cpuid(0x80000000, 0).eax;
	bool amd = v.ebx == 0x68747541 || v.ebx == 0x6f677948; /* "Auth", "Hygo" */
	uint64_t val = 0, mask = 0, last = 0;

	if (v.eax >= 7)
		l7 = cpuid(7, 0);
	if (xmax >= 0x80000008)
		e8 = cpuid(0x80000008, 0);
	CHECK(!bit(l7.edx, 9) && !bit(l7.edx, 30), "CPUID.7.EDX shows SRBDS_CTRL or CORE_CAPABILITIES (0x%x)", l7.edx);
	CHECK(!bit(e8.ebx, 25) && !bit(e8.ebx, 28), "CPUID.80000008.EBX shows VIRT_SSBD or PSFD (0x%x)", e8.ebx);
	if (xmax >= 0x80000021)
		CHECK(!bit(cpuid(0x80000021, 0).eax, 8), "CPUID.80000021.EAX shows AutoIBRS");

	bool ibrs = amd ? bit(e8.ebx, 14) : bit(l7.edx, 26);
	bool stibp = amd ? bit(e8.ebx, 15) : bit(l7.edx, 27);
	bool ssbd = amd ? bit(e8.ebx, 24) : bit(l7.edx, 31);
	bool ibpb = amd ? bit(e8.ebx, 12) : bit(l7.edx, 26);
	bool spec_ctrl = ibrs || stibp || ssbd || (!amd && bit(l7.edx, 26));
	bool flush = bit(l7.edx, 28), arch_cap = bit(l7.edx, 29);

	printf("offers:%s%s%s%s%s%s\n", spec_ctrl ? " SPEC_CTRL" : "", ibrs ? "(IBRS)" : "", stibp ? "(STIBP)" : "",
	       ssbd ? "(SSBD)" : "", ibpb ? " PRED_CMD" : "", flush ? " FLUSH_CMD" : "");
	if (arch_cap)
		printf("offers: ARCH_CAPABILITIES\n");

	mask = (ibrs ? 1u : 0) | (stibp ? 2u : 0) | (ssbd ? 4u : 0);
	if (spec_ctrl) {
		expect_ok("rdmsr SPEC_CTRL", rdmsr_safe(MSR_SPEC_CTRL, &val));
		CHECK(val == 0, "SPEC_CTRL reads 0x%llx at start, expected 0", (unsigned long long)val);
		for (unsigned b = 0; b < 3; b++) {
			if (!(mask & (1u << b)))
				continue;
			expect_ok("wrmsr SPEC_CTRL", wrmsr_safe(MSR_SPEC_CTRL, 1u << b));
			rdmsr_safe(MSR_SPEC_CTRL, &val);
			CHECK(val == (1u << b), "SPEC_CTRL bit %u: wrote it, read 0x%llx", b, (unsigned long long)val);
			last = 1u << b;
		}
		expect_gp("wrmsr SPEC_CTRL with bit 63", wrmsr_safe(MSR_SPEC_CTRL, 1ull << 63));
		rdmsr_safe(MSR_SPEC_CTRL, &val);
		CHECK(val == last, "SPEC_CTRL is 0x%llx after a refused write, was 0x%llx", (unsigned long long)val,
		      (unsigned long long)last);
		wrmsr_safe(MSR_SPEC_CTRL, 0);
	} else {
		expect_gp("rdmsr SPEC_CTRL", rdmsr_safe(MSR_SPEC_CTRL, &val));
		expect_gp("wrmsr SPEC_CTRL", wrmsr_safe(MSR_SPEC_CTRL, 0));
	}

	if (ibpb) {
		expect_ok("wrmsr PRED_CMD (IBPB)", wrmsr_safe(MSR_PRED_CMD, 1));
		expect_gp("wrmsr PRED_CMD with bit 1", wrmsr_safe(MSR_PRED_CMD, 2));
		expect_gp("rdmsr PRED_CMD (write-only)", rdmsr_safe(MSR_PRED_CMD, &val));
	} else {
		expect_gp("wrmsr PRED_CMD", wrmsr_safe(MSR_PRED_CMD, 1));
	}
	if (flush)
		expect_ok("wrmsr FLUSH_CMD", wrmsr_safe(MSR_FLUSH_CMD, 1));
	else
		expect_gp("wrmsr FLUSH_CMD", wrmsr_safe(MSR_FLUSH_CMD, 1));
	if (arch_cap) {
		expect_ok("rdmsr ARCH_CAPABILITIES", rdmsr_safe(MSR_ARCH_CAPABILITIES, &val));
		CHECK(val & 8, "ARCH_CAPABILITIES 0x%llx lacks SKIP_L1DFL_VMENTRY", (unsigned long long)val);
		expect_gp("wrmsr ARCH_CAPABILITIES", wrmsr_safe(MSR_ARCH_CAPABILITIES, val));
	} else {
		expect_gp("rdmsr ARCH_CAPABILITIES", rdmsr_safe(MSR_ARCH_CAPABILITIES, &val));
	}

	/* Per vCPU: hold every bit it may set, or keep reading 0, for ms= milliseconds. */
	unsigned long ms = cmdline_ulong("ms", 0), checks = 0;
	uint64_t want = cmdline_ulong("hold", 0) ? mask : 0;

	if (spec_ctrl && ms) {
		uint64_t end;

		smp_init(); /* the TSC's rate */
		end = rdtsc() + tsc_per_ms * ms;

		wrmsr_safe(MSR_SPEC_CTRL, want);
		while (rdtsc() < end) {
			rdmsr_safe(MSR_SPEC_CTRL, &val);
			checks++;
			if (val != want) {
				fail("SPEC_CTRL read 0x%llx, this vCPU wrote 0x%llx", (unsigned long long)val,
				     (unsigned long long)want);
				break;
			}
		}
		printf("spec_ctrl: %lu checks\n", checks);
	}
}
