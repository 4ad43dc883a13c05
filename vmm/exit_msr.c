/* SPDX-License-Identifier: MIT */
/*
 * MSR policy: an allow-list. Listed MSRs are emulated or kept per vCPU; everything else raises
 * #GP in the guest, as a CPU without that MSR would.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/spec.h"
#include "vmm/exit.h"
#include "vmm/platform.h"

/* EFER bits a guest may set (AMD APM vol. 2 §3.1.7): SCE, LME, LMA (read-only), NXE. */
#define EFER_GUEST_MASK (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (i * 8));

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

void handle_msr(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 rd[] = { 0x0f, 0x32 }, wr[] = { 0x0f, 0x30 };
	bool write = e->reason == EXIT_MSR_WRITE;
	u64 val = (v->gprs.rdx << 32) | (u32)v->gprs.rax;
	bool ok = true;

	switch (e->msr.index) {
	case MSR_EFER:
		if (!write)
			val = vcpu_ops->get(v, VREG_EFER);
		else if (val & ~(u64)EFER_GUEST_MASK)
			ok = false; /* reserved bits, and SVME: no nested virtualization */
		else
			vcpu_ops->set(v, VREG_EFER, (val & ~(u64)EFER_LMA) | (vcpu_ops->get(v, VREG_EFER) & EFER_LMA));
		break;
	case MSR_TSC:
		/* Writes are ignored: one offset per VM keeps every vCPU's TSC in step (vm.h). */
		if (!write)
			val = rdtsc() + v->vm->tsc_offset;
		break;
	case MSR_APIC_BASE:
	case MSR_TSC_DEADLINE:
	case MSR_X2APIC_FIRST ... MSR_X2APIC_LAST:
		ok = platform_lapic_msr(v, e->msr.index, write, &val) == 0;
		break;
	case MSR_PAT:
		if (!write)
			val = v->guest_pat ? v->guest_pat : PAT_RESET_VALUE;
		else if (pat_valid(val))
			v->guest_pat = val;
		else
			ok = false;
		break;
	case MSR_TSC_AUX:
		/* Per vCPU where RDTSCP/RDPID are offered (vcpu_tsc_aux); bits 63:32 are reserved
		 * (SDM vol. 4 table 2-2). The vCPU is on this CPU: its value goes live at once. */
		if (!vcpu_tsc_aux || (write && (val >> 32))) {
			ok = false;
		} else if (write) {
			v->tsc_aux = val;
			wrmsr(MSR_TSC_AUX, val);
		} else {
			val = v->tsc_aux;
		}
		break;
	case MSR_SPEC_CTRL:
		/* Per vCPU, live only while it runs (spec_before_entry); the bits its CPUID shows. */
		if (!spec_cpu_info.spec_ctrl || (write && (val & ~spec_guest_ctrl_mask())))
			ok = false;
		else if (write)
			v->spec_ctrl = val;
		else
			val = v->spec_ctrl;
		break;
	case MSR_PRED_CMD:
		/* Write-only; an IBPB the guest asks for is done at once on this CPU. */
		if (!spec_cpu_info.ibpb || !write || (val & ~(u64)PRED_CMD_IBPB))
			ok = false;
		else if (val)
			wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB);
		break;
	case MSR_FLUSH_CMD:
		if (!spec_cpu_info.l1d_flush || !write || (val & ~(u64)FLUSH_CMD_L1D))
			ok = false;
		else if (val)
			wrmsr(MSR_FLUSH_CMD, FLUSH_CMD_L1D);
		break;
	case MSR_ARCH_CAPABILITIES:
		if (!spec_cpu_info.has_arch_cap || write)
			ok = false;
		else
			val = spec_guest_arch_cap();
		break;
	case MSR_AMD64_NB_CFG:
		/* Northbridge configuration: Linux reads it and sets the extended PCI configuration
		 * access bit. Reads 0; writes are ignored (there is no northbridge). */
		if (!write)
			val = 0;
		break;
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3:
	case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
		/* Every AMD CPU has the four legacy counters, with no CPUID bit to say so, and guests
		 * touch them unguarded. Without a virtual PMU they read 0 and ignore writes, as KVM
		 * does; an Intel CPU has no such MSRs (#GP). The guest sees the host's vendor. */
		if (!spec_cpu_info.amd)
			ok = false;
		else if (!write)
			val = 0;
		break;
	case MSR_UCODE_REV:
		/* Microcode revision, both vendors: Intel's update protocol (SDM vol. 3A §10.11.7.1)
		 * writes 0, runs CPUID and reads it; nothing checks first. The host's microcode is
		 * not the guest's business: reads 0, writes are ignored. */
		if (!write)
			val = 0;
		break;
	case MSR_PLATFORM_ID:
	case MSR_MTRRCAP:
	case MSR_MTRR_DEF_TYPE:
	case MSR_MISC_ENABLE:
		if (write)
			ok = false;
		else
			val = 0; /* no MTRRs, nothing to report */
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		vcpu_ops->inject(v, EXC_GP, true, 0);
		return;
	}
	if (!skip_insn(v, e, write ? wr : rd, 2))
		return;
	if (!write) {
		v->gprs.rax = (u32)val;
		v->gprs.rdx = val >> 32;
	}
}
