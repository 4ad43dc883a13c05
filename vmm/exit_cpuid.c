/* SPDX-License-Identifier: MIT */
/* CPUID policy: the host's view, minus what Keel does not virtualize, plus Keel's own leaves. */
#include "arch/x86/cpu.h"
#include "kernel/lib/string.h"
#include "vmm/exit.h"
#include "vmm/public/keel_hypercall.h"

#define CPUID1_ECX_VMX		  (1u << 5)
#define CPUID1_ECX_X2APIC_BIT	  (1u << 21)
#define CPUID80000001_ECX_SVM_BIT (1u << 2)
#define CPUID7_ECX_WAITPKG	  (1u << 5)

void handle_cpuid(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 op[] = { 0x0f, 0xa2 };
	u32 leaf = (u32)v->gprs.rax, sub = (u32)v->gprs.rcx;
	struct cpuid_regs r;

	if (leaf >= KEEL_CPUID_BASE && leaf < KEEL_CPUID_BASE + 0x100) {
		r = (struct cpuid_regs){ 0 };
		if (leaf == KEEL_CPUID_BASE) {
			r.eax = KEEL_CPUID_BASE;
			static const char sig[12] = KEEL_CPUID_SIGNATURE;

			memcpy(&r.ebx, sig, 4);
			memcpy(&r.ecx, sig + 4, 4);
			memcpy(&r.edx, sig + 8, 4);
		}
	} else {
		r = cpuid(leaf, sub);
		switch (leaf) {
		case 1:
			/* No nested VMX, no x2APIC until the virtual local APIC exists; "running under a
			 * hypervisor". The initial APIC ID is the vCPU's. */
			r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_X2APIC_BIT);
			r.ecx |= CPUID1_ECX_HYPERVISOR;
			r.ebx = (r.ebx & 0x00ffffff) | (v->id << 24);
			break;
		case 7:
			if (sub == 0)
				r.ecx &= ~CPUID7_ECX_WAITPKG;
			break;
		case 0x80000001:
			r.ecx &= ~CPUID80000001_ECX_SVM_BIT;
			break;
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
