/* SPDX-License-Identifier: MIT */
/* CPUID policy: the host's view, minus what Keel does not virtualize, plus Keel's own leaves. */
#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/tsc.h"
#include "kernel/lib/string.h"
#include "vmm/exit.h"
#include "vmm/public/keel_hypercall.h"

#define KEEL_CPUID_TIMING (KEEL_CPUID_BASE + 0x10)
/* CPUID bits: arch/x86/cpuid-bits.h. Speculation control (arch/x86/spec.h): IA32_SPEC_CTRL,
 * PRED_CMD, FLUSH_CMD and ARCH_CAPABILITIES are virtualized and keep their bits; the MSRs Keel
 * does not offer lose theirs. */

void handle_cpuid(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 op[] = { 0x0f, 0xa2 };
	u32 leaf = (u32)v->gprs.rax, sub = (u32)v->gprs.rcx;
	struct cpuid_regs r;

	if (leaf >= KEEL_CPUID_BASE && leaf < KEEL_CPUID_BASE + 0x100) {
		r = (struct cpuid_regs){ 0 };
		if (leaf == KEEL_CPUID_TIMING) {
			/* The leaf VMware defined and other hypervisors copy: TSC and local APIC timer
			 * frequencies in kHz, so a guest need not calibrate them. */
			r.eax = (u32)tsc_khz;
			r.ebx = (u32)(VLAPIC_TIMER_HZ / 1000);
		} else if (leaf == KEEL_CPUID_BASE) {
			r.eax = KEEL_CPUID_TIMING;
			static const char sig[12] = KEEL_CPUID_SIGNATURE;

			memcpy(&r.ebx, sig, 4);
			memcpy(&r.ecx, sig + 4, 4);
			memcpy(&r.edx, sig + 8, 4);
		}
	} else {
		r = cpuid(leaf, sub);
		switch (leaf) {
		case 1:
			/* No nested VMX; the virtual local APIC has x2APIC mode and the TSC-deadline timer
			 * whatever the host has; no machine-check MSRs; "running under a hypervisor". The
			 * initial APIC ID is the vCPU's. No MONITOR/MWAIT: an MWAIT would idle a
			 * physical CPU the scheduler owns; both raise #UD (vmm/exit.c). */
			r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_OSXSAVE | CPUID1_ECX_MONITOR);
			r.ecx |= CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE;
			/* OSXSAVE mirrors the guest's own CR4 (SDM vol. 2A CPUID), not the host's. */
			if (vcpu_ops->get(v, VREG_CR4) & CR4_OSXSAVE)
				r.ecx |= CPUID1_ECX_OSXSAVE;
			r.edx &= ~(CPUID1_EDX_MCE | CPUID1_EDX_MCA);
			r.ebx = (r.ebx & 0x00ffffff) | (v->id << 24);
			break;
		case 5:	  /* MONITOR/MWAIT: not offered */
		case 6:	  /* thermal and power management: APERF/MPERF and friends are not offered */
		case 0xa: /* architectural performance monitoring: no PMU */
			r = (struct cpuid_regs){ 0 };
			break;
		case 7:
			/* No TSC_ADJUST (one TSC offset per VM) or WAITPKG (its MSR is not
			 * virtualized); RDPID only with a per-vCPU IA32_TSC_AUX. */
			if (sub == 0) {
				r.ebx &= ~CPUID7_EBX_TSC_ADJUST;
				r.ecx &= ~CPUID7_ECX_WAITPKG;
				r.edx &= ~(CPUID7_EDX_SRBDS_CTRL | CPUID7_EDX_CORE_CAP);
				if (!vcpu_tsc_aux)
					r.ecx &= ~CPUID7_ECX_RDPID;
			}
			break;
		case 0xd:
			/* No XSAVES: IA32_XSS and the supervisor state components are not virtualized. */
			if (sub == 1)
				r.eax &= ~CPUIDD1_EAX_XSAVES;
			break;
		case 0xb:
		case 0x1f:
			r.edx = v->id; /* x2APIC ID */
			break;
		case 0x80000001:
			r.ecx &= ~(CPUID80000001_ECX_SVM | CPUID80000001_ECX_MONITORX);
			/* No virtual PMU: only AMD's four legacy counters exist, reading 0 (exit_msr.c);
			 * the extensions' MSRs raise #GP, so their bits are clear. */
			r.ecx &= ~(CPUID80000001_ECX_PERFCTR_CORE | CPUID80000001_ECX_PERFCTR_NB |
				   CPUID80000001_ECX_PERFCTR_LLC);
			/* RDTSCP only with a per-vCPU IA32_TSC_AUX (vcpu_tsc_aux): Linux then reads its
			 * CPU number with it (vgetcpu), so it must be this vCPU's and nobody else's. */
			if (!vcpu_tsc_aux)
				r.edx &= ~CPUID80000001_EDX_RDTSCP;
			break;
		case 0x80000008:
			/* No RDPRU (it reads the host's APERF/MPERF); intercepted where SVM can, #UD. */
			r.ebx &= ~(CPUID80000008_EBX_RDPRU | CPUID80000008_EBX_VIRT_SSBD | CPUID80000008_EBX_PSFD);
			break;
		case 0x80000021:
			r.eax &= ~CPUID80000021_EAX_AUTOIBRS; /* EFER.AUTOIBRS is not a guest's to set */
			break;
		case 0x8000001e:
			r.eax = v->id; /* extended APIC ID */
			break;
		case 0x80000022: /* AMD PerfMonV2 and the counter counts: no PMU */
		case 0x8000000a: /* SVM features: none for guests */
			r = (struct cpuid_regs){ 0 };
			break;
		default:
			break;
		}
	}
	if (!skip_insn(v, e, op, sizeof(op)))
		return;
	v->gprs.rax = r.eax;
	v->gprs.rbx = r.ebx;
	v->gprs.rcx = r.ecx;
	v->gprs.rdx = r.edx;
}
