/* SPDX-License-Identifier: MIT */
/*
 * Synchronous nested-TLB shootdown for one VM (vmm/tlb_sync.c). After a change that removes
 * translations from a VM's nested page tables, vm_tlb_flush_sync() returns only when no vCPU of
 * the VM can use a translation cached before the change: every vCPU either flushed (at its next
 * entry, acknowledged through tlb_gen_seen) or is out of guest mode and flushes before it enters
 * again. Only then may the pages the translations led to be freed.
 *
 * Protocol (a Dekker pair, both sides sequentially consistent): the vCPU's CPU, with interrupts
 * off before each run, stores in_guest = 1, then loads vm->tlb_gen and flushes (vcpu_ops->
 * flush_tlb) if it moved since tlb_gen_seen; it clears in_guest when the backend's run returns.
 * The flusher bumps vm->tlb_gen, then loads each vCPU's in_guest: either it sees the vCPU in
 * guest mode (kicked: the IPI ends the run, since host interrupts always end one), or the vCPU
 * sees the new generation before its entry. It waits only for vCPUs in guest mode, which leave
 * it within an exit, so a flusher that is itself one of the VM's vCPUs (a hypercall), or that
 * holds locks those vCPUs take outside guest mode, does not deadlock.
 */
#ifndef KEEL_VMM_TLB_SYNC_H
#define KEEL_VMM_TLB_SYNC_H

#include "vmm/vm.h"

/* v's CPU, interrupts off: right before the backend's run (v may flush), and after it returns. */
void vcpu_tlb_enter(struct vcpu *v);
void vcpu_tlb_exit(struct vcpu *v);
/* Any CPU, no lock needed (may be called under spinlocks): see above. */
void vm_tlb_flush_sync(struct vm *vm);

#endif
