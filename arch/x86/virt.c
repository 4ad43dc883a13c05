/* SPDX-License-Identifier: MIT */
/* Picks the virtualization backend once, from CPUID: core code never asks for the vendor. */
#include "arch/x86/cpu.h"
#include "vmm/vcpu.h"

const struct vcpu_ops *svm_probe(void);
const struct vcpu_ops *vmx_probe(void);

const struct vcpu_ops *vcpu_ops;
bool vcpu_tsc_aux;

const struct vcpu_ops *arch_virt_probe(void);
const struct vcpu_ops *arch_virt_probe(void)
{
	if (!vcpu_ops)
		vcpu_ops = svm_probe();
	if (!vcpu_ops)
		vcpu_ops = vmx_probe();
	return vcpu_ops;
}
