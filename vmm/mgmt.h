/* SPDX-License-Identifier: MIT */
/*
 * The management hypercalls (HC_MGMT_FIRST..HC_MGMT_LAST, vmm/public/keel_hypercall.h), made only
 * by the management VM's kernel (exit_hypercall.c checks that first), in three families:
 *   0x100-0x10f  VMs: list, lifecycle, events, consoles, memory (vmm/mgmt_vm.c)
 *   0x110-0x11f  I/O requests and interrupts into VMs (vmm/ioreq.c)
 *   0x120-0x12f  the memory window (vmm/mgmt_window.c)
 * Each takes the calling vCPU (of the management VM) and the three arguments; the result goes
 * to the guest's RAX. Arguments a guest passes are hostile: every id, range and buffer is checked.
 */
#ifndef KEEL_VMM_MGMT_H
#define KEEL_VMM_MGMT_H

#include "vmm/vm.h"

s64 mgmt_vm_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2);
s64 ioreq_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2);
s64 window_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2);

/*
 * Hooks of the VM list (vmm/vmm.c), called for every VM:
 *  - ioreq_vm_ending: the VM has ended (state VM_DEAD), before it is reported; its own device
 *    model server goes, and if it is the management VM every VM it serves ends.
 *  - window_vm_freeing: just before the VM's pages go back to the allocator: no window onto
 *    them may remain in the management VM's nested page tables (nor in a TLB).
 */
void ioreq_vm_ending(struct vm *vm);
void window_vm_freeing(struct vm *vm);

#endif
