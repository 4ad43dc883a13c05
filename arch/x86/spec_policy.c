/* SPDX-License-Identifier: MIT */
/*
 * The mitigation decision table: from what the CPU enumerates (struct spec_cpu) and the spec=
 * and smt= options to a plan. Pure, so tests/unit/test_spec.c checks it per CPU model.
 *
 * Keel keeps no list of CPU models: a CPU that enumerates nothing (no IA32_ARCH_CAPABILITIES) is
 * taken as affected by everything its vendor can be affected by, as Linux and Xen do for CPUs
 * they do not know. Sources: Intel's "Affected Processors: Transient Execution Attacks" and the
 * per-issue guidance (L1TF, MDS, TAA, MMIO stale data, RFDS, PBRSB), AMD's "Software Techniques
 * for Managing Speculation" and its branch type confusion (AMD-SB-1037) and AutoIBRS notes.
 */
#include "arch/x86/spec.h"

#include "kernel/lib/format.h"
#include "kernel/options.h"

static void need(struct spec_plan *p, const char *what)
{
	if (p->nr_missing < ARRAY_SIZE(p->missing))
		p->missing[p->nr_missing++] = what;
}

static bool has(const struct spec_cpu *c, u64 bit)
{
	return c->arch_cap & bit;
}

void spec_decide(const struct spec_cpu *c, const struct spec_opts *o, struct spec_plan *p)
{
	bool force = o->mode == SPEC_FORCE, intel = !c->amd;
	/* Enhanced IBRS (Intel) or automatic IBRS (AMD): indirect predictions trained in a guest do
	 * not steer the host, so neither retpolines nor a full RSB fill are needed. */
	bool eibrs = (intel && has(c, ARCH_CAP_IBRS_ALL) && c->ibrs) || (c->amd && c->auto_ibrs);
	/* L1TF (Intel, without RDCL_NO); a nested Keel whose hypervisor flushes is told so. */
	bool l1tf = intel && !has(c, ARCH_CAP_RDCL_NO);
	bool l1tf_flush = l1tf && !has(c, ARCH_CAP_SKIP_L1DFL_VMENTRY);
	/* Buffers VERW clears: MDS, TAA (with TSX), MMIO stale data, RFDS (where microcode says VERW
	 * clears the register file). */
	bool mds = intel && !has(c, ARCH_CAP_MDS_NO);
	bool taa = intel && c->rtm && !has(c, ARCH_CAP_TAA_NO);
	bool mmio = intel && !(has(c, ARCH_CAP_SBDR_SSDP_NO) && has(c, ARCH_CAP_FBSDP_NO) && has(c, ARCH_CAP_PSDP_NO));
	bool rfds = intel && !has(c, ARCH_CAP_RFDS_NO) && has(c, ARCH_CAP_RFDS_CLEAR);
	bool verw = mds || taa || mmio || rfds;
	/* AMD family 17h (Zen 1/2) predicts a RET from the BTB when a guest trained it as another
	 * branch type (branch type confusion): IBPB on every exit, as Xen's ibpb-entry does. */
	bool btc = c->amd && c->family == 0x17 && !c->btc_no;

	/* Intel before enhanced IBRS may predict a RET from the BTB when the RSB runs empty (RSBA,
	 * RRSBA; assumed where IA32_ARCH_CAPABILITIES is missing). */
	bool rsba = intel && !eibrs && (!c->has_arch_cap || has(c, ARCH_CAP_RSBA) || has(c, ARCH_CAP_RRSBA));

	*p = (struct spec_plan){ 0 };
	if (o->mode == SPEC_OFF)
		goto smt;

	p->ibpb_vm_switch = c->ibpb;
	if (!c->ibpb)
		need(p, "IBPB (no IA32_PRED_CMD): one VM's branch predictions reach the next");
	p->ibpb_exit = c->ibpb && (btc || force);
	if (btc && !c->ibpb)
		need(p, "IBPB on exit against branch type confusion (no IA32_PRED_CMD)");

	if (force || !eibrs)
		p->rsb_exit = RSB_FULL;
	else if (intel && !has(c, ARCH_CAP_PBRSB_NO))
		p->rsb_exit = RSB_LITE; /* post-barrier RSB predictions: one CALL after the exit */
	p->host_ibrs = eibrs && intel;
	p->host_auto_ibrs = eibrs && c->amd;
	p->retpoline = force || !eibrs;
	p->return_thunk = o->return_thunks && (force || rsba);
	if (rsba && !o->return_thunks)
		need(p, "return thunks (this build's compiler has none): a RET may be predicted from the BTB");

	p->l1d_flush_entry = l1tf_flush || force;
	p->l1d_flush_sw = p->l1d_flush_entry && !c->l1d_flush;
	/* The flush command also clears the buffers VERW clears (on microcode with MD_CLEAR). */
	if (force)
		p->verw_entry = true;
	else if (verw && !(p->l1d_flush_entry && c->l1d_flush && c->md_clear))
		p->verw_entry = c->md_clear || has(c, ARCH_CAP_FB_CLEAR);
	if (verw && !c->md_clear && !has(c, ARCH_CAP_FB_CLEAR))
		need(p, "MD_CLEAR (VERW does not clear the CPU's buffers: update the microcode)");

smt:
	/* Siblings share L1D and the fill buffers: with MDS or L1TF, two VMs on one core see each
	 * other's data whatever is flushed at entry. Without core scheduling, smt=auto starts one
	 * thread per core on such CPUs; smt=on keeps them all (and says so). */
	p->smt_exposed = c->smt_shift && (mds || taa || l1tf);
	p->smt_off =
	    c->smt_shift && (o->smt == OPT_OFF || (o->smt == OPT_AUTO && p->smt_exposed && o->mode != SPEC_OFF));
}

/* Appends one "name: on|off (why)" line; the text stops at the buffer's end. */
static unsigned line(char *buf, unsigned size, unsigned at, const char *name, const char *state, const char *why)
{
	int n;

	if (at + 1 >= size)
		return at;
	n = ksnprintf(buf + at, size - at, "%s: %s%s%s\n", name, state, why ? " " : "", why ? why : "");
	return n < 0 ? at : MIN(at + (unsigned)n, size - 1);
}

static const char *onoff(bool on)
{
	return on ? "on" : "off";
}

int spec_describe(const struct spec_plan *p, char *buf, unsigned size)
{
	static const char *const rsb[] = { "off", "on", "on" };
	unsigned at = 0;

	at = line(buf, size, at, "IBPB on VM switch", onoff(p->ibpb_vm_switch), NULL);
	at = line(buf, size, at, "IBPB on every exit", onoff(p->ibpb_exit), NULL);
	at = line(buf, size, at, "RSB fill after exit", rsb[p->rsb_exit],
		  p->rsb_exit == RSB_LITE   ? "(one entry: PBRSB)"
		  : p->rsb_exit == RSB_FULL ? "(32 entries)"
					    : NULL);
	at = line(buf, size, at, "enhanced/automatic IBRS", onoff(p->host_ibrs || p->host_auto_ibrs), NULL);
	at = line(buf, size, at, "retpolines", onoff(p->retpoline), NULL);
	at = line(buf, size, at, "return thunk", onoff(p->return_thunk), NULL);
	at = line(buf, size, at, "VERW before entry", onoff(p->verw_entry), NULL);
	at = line(buf, size, at, "L1D flush before entry", onoff(p->l1d_flush_entry),
		  p->l1d_flush_sw ? "(software: no IA32_FLUSH_CMD)" : NULL);
	at = line(buf, size, at, "SMT siblings", onoff(!p->smt_off),
		  p->smt_exposed ? (p->smt_off ? "(offline: open to MDS/L1TF)" : "(exposed to MDS/L1TF: smt=on)")
				 : NULL);
	for (unsigned i = 0; i < p->nr_missing; i++)
		at = line(buf, size, at, "missing", p->missing[i], NULL);
	return (int)at;
}

/* What a guest sees of the speculation controls (vmm/exit_msr.c): pure functions of what the CPU
 * enumerates, so tests/unit/test_msr_policy.c checks them with the MSR policy. */
u64 spec_guest_ctrl_mask(void)
{
	const struct spec_cpu *c = &spec_cpu_info;

	return (c->ibrs ? SPEC_CTRL_IBRS : 0) | (c->stibp ? SPEC_CTRL_STIBP : 0) | (c->ssbd ? SPEC_CTRL_SSBD : 0);
}

u64 spec_guest_arch_cap(void)
{
	/* The host's answers about the CPU, minus bits that name MSRs or controls Keel does not
	 * offer (TSX_CTRL, MCU_CONTROL, FB_CLEAR_CTRL...); plus SKIP_L1DFL_VMENTRY, since flushing
	 * L1D for a guest's own guests is Keel's job (KVM says the same). */
	const u64 known = ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_RSBA | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO |
			  ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO |
			  ARCH_CAP_PSDP_NO | ARCH_CAP_FB_CLEAR | ARCH_CAP_RRSBA | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO |
			  ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO | ARCH_CAP_RFDS_CLEAR;

	return (spec_cpu_info.arch_cap & known) | ARCH_CAP_SKIP_L1DFL_VMENTRY;
}
