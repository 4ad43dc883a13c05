/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_MMIO_H
#define KEEL_VMM_MMIO_H

#include "vmm/vm.h"

/* Emulates the instruction that faulted on `gpa`, inside a registered MMIO region, against its
 * handler; advances RIP. Anything it cannot emulate ends the VM with the reason. */
void mmio_emulate(struct vcpu *v, const struct vm_mmio_handler *h, u64 gpa);
/* The registered region containing [gpa, gpa+1), or NULL. */
const struct vm_mmio_handler *mmio_find(const struct vm *vm, u64 gpa);

#endif
