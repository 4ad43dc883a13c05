/* SPDX-License-Identifier: MIT */
/*
 * The speculation-mitigation decision table (arch/x86/spec_policy.c), per CPU model: what each
 * CPU enumerates (CPUID bits, IA32_ARCH_CAPABILITIES) and the plan Keel makes for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/spec.h"
#include "kernel/options.h"

/* The live CPU description that spec_guest_ctrl_mask() and spec_guest_arch_cap() read (in
 * spec_policy.c with the decision table; tests/unit/test_msr_policy.c checks them). */
struct spec_cpu spec_cpu_info;

static const struct spec_opts gcc_auto = { .mode = SPEC_AUTO, .smt = OPT_AUTO, .return_thunks = true };
static const struct spec_opts clang_auto = { .mode = SPEC_AUTO, .smt = OPT_AUTO, .return_thunks = false };

/* QEMU 7.2's -cpu EPYC (Zen 1): no IBPB, IBRS or SSBD bits, no AutoIBRS. */
static const struct spec_cpu qemu_epyc = { .amd = true, .family = 0x17 };
/* A Zen 2 with its microcode: IBPB, IBRS, STIBP, SSBD; branch type confusion; 2 threads a core. */
static const struct spec_cpu zen2 = { .amd = true,
				      .family = 0x17,
				      .spec_ctrl = true,
				      .ibpb = true,
				      .ibrs = true,
				      .stibp = true,
				      .ssbd = true,
				      .smt_shift = 1 };
/* A Zen 4: automatic IBRS, no branch type confusion. */
static const struct spec_cpu zen4 = { .amd = true,
				      .family = 0x19,
				      .spec_ctrl = true,
				      .ibpb = true,
				      .ibrs = true,
				      .stibp = true,
				      .ssbd = true,
				      .auto_ibrs = true,
				      .btc_no = true,
				      .smt_shift = 1 };
/* Skylake-SP with current microcode: no IA32_ARCH_CAPABILITIES, TSX, 2 threads a core. */
static const struct spec_cpu skylake = { .spec_ctrl = true,
					 .ibpb = true,
					 .ibrs = true,
					 .stibp = true,
					 .ssbd = true,
					 .l1d_flush = true,
					 .md_clear = true,
					 .rtm = true,
					 .smt_shift = 1 };
/* Ice Lake-SP: enhanced IBRS, not affected by Meltdown, L1TF, MDS or TAA; affected by MMIO stale
 * data (FB_CLEAR) and post-barrier RSB predictions. */
static const struct spec_cpu icelake = { .spec_ctrl = true,
					 .ibpb = true,
					 .ibrs = true,
					 .stibp = true,
					 .ssbd = true,
					 .l1d_flush = true,
					 .md_clear = true,
					 .has_arch_cap = true,
					 .smt_shift = 1,
					 .arch_cap = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL |
						     ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_MDS_NO | ARCH_CAP_TAA_NO |
						     ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_FB_CLEAR };
/* Sapphire Rapids: every "not affected" bit this table reads. */
static const struct spec_cpu sapphire = { .spec_ctrl = true,
					  .ibpb = true,
					  .ibrs = true,
					  .stibp = true,
					  .ssbd = true,
					  .l1d_flush = true,
					  .md_clear = true,
					  .has_arch_cap = true,
					  .smt_shift = 1,
					  .arch_cap = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_MDS_NO |
						      ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO |
						      ARCH_CAP_PSDP_NO | ARCH_CAP_PBRSB_NO | ARCH_CAP_RFDS_NO };

static struct spec_plan plan(const struct spec_cpu *c, const struct spec_opts *o)
{
	struct spec_plan p;

	memset(&p, 0xa5, sizeof(p)); /* every field must be written */
	spec_decide(c, o, &p);
	return p;
}

static bool missing(const struct spec_plan *p, const char *what)
{
	for (unsigned i = 0; i < p->nr_missing; i++)
		if (strstr(p->missing[i], what))
			return true;
	return false;
}

static void test_qemu_epyc(void **state)
{
	struct spec_plan p = plan(&qemu_epyc, &gcc_auto);

	assert_int_equal(p.rsb_exit, RSB_FULL);
	assert_true(p.retpoline);
	assert_false(p.ibpb_vm_switch);
	assert_false(p.ibpb_exit);
	assert_false(p.return_thunk); /* an AMD RET is not predicted from the BTB on RSB underflow */
	assert_false(p.verw_entry);
	assert_false(p.l1d_flush_entry);
	assert_false(p.host_ibrs || p.host_auto_ibrs);
	assert_false(p.smt_off);
	assert_true(missing(&p, "IBPB"));
	assert_true(missing(&p, "branch type confusion"));
}

static void test_zen2_ibpb_on_exit(void **state)
{
	struct spec_plan p = plan(&zen2, &gcc_auto);

	assert_true(p.ibpb_vm_switch);
	assert_true(p.ibpb_exit);
	assert_int_equal(p.rsb_exit, RSB_FULL);
	assert_true(p.retpoline);
	assert_false(p.verw_entry || p.l1d_flush_entry);
	assert_false(p.smt_off); /* AMD: no MDS or L1TF between siblings */
	assert_false(p.smt_exposed);
	assert_int_equal(p.nr_missing, 0);
}

static void test_zen4_auto_ibrs(void **state)
{
	struct spec_plan p = plan(&zen4, &gcc_auto);

	assert_true(p.host_auto_ibrs);
	assert_false(p.host_ibrs);
	assert_int_equal(p.rsb_exit, RSB_NONE);
	assert_false(p.retpoline);
	assert_false(p.ibpb_exit);
	assert_true(p.ibpb_vm_switch);
	assert_int_equal(p.nr_missing, 0);
}

static void test_skylake(void **state)
{
	struct spec_plan p = plan(&skylake, &gcc_auto);

	assert_true(p.l1d_flush_entry);
	assert_false(p.l1d_flush_sw);
	assert_false(p.verw_entry); /* the flush command clears the buffers too */
	assert_int_equal(p.rsb_exit, RSB_FULL);
	assert_true(p.retpoline);
	assert_true(p.return_thunk);
	assert_true(p.ibpb_vm_switch);
	assert_false(p.ibpb_exit);
	assert_true(p.smt_exposed);
	assert_true(p.smt_off);
	assert_int_equal(p.nr_missing, 0);

	/* clang 14's build has no return thunks: said, not hidden. */
	p = plan(&skylake, &clang_auto);
	assert_false(p.return_thunk);
	assert_true(missing(&p, "return thunks"));

	/* smt=on keeps the siblings, and the plan still says they are exposed. */
	struct spec_opts on = gcc_auto;

	on.smt = OPT_ON;
	p = plan(&skylake, &on);
	assert_false(p.smt_off);
	assert_true(p.smt_exposed);
}

static void test_skylake_without_flush_cmd_or_md_clear(void **state)
{
	struct spec_cpu old = skylake;
	struct spec_plan p;

	old.l1d_flush = false;
	p = plan(&old, &gcc_auto);
	assert_true(p.l1d_flush_entry);
	assert_true(p.l1d_flush_sw);
	assert_true(p.verw_entry); /* a software flush leaves the fill buffers */

	old.md_clear = false;
	p = plan(&old, &gcc_auto);
	assert_false(p.verw_entry);
	assert_true(missing(&p, "MD_CLEAR"));
}

static void test_nested_skip_l1d_flush(void **state)
{
	struct spec_cpu nested = skylake;
	struct spec_plan p;

	nested.has_arch_cap = true;
	nested.arch_cap = ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_RSBA;
	p = plan(&nested, &gcc_auto);
	assert_false(p.l1d_flush_entry);
	assert_true(p.verw_entry); /* MDS still applies */
	assert_true(p.return_thunk);
}

static void test_icelake(void **state)
{
	struct spec_plan p = plan(&icelake, &gcc_auto);

	assert_true(p.host_ibrs);
	assert_int_equal(p.rsb_exit, RSB_LITE);
	assert_false(p.retpoline);
	assert_false(p.return_thunk);
	assert_false(p.l1d_flush_entry);
	assert_true(p.verw_entry); /* MMIO stale data, cleared by VERW (FB_CLEAR) */
	assert_false(p.smt_exposed);
	assert_false(p.smt_off);
	assert_int_equal(p.nr_missing, 0);
}

static void test_sapphire_rapids(void **state)
{
	struct spec_plan p = plan(&sapphire, &gcc_auto);

	assert_int_equal(p.rsb_exit, RSB_NONE);
	assert_false(p.retpoline || p.return_thunk || p.verw_entry || p.l1d_flush_entry || p.ibpb_exit);
	assert_true(p.ibpb_vm_switch);
	assert_true(p.host_ibrs);
	assert_false(p.smt_off);
}

static void test_force_and_off(void **state)
{
	struct spec_opts force = gcc_auto, off = gcc_auto;
	struct spec_plan p;

	force.mode = SPEC_FORCE;
	p = plan(&qemu_epyc, &force);
	assert_int_equal(p.rsb_exit, RSB_FULL);
	assert_true(p.retpoline && p.return_thunk && p.verw_entry && p.l1d_flush_entry && p.l1d_flush_sw);
	assert_false(p.ibpb_vm_switch || p.ibpb_exit); /* no IA32_PRED_CMD to write */
	p = plan(&zen2, &force);
	assert_true(p.ibpb_vm_switch && p.ibpb_exit);
	assert_true(p.l1d_flush_entry && p.l1d_flush_sw);

	off.mode = SPEC_OFF;
	p = plan(&skylake, &off);
	assert_int_equal(p.rsb_exit, RSB_NONE);
	assert_false(p.retpoline || p.return_thunk || p.verw_entry || p.l1d_flush_entry || p.ibpb_vm_switch ||
		     p.ibpb_exit || p.host_ibrs || p.smt_off);
	assert_int_equal(p.nr_missing, 0);
	off.smt = OPT_OFF;
	p = plan(&skylake, &off);
	assert_true(p.smt_off);
	p = plan(&qemu_epyc, &off); /* no SMT to turn off */
	assert_false(p.smt_off);
}

static void test_describe(void **state)
{
	struct spec_plan p = plan(&skylake, &clang_auto);
	char buf[1024], small[40];
	int n = spec_describe(&p, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(buf));
	assert_non_null(strstr(buf, "RSB fill after exit: on (32 entries)\n"));
	assert_non_null(strstr(buf, "L1D flush before entry: on\n"));
	assert_non_null(strstr(buf, "SMT siblings: off (offline: open to MDS/L1TF)\n"));
	assert_non_null(strstr(buf, "missing: return thunks"));
	/* A short buffer holds whole lines' worth of text and stays terminated. */
	n = spec_describe(&p, small, sizeof(small));
	assert_true(n < (int)sizeof(small));
	assert_int_equal(n, (int)strlen(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_epyc),
		cmocka_unit_test(test_zen2_ibpb_on_exit),
		cmocka_unit_test(test_zen4_auto_ibrs),
		cmocka_unit_test(test_skylake),
		cmocka_unit_test(test_skylake_without_flush_cmd_or_md_clear),
		cmocka_unit_test(test_nested_skip_l1d_flush),
		cmocka_unit_test(test_icelake),
		cmocka_unit_test(test_sapphire_rapids),
		cmocka_unit_test(test_force_and_off),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
