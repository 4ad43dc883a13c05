// SPDX-License-Identifier: MIT
/*
 * MSR policy: MSRs off the allow-list raise #GP (an unknown one, and SVM's VM_HSAVE_PA), EFER is
 * readable but EFER.SVME can neither be seen nor set, and the TSC counts. MSRs every CPU of the
 * vendor has, with no CPUID bit, that guests touch unguarded (issue 13 item 1): on AMD the legacy
 * performance counters 0xc0010000-0xc0010007 read 0 and ignore writes (no virtual PMU), on Intel
 * they raise #GP; the microcode revision (0x8b) reads 0 on both. The counter extensions (CPUID
 * 8000_0001.ECX[23], [24], [28]) are hidden and their MSRs raise #GP.
 * Bare QEMU: FAILS (TCG reads unknown MSRs as 0, and the guest owns SVM there).
 */
#include "guest.h"

GUEST_TEST("msr_policy");

#define MSR_UNKNOWN	   0xc0010999u
#define MSR_K7_EVNTSEL0	   0xc0010000u
#define MSR_K7_EVNTSEL3	   0xc0010003u
#define MSR_K7_PERFCTR3	   0xc0010007u
#define MSR_F15H_PERF_CTL0 0xc0010200u
#define MSR_UCODE_REV	   0x8bu
#define CPUID_PERFCTR_EXT  ((1u << 23) | (1u << 24) | (1u << 28))

void test_main(void)
{
	uint64_t v = 0;
	int vec = rdmsr_safe(MSR_UNKNOWN, &v);
	CHECK(vec == VEC_GP, "rdmsr 0x%x (unknown): %s, expected #GP (read 0x%llx)", MSR_UNKNOWN, vector_name(vec),
	      (unsigned long long)v);
	vec = wrmsr_safe(MSR_UNKNOWN, 0);
	CHECK(vec == VEC_GP, "wrmsr 0x%x (unknown): %s, expected #GP", MSR_UNKNOWN, vector_name(vec));
	vec = rdmsr_safe(MSR_VM_HSAVE_PA, &v);
	CHECK(vec == VEC_GP, "rdmsr VM_HSAVE_PA: %s, expected #GP (SVM is hidden)", vector_name(vec));

	uint64_t efer = 0;
	vec = rdmsr_safe(MSR_EFER, &efer);
	if (vec >= 0) {
		fail("rdmsr EFER raised %s", vector_name(vec));
	} else {
		CHECK(!(efer & EFER_SVME), "EFER.SVME visible to the guest (EFER 0x%llx)", (unsigned long long)efer);
		vec = wrmsr_safe(MSR_EFER, efer | EFER_SVME);
		uint64_t after = 0;
		rdmsr_safe(MSR_EFER, &after);
		CHECK(vec == VEC_GP, "wrmsr EFER with SVME: %s, expected #GP (EFER now 0x%llx)", vector_name(vec),
		      (unsigned long long)after);
		if (after != efer)
			wrmsr_safe(MSR_EFER, efer);
	}

	/* "AuthenticAMD" / "HygonGenuine": EBX holds the first four characters. */
	uint32_t vendor = cpuid(0, 0).ebx;
	bool amd = vendor == 0x68747541 || vendor == 0x6f677948;

	for (uint32_t msr = MSR_K7_EVNTSEL0; msr <= MSR_K7_PERFCTR3; msr++) {
		v = 0x5a5a;
		vec = rdmsr_safe(msr, &v);
		if (amd)
			CHECK(vec < 0 && v == 0, "rdmsr 0x%x (AMD legacy perf counter): %s, read 0x%llx, expected 0",
			      msr, vector_name(vec), (unsigned long long)v);
		else
			CHECK(vec == VEC_GP, "rdmsr 0x%x on Intel: %s, expected #GP", msr, vector_name(vec));
		/* PERF_CTL: enable, count in both rings, event 0x76 (cycles); PERF_CTR: a count. */
		vec = wrmsr_safe(msr, msr <= MSR_K7_EVNTSEL3 ? 0x530076 : 0x1234);
		CHECK(amd ? vec < 0 : vec == VEC_GP, "wrmsr 0x%x: %s, expected %s", msr, vector_name(vec),
		      amd ? "no fault (ignored)" : "#GP");
		v = 0x5a5a;
		if (amd && rdmsr_safe(msr, &v) < 0)
			CHECK(v == 0, "rdmsr 0x%x after a write read 0x%llx, expected 0 (writes ignored)", msr,
			      (unsigned long long)v);
	}
	CHECK(!(cpuid(0x80000001, 0).ecx & CPUID_PERFCTR_EXT), "CPUID 8000_0001.ECX shows a counter extension (0x%x)",
	      cpuid(0x80000001, 0).ecx & CPUID_PERFCTR_EXT);
	vec = rdmsr_safe(MSR_F15H_PERF_CTL0, &v);
	CHECK(vec == VEC_GP, "rdmsr 0x%x (core counter extension, hidden): %s, expected #GP", MSR_F15H_PERF_CTL0,
	      vector_name(vec));
	v = 0x5a5a;
	vec = wrmsr_safe(MSR_UCODE_REV, 0);
	CHECK(vec < 0, "wrmsr 0x8b (microcode revision): %s, expected no fault", vector_name(vec));
	vec = rdmsr_safe(MSR_UCODE_REV, &v);
	CHECK(vec < 0 && v == 0, "rdmsr 0x8b (microcode revision): %s, read 0x%llx, expected 0", vector_name(vec),
	      (unsigned long long)v);

	uint64_t t0 = rdtsc(), t1 = rdtsc();
	CHECK(t1 > t0, "TSC did not advance: 0x%llx then 0x%llx", (unsigned long long)t0, (unsigned long long)t1);
}
