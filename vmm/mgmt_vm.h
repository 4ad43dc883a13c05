/* SPDX-License-Identifier: MIT */
/*
 * The VM side of the management interface (vmm/mgmt_vm.c, vmm/mgmt_events.c): the event queue
 * the management VM reads with HC_EVENTS, fed by the VM list (vmm/vmm.c) when a VM ends and
 * when it is destroyed, and the checks of what HC_VM_CREATE, HC_VM_IMAGE and HC_VM_LOAD carry.
 */
#ifndef KEEL_VMM_MGMT_VM_H
#define KEEL_VMM_MGMT_VM_H

#include "vmm/mgmt_abi.h" /* the pure checks of HC_VM_CREATE, _IMAGE and _LOAD */
#include "vmm/public/keel_hypercall.h"
#include "vmm/vm.h"

/* VM vm has ended (its vCPUs all left the scheduler): an event of how (exited, powered off,
 * reset, crashed and why). */
void mgmt_event_ended(const struct vm *vm);
/* How an ended VM ended: an enum keel_event_type, the status (exited) and the reason (crashed). */
void mgmt_vm_end_of(const struct vm *vm, u32 *type, u32 *status, char *reason, size_t len);
/* What HC_VM_LIST and HC_VM_INFO say of a VM; under the VM list lock. */
void mgmt_vm_info(const struct vm *vm, struct keel_vm_info *e);
/* VM id's memory is free and it left the list. */
void mgmt_event_destroyed(u32 id, const char *name);

/* The queue: KEEL_EVENTS_MAX events; a full queue drops its oldest and the next event queued
 * carries the count in `dropped`. Each push raises KEEL_UPCALL_EVENT (vmm_mgmt_upcall). */
void mgmt_events_push(const struct keel_event *e);
/* Takes up to max events, oldest first. */
u32 mgmt_events_take(struct keel_event *out, u32 max);
/* Events waiting (for tests and the console). */
u32 mgmt_events_count(void);

#endif
