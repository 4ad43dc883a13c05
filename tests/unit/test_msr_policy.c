/* SPDX-License-Identifier: MIT */
/*
 * The MSR policy (vmm/exit_msr.c) for RDMSR and WRMSR exits on an AMD and an Intel host: which
 * MSRs read what, which writes are kept, ignored or refused with #GP, and where the vendors
 * differ (issue 13 item 13: the policies at unit level). The speculation-control masks come from
 * the real arch/x86/spec_policy.c; the host's RDTSC and WRMSR are scripted (fake_msr.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/regs.h"
#include "arch/x86/spec.h"
#include "vmm/exit.h"
#include "vmm/platform.h"
#include "vmm/vm.h"

bool vcpu_tsc_aux;
struct spec_cpu spec_cpu_info; /* the host, set by each test */

/* The host: a counter for RDTSC, and the last WRMSR Keel did on it. */
static u64 host_tsc;
static int host_wrmsrs;
static u32 host_wrmsr_index;
static u64 host_wrmsr_val;

u64 fake_rdtsc(void)
{
	return host_tsc;
}

void fake_wrmsr(u32 msr, u64 val)
{
	host_wrmsrs++;
	host_wrmsr_index = msr;
	host_wrmsr_val = val;
}

/* The vCPU's backend: its EFER, and the exceptions and RIP skips the policy asks for. */
static u64 guest_efer;
static int injected, skips;
static u8 injected_vector;
static u8 skipped_opcode;

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	assert_int_equal(r, VREG_EFER);
	return guest_efer;
}

static void fake_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	assert_int_equal(r, VREG_EFER);
	guest_efer = val;
}

static void fake_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	injected++;
	injected_vector = vector;
	assert_true(has_error);
	assert_int_equal(error, 0);
}

static const struct vcpu_ops fake_ops = { .name = "fake", .get = fake_get, .set = fake_set, .inject = fake_inject };
const struct vcpu_ops *vcpu_ops = &fake_ops;

bool skip_insn_decode(struct vcpu *v, const struct vm_exit *e, const u8 *opcode, unsigned len)
{
	assert_int_equal(len, 2);
	assert_int_equal(opcode[0], 0x0f);
	skips++;
	skipped_opcode = opcode[1];
	return true;
}

/* The virtual local APIC: answers 0x1234 for each MSR of its range, refuses x2APIC 0x80f. */
#define LAPIC_REFUSED 0x80f
static int lapic_calls;

int platform_lapic_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	lapic_calls++;
	if (msr == LAPIC_REFUSED)
		return -1;
	if (!write)
		*val = 0x1234;
	return 0;
}

static struct vm vm = { .tsc_offset = 500 };
static struct vcpu vcpu = { .vm = &vm };

#define POISON 0xdeadbeefcafef00dull

/* One RDMSR with `junk` in EDX:EAX beforehand: true and *val when the guest reads a value (RIP
 * past the RDMSR, EDX:EAX set), false when it takes #GP (RIP and EDX:EAX untouched). */
static bool rd_once(u32 msr, u64 junk, u64 *val)
{
	struct vm_exit e = { .reason = EXIT_MSR_READ, .msr.index = msr };
	int inj = injected, sk = skips;

	vcpu.gprs.rax = vcpu.gprs.rdx = junk;
	handle_msr(&vcpu, &e);
	if (injected != inj) {
		assert_int_equal(injected_vector, EXC_GP);
		assert_int_equal(skips, sk);
		assert_true(vcpu.gprs.rax == junk && vcpu.gprs.rdx == junk);
		return false;
	}
	assert_int_equal(skips, sk + 1);
	assert_int_equal(skipped_opcode, 0x32);
	assert_true(vcpu.gprs.rax >> 32 == 0 && vcpu.gprs.rdx >> 32 == 0);
	*val = vcpu.gprs.rdx << 32 | vcpu.gprs.rax;
	return true;
}

/* The same RDMSR twice, with EDX:EAX 0 and then junk: what the guest had there must not matter. */
static bool rd(u32 msr, u64 *val)
{
	u64 first = 0;
	bool ok = rd_once(msr, 0, &first);

	assert_int_equal(rd_once(msr, POISON, val), ok);
	if (ok)
		assert_int_equal(*val, first);
	return ok;
}

/* One WRMSR of EDX:EAX = val (with junk in the upper halves, which WRMSR ignores): true when it
 * completes, false when the guest takes #GP. */
static bool wr(u32 msr, u64 val)
{
	struct vm_exit e = { .reason = EXIT_MSR_WRITE, .msr.index = msr };
	int inj = injected, sk = skips;

	vcpu.gprs.rax = 0xffffffff00000000ull | (u32)val;
	vcpu.gprs.rdx = 0xffffffff00000000ull | val >> 32;
	handle_msr(&vcpu, &e);
	if (injected != inj) {
		assert_int_equal(injected_vector, EXC_GP);
		assert_int_equal(skips, sk);
		return false;
	}
	assert_int_equal(skips, sk + 1);
	assert_int_equal(skipped_opcode, 0x30);
	return true;
}

/* Reads 0 and ignores writes: nothing reaches the host's MSR. */
static void assert_reads_0_ignores_writes(u32 msr)
{
	u64 v = POISON;
	int w = host_wrmsrs;

	assert_true(rd(msr, &v));
	assert_int_equal(v, 0);
	assert_true(wr(msr, 0x12345678));
	assert_true(wr(msr, ~0ull));
	assert_true(rd(msr, &v));
	assert_int_equal(v, 0);
	assert_int_equal(host_wrmsrs, w);
}

static void assert_absent(u32 msr)
{
	u64 v;

	assert_false(rd(msr, &v));
	assert_false(wr(msr, 0));
	assert_false(wr(msr, 1));
}

/* The hosts: QEMU's EPYC (no speculation MSRs), a Zen 2 and a Skylake-era Intel with
 * IA32_ARCH_CAPABILITIES holding known bits and ones Keel does not offer (TSX_CTRL bit 7,
 * MCU_CONTROL bit 9). */
static const struct spec_cpu epyc = { .amd = true, .family = 0x17 };
static const struct spec_cpu zen2 = {
	.amd = true, .family = 0x17, .spec_ctrl = true, .ibpb = true, .stibp = true, .ssbd = true
};
static const struct spec_cpu intel = { .spec_ctrl = true,
				       .ibpb = true,
				       .ibrs = true,
				       .stibp = true,
				       .ssbd = true,
				       .l1d_flush = true,
				       .md_clear = true,
				       .has_arch_cap = true,
				       .arch_cap = ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO | BIT(7) | BIT(9) };

static int setup(void **state)
{
	spec_cpu_info = epyc;
	vcpu_tsc_aux = false;
	vcpu.guest_pat = vcpu.tsc_aux = vcpu.spec_ctrl = 0;
	guest_efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	host_tsc = 1000;
	host_wrmsrs = lapic_calls = 0;
	return 0;
}

static void test_efer(void **state)
{
	u64 v;

	assert_true(rd(MSR_EFER, &v));
	assert_int_equal(v, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	/* LMA is the CPU's: a write neither sets nor clears it. */
	assert_true(wr(MSR_EFER, EFER_LME));
	assert_int_equal(guest_efer, EFER_LME | EFER_LMA);
	guest_efer = 0;
	assert_true(wr(MSR_EFER, EFER_SCE | EFER_LMA | EFER_NXE));
	assert_int_equal(guest_efer, EFER_SCE | EFER_NXE);
	/* SVME (no nested virtualization) and every reserved or unoffered bit: #GP, EFER kept. */
	static const u64 refused[] = { EFER_SVME, BIT(1), BIT(9), BIT(13), BIT(14), BIT(15), EFER_AUTOIBRS, BIT(63) };

	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		assert_false(wr(MSR_EFER, EFER_SCE | refused[i]));
		assert_int_equal(guest_efer, EFER_SCE | EFER_NXE);
	}
	spec_cpu_info = intel;
	assert_false(wr(MSR_EFER, EFER_SVME));
}

static void test_tsc(void **state)
{
	u64 v;

	assert_true(rd(MSR_TSC, &v));
	assert_int_equal(v, 1500); /* the host's TSC plus the VM's offset */
	/* Writes are ignored: one offset for all of the VM's vCPUs. */
	assert_true(wr(MSR_TSC, 7));
	assert_int_equal(vm.tsc_offset, 500);
	assert_int_equal(host_wrmsrs, 0);
}

static void test_local_apic_range(void **state)
{
	static const u32 handed[] = { MSR_APIC_BASE, MSR_TSC_DEADLINE, MSR_X2APIC_FIRST, 0x830, MSR_X2APIC_LAST };
	u64 v;

	for (unsigned i = 0; i < ARRAY_SIZE(handed); i++) {
		assert_true(rd(handed[i], &v));
		assert_int_equal(v, 0x1234);
		assert_true(wr(handed[i], 1));
	}
	assert_int_equal(lapic_calls, 3 * ARRAY_SIZE(handed)); /* rd() reads twice */
	/* What the local APIC refuses is #GP; just outside the x2APIC range is not its business. */
	assert_false(rd(LAPIC_REFUSED, &v));
	lapic_calls = 0;
	assert_absent(MSR_X2APIC_FIRST - 1);
	assert_absent(MSR_X2APIC_LAST + 1);
	assert_int_equal(lapic_calls, 0);
}

static void test_pat(void **state)
{
	u64 v;

	assert_true(rd(MSR_PAT, &v));
	assert_int_equal(v, PAT_RESET_VALUE);
	/* Every memory type (UC WC WT WP WB UC-) in some entry. */
	assert_true(wr(MSR_PAT, 0x0007060504010000ull));
	assert_true(rd(MSR_PAT, &v));
	assert_int_equal(v, 0x0007060504010000ull);
	/* Types 2, 3 and 8 and above are reserved, in any entry. */
	static const u64 refused[] = { 0x2, 0x3ull << 8, 0x8ull << 56, 0xffull << 32 };

	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		assert_false(wr(MSR_PAT, refused[i]));
		assert_true(rd(MSR_PAT, &v));
		assert_int_equal(v, 0x0007060504010000ull);
	}
	assert_int_equal(host_wrmsrs, 0);
}

static void test_tsc_aux(void **state)
{
	u64 v;

	/* Without RDTSCP or RDPID in the guest's CPUID, no TSC_AUX. */
	assert_absent(MSR_TSC_AUX);
	vcpu_tsc_aux = true;
	assert_true(rd(MSR_TSC_AUX, &v));
	assert_int_equal(v, 0);
	/* Per vCPU, and live on this CPU at once (RDTSCP reads the hardware MSR). */
	assert_true(wr(MSR_TSC_AUX, 0xabcd));
	assert_int_equal(vcpu.tsc_aux, 0xabcd);
	assert_int_equal(host_wrmsrs, 1);
	assert_true(host_wrmsr_index == MSR_TSC_AUX && host_wrmsr_val == 0xabcd);
	assert_true(rd(MSR_TSC_AUX, &v));
	assert_int_equal(v, 0xabcd);
	/* Bits 63:32 are reserved. */
	assert_false(wr(MSR_TSC_AUX, 1ull << 32));
	assert_int_equal(vcpu.tsc_aux, 0xabcd);
	assert_int_equal(host_wrmsrs, 1);
}

static void test_speculation_msrs_absent(void **state)
{
	/* QEMU's EPYC enumerates none of them. */
	assert_absent(MSR_SPEC_CTRL);
	assert_absent(MSR_PRED_CMD);
	assert_absent(MSR_FLUSH_CMD);
	assert_absent(MSR_ARCH_CAPABILITIES);
	assert_int_equal(host_wrmsrs, 0);
}

static void test_spec_ctrl(void **state)
{
	u64 v;

	/* Zen 2: STIBP and SSBD, no IBRS. The value is the vCPU's, loaded only around its runs. */
	spec_cpu_info = zen2;
	assert_true(wr(MSR_SPEC_CTRL, SPEC_CTRL_STIBP | SPEC_CTRL_SSBD));
	assert_true(rd(MSR_SPEC_CTRL, &v));
	assert_int_equal(v, SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	assert_false(wr(MSR_SPEC_CTRL, SPEC_CTRL_IBRS));
	assert_false(wr(MSR_SPEC_CTRL, BIT(3)));
	assert_int_equal(vcpu.spec_ctrl, SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	/* Intel with all three. */
	spec_cpu_info = intel;
	assert_true(wr(MSR_SPEC_CTRL, SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD));
	assert_int_equal(vcpu.spec_ctrl, SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	assert_false(wr(MSR_SPEC_CTRL, BIT(7)));
	assert_int_equal(host_wrmsrs, 0);
}

static void test_pred_and_flush_cmd(void **state)
{
	u64 v;

	spec_cpu_info = intel;
	/* Write-only commands, done at once on this CPU; 0 does nothing; other bits #GP. */
	assert_true(wr(MSR_PRED_CMD, PRED_CMD_IBPB));
	assert_true(host_wrmsrs == 1 && host_wrmsr_index == MSR_PRED_CMD && host_wrmsr_val == PRED_CMD_IBPB);
	assert_true(wr(MSR_FLUSH_CMD, FLUSH_CMD_L1D));
	assert_true(host_wrmsrs == 2 && host_wrmsr_index == MSR_FLUSH_CMD && host_wrmsr_val == FLUSH_CMD_L1D);
	assert_true(wr(MSR_PRED_CMD, 0));
	assert_true(wr(MSR_FLUSH_CMD, 0));
	assert_false(wr(MSR_PRED_CMD, 2));
	assert_false(wr(MSR_FLUSH_CMD, 2));
	assert_false(rd(MSR_PRED_CMD, &v));
	assert_false(rd(MSR_FLUSH_CMD, &v));
	assert_int_equal(host_wrmsrs, 2);
	/* Zen 2 has IBPB but no IA32_FLUSH_CMD. */
	spec_cpu_info = zen2;
	assert_true(wr(MSR_PRED_CMD, PRED_CMD_IBPB));
	assert_false(wr(MSR_FLUSH_CMD, FLUSH_CMD_L1D));
	assert_int_equal(host_wrmsrs, 3);
}

static void test_arch_capabilities(void **state)
{
	u64 v;

	/* The host's known bits, without the controls Keel does not offer, plus SKIP_L1DFL_VMENTRY;
	 * read-only. */
	spec_cpu_info = intel;
	assert_true(rd(MSR_ARCH_CAPABILITIES, &v));
	assert_int_equal(v, ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY);
	assert_false(wr(MSR_ARCH_CAPABILITIES, v));
	spec_cpu_info = zen2;
	assert_absent(MSR_ARCH_CAPABILITIES);
}

/* The legacy AMD performance counters (issue 13 item 1): every AMD CPU has them, with no CPUID
 * bit, so they read 0 and ignore writes there; Intel has no such MSRs. */
static void test_legacy_amd_pmu(void **state)
{
	for (u32 msr = 0xc0010000; msr <= 0xc0010007; msr++)
		assert_reads_0_ignores_writes(msr);
	assert_absent(0xc0010008);
	spec_cpu_info = intel;
	for (u32 msr = 0xc0010000; msr <= 0xc0010007; msr++)
		assert_absent(msr);
}

/* MSRs both vendors' CPUs always have and guests touch unguarded. */
static void test_always_present(void **state)
{
	static const u32 read_only_0[] = { MSR_PLATFORM_ID, MSR_MTRRCAP, MSR_MTRR_DEF_TYPE, MSR_MISC_ENABLE };
	const struct spec_cpu *hosts[] = { &epyc, &intel };

	for (unsigned h = 0; h < ARRAY_SIZE(hosts); h++) {
		spec_cpu_info = *hosts[h];
		/* Microcode revision (0x8b): Intel's update protocol writes 0 and reads it back. */
		assert_reads_0_ignores_writes(MSR_UCODE_REV);
		assert_reads_0_ignores_writes(MSR_AMD64_NB_CFG);
		for (unsigned i = 0; i < ARRAY_SIZE(read_only_0); i++) {
			u64 v = POISON;

			assert_true(rd(read_only_0[i], &v));
			assert_int_equal(v, 0);
			assert_false(wr(read_only_0[i], 0));
		}
	}
	assert_int_equal(host_wrmsrs, 0);
}

/* Everything else is #GP, as on a CPU without the MSR: the virtualization controls above all. */
static void test_everything_else_is_gp(void **state)
{
	static const u32 absent[] = {
		0x0,	    /* P5_MC_ADDR */
		0x3a,	    /* IA32_FEATURE_CONTROL */
		0x8a,	    /* just below the microcode revision */
		0xc1,	    /* IA32_PMC0 */
		0x1d9,	    /* IA32_DEBUGCTL */
		0x480,	    /* IA32_VMX_BASIC */
		0x48d,	    /* IA32_VMX_TRUE_PINBASED_CTLS */
		0xc0000104, /* TSC_RATIO */
		0xc0010114, /* VM_CR */
		0xc0010117, /* VM_HSAVE_PA */
		0xc0010140, /* OSVW_ID_LENGTH */
		0xc0011029, /* DE_CFG */
		0xffffffff,
	};
	const struct spec_cpu *hosts[] = { &epyc, &zen2, &intel };

	for (unsigned h = 0; h < ARRAY_SIZE(hosts); h++) {
		spec_cpu_info = *hosts[h];
		for (unsigned i = 0; i < ARRAY_SIZE(absent); i++)
			assert_absent(absent[i]);
	}
	assert_int_equal(host_wrmsrs, 0);
	assert_int_equal(lapic_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_efer, setup),
		cmocka_unit_test_setup(test_tsc, setup),
		cmocka_unit_test_setup(test_local_apic_range, setup),
		cmocka_unit_test_setup(test_pat, setup),
		cmocka_unit_test_setup(test_tsc_aux, setup),
		cmocka_unit_test_setup(test_speculation_msrs_absent, setup),
		cmocka_unit_test_setup(test_spec_ctrl, setup),
		cmocka_unit_test_setup(test_pred_and_flush_cmd, setup),
		cmocka_unit_test_setup(test_arch_capabilities, setup),
		cmocka_unit_test_setup(test_legacy_amd_pmu, setup),
		cmocka_unit_test_setup(test_always_present, setup),
		cmocka_unit_test_setup(test_everything_else_is_gp, setup),
	};

	return cmocka_run_group_tests_name("msr_policy", tests, NULL, NULL);
}
