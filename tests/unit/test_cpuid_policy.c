/* SPDX-License-Identifier: MIT */
/*
 * The CPUID policy (vmm/exit_cpuid.c) over scripted host CPUIDs: what a guest sees of an AMD and of
 * an Intel host, leaf by leaf (issue 13 item 13: the policies at unit level).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpuid-bits.h"
#include "arch/x86/regs.h"
#include "vmm/exit.h"
#include "vmm/public/keel_hypercall.h"

u64 tsc_khz = 2500000;
bool vcpu_tsc_aux;
const struct fake_leaf *fake_host_cpuid;

struct cpuid_regs fake_cpuid(u32 leaf, u32 sub)
{
	for (const struct fake_leaf *l = fake_host_cpuid; l && (l->leaf || l->r.eax); l++)
		if (l->leaf == leaf && l->sub == sub)
			return l->r;
	return (struct cpuid_regs){ 0 };
}

static u64 guest_cr4;
static int skips;

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	return r == VREG_CR4 ? guest_cr4 : 0;
}

static const struct vcpu_ops fake_ops = { .name = "fake", .get = fake_get };
const struct vcpu_ops *vcpu_ops = &fake_ops;

bool skip_insn_decode(struct vcpu *v, const struct vm_exit *e, const u8 *opcode, unsigned len)
{
	skips++;
	return len == 2 && opcode[0] == 0x0f && opcode[1] == 0xa2;
}

/* Everything a host might set in the leaves the policy filters. */
#define ALL 0xffffffffu

static const struct fake_leaf amd_host[] = {
	{ 0, 0, { 0x10, 0x68747541, 0x444d4163, 0x69746e65 } }, /* AuthenticAMD */
	{ 1, 0, { 0x00800f12, 0x05020800, ALL & ~CPUID1_ECX_HYPERVISOR, ALL } },
	{ 5, 0, { 0x40, 0x40, 3, 0x11 } },
	{ 6, 0, { 4, 0, 1, 0 } },
	{ 7, 0, { 0, ALL, ALL, ALL } },
	{ 0xa, 0, { 0x07300403, 0, 0, 0x603 } },
	{ 0xb, 0, { 1, 2, 0x100, 7 } },
	{ 0xd, 1, { ALL, 0, 0, 0 } },
	{ 0x80000000, 0, { 0x80000021, 0, 0, 0 } },
	{ 0x80000001, 0, { 0, 0, ALL, ALL } },
	{ 0x80000008, 0, { 0x3030, ALL, 0, 0 } },
	{ 0x8000000a, 0, { 1, 0x8000, 0, ALL } },
	{ 0x8000001e, 0, { 9, 0x100, 0, 0 } },
	{ 0x80000021, 0, { ALL, 0, 0, 0 } },
	{ 0 },
};

static struct vcpu vcpu = { .id = 3 };

static struct cpuid_regs guest_cpuid(u32 leaf, u32 sub)
{
	struct vm_exit e = { .reason = EXIT_CPUID };

	vcpu.gprs.rax = leaf;
	vcpu.gprs.rcx = sub;
	handle_cpuid(&vcpu, &e);
	return (struct cpuid_regs){ (u32)vcpu.gprs.rax, (u32)vcpu.gprs.rbx, (u32)vcpu.gprs.rcx, (u32)vcpu.gprs.rdx };
}

static int setup(void **state)
{
	fake_host_cpuid = amd_host;
	guest_cr4 = 0;
	vcpu_tsc_aux = false;
	skips = 0;
	return 0;
}

static void test_leaf1(void **state)
{
	struct cpuid_regs r = guest_cpuid(1, 0);

	assert_false(r.ecx & (CPUID1_ECX_VMX | CPUID1_ECX_MONITOR | CPUID1_ECX_OSXSAVE));
	assert_true(r.ecx & CPUID1_ECX_HYPERVISOR);
	assert_true((r.ecx & (CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE)) ==
		    (CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE));
	assert_false(r.edx & (CPUID1_EDX_MCE | CPUID1_EDX_MCA));
	assert_int_equal(r.ebx >> 24, 3); /* the initial APIC ID is the vCPU's */
	assert_int_equal(r.ebx & 0xffffff, 0x020800);
	assert_int_equal(skips, 1);
	/* OSXSAVE mirrors the guest's own CR4. */
	guest_cr4 = CR4_OSXSAVE;
	assert_true(guest_cpuid(1, 0).ecx & CPUID1_ECX_OSXSAVE);
}

static void test_hidden_leaves(void **state)
{
	for (u32 leaf = 5; leaf <= 0xa; leaf += (leaf == 6 ? 4 : 1)) {
		struct cpuid_regs r = guest_cpuid(leaf, 0);

		assert_true(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
	}
	struct cpuid_regs svm = guest_cpuid(0x8000000a, 0);

	assert_true(svm.eax == 0 && svm.ebx == 0 && svm.ecx == 0 && svm.edx == 0);
	assert_false(guest_cpuid(0xd, 1).eax & CPUIDD1_EAX_XSAVES);
}

static void test_leaf7_and_speculation(void **state)
{
	struct cpuid_regs r = guest_cpuid(7, 0);

	assert_false(r.ebx & CPUID7_EBX_TSC_ADJUST);
	assert_false(r.ecx & (CPUID7_ECX_WAITPKG | CPUID7_ECX_RDPID)); /* no per-vCPU TSC_AUX here */
	assert_false(r.edx & (CPUID7_EDX_SRBDS_CTRL | CPUID7_EDX_CORE_CAP));
	/* The virtualized speculation controls keep their bits. */
	assert_true(r.edx & CPUID7_EDX_SPEC_CTRL);
	assert_true(r.edx & CPUID7_EDX_ARCH_CAP);
	assert_true(r.edx & CPUID7_EDX_SSBD);
	r = guest_cpuid(0x80000008, 0);
	assert_false(r.ebx & (CPUID80000008_EBX_RDPRU | CPUID80000008_EBX_VIRT_SSBD | CPUID80000008_EBX_PSFD));
	assert_true(r.ebx & CPUID80000008_EBX_IBPB);
	assert_false(guest_cpuid(0x80000021, 0).eax & CPUID80000021_EAX_AUTOIBRS);
	/* RDTSCP and RDPID appear with a per-vCPU IA32_TSC_AUX. */
	assert_false(guest_cpuid(0x80000001, 0).edx & CPUID80000001_EDX_RDTSCP);
	vcpu_tsc_aux = true;
	assert_true(guest_cpuid(0x80000001, 0).edx & CPUID80000001_EDX_RDTSCP);
	assert_true(guest_cpuid(7, 0).ecx & CPUID7_ECX_RDPID);
}

static void test_extended_and_topology(void **state)
{
	struct cpuid_regs r = guest_cpuid(0x80000001, 0);

	assert_false(r.ecx & (CPUID80000001_ECX_SVM | CPUID80000001_ECX_MONITORX));
	assert_int_equal(guest_cpuid(0xb, 0).edx, 3);	     /* x2APIC ID */
	assert_int_equal(guest_cpuid(0x8000001e, 0).eax, 3); /* extended APIC ID */
}

static void test_keel_leaves(void **state)
{
	struct cpuid_regs r = guest_cpuid(KEEL_CPUID_BASE, 0);
	char sig[13] = { 0 };

	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	assert_string_equal(sig, KEEL_CPUID_SIGNATURE);
	assert_int_equal(r.eax, KEEL_CPUID_BASE + 0x10);
	r = guest_cpuid(KEEL_CPUID_BASE + 0x10, 0);
	assert_int_equal(r.eax, 2500000); /* TSC kHz */
	assert_int_equal(r.ebx, 1000000); /* APIC timer kHz: 1 GHz */
	r = guest_cpuid(KEEL_CPUID_BASE + 0x42, 0);
	assert_true(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
	/* Nothing of the host leaks through Keel's range. */
	static const struct fake_leaf leaky[] = { { KEEL_CPUID_BASE, 0, { 0x40000001, 1, 2, 3 } }, { 0 } };

	fake_host_cpuid = leaky;
	r = guest_cpuid(KEEL_CPUID_BASE, 0);
	assert_int_not_equal(r.ebx, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_leaf1, setup),
		cmocka_unit_test_setup(test_hidden_leaves, setup),
		cmocka_unit_test_setup(test_leaf7_and_speculation, setup),
		cmocka_unit_test_setup(test_extended_and_topology, setup),
		cmocka_unit_test_setup(test_keel_leaves, setup),
	};

	return cmocka_run_group_tests_name("cpuid_policy", tests, NULL, NULL);
}
