/* SPDX-License-Identifier: MIT */
/* Picks the virtualization backend once, from CPUID: core code never asks for the vendor. */
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "vmm/run.h"
#include "vmm/vcpu.h"

const struct vcpu_ops *svm_probe(void);
const struct vcpu_ops *vmx_probe(void);

const struct vcpu_ops *vcpu_ops;

const struct vcpu_ops *arch_virt_probe(void);
const struct vcpu_ops *arch_virt_probe(void)
{
	if (!vcpu_ops)
		vcpu_ops = svm_probe();
	if (!vcpu_ops)
		vcpu_ops = vmx_probe();
	return vcpu_ops;
}

void vmm_fpu_reset(void)
{
	fpu_reset_for_guest();
}

/* vmm/run.h: a CPU whose VM is paused sleeps until the next interrupt (the timer tick). */
void vmm_idle(void)
{
	irq_enable_and_halt();
}
