/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_VMM_H
#define KEEL_VMM_VMM_H

#include "kernel/bootinfo.h"
#include "vmm/vm_config.h"

struct vm;

/* Creates, runs and reports every configured VM; returns when all have ended. */
void vmm_run_all(const struct boot_info *bi);
/* The last vCPU of vm left the scheduler: report its end and free it (kernel/sched.c). */
void vmm_vm_finished(struct vm *vm);

/*
 * For the hypervisor console (vmm/console.c). VMs are named by name or by numeric id.
 * vmm_for_each_vm calls fn for every VM not yet destroyed, in id order, holding the VM list lock:
 * fn must not call the other functions below.
 */
typedef void (*vm_visit_fn)(struct vm *vm, void *arg);
void vmm_for_each_vm(vm_visit_fn fn, void *arg);
/* 0, -ENOENT (no such VM) or -EINVAL (not in a state that allows it). */
int vmm_pause(const char *vm);
int vmm_resume(const char *vm);
/* Ends the VM now ("destroyed from the console"); its memory is returned once its vCPUs stop. */
int vmm_destroy(const char *vm);
/* Bytes typed at the console while a VM has the input: they reach its COM1 receiver. */
int vmm_input(u32 vm_id, const u8 *buf, size_t len);
/* The id of the next live VM after `vm_id` (0: the first), or 0 after the last one. */
u32 vmm_next_vm(u32 vm_id);
/* Copies the name of VM `vm_id` into buf; -ENOENT if it is gone. */
int vmm_vm_name(u32 vm_id, char *buf, size_t len);

#endif
