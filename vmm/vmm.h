/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_VMM_H
#define KEEL_VMM_VMM_H

#include "kernel/bootinfo.h"
#include "vmm/vm_config.h"

struct vm;
struct guest_image;

/* Creates, runs and reports every configured VM; returns when all have ended. */
void vmm_run_all(const struct boot_info *bi);
/* The boot modules VMs are built from (vmm_run_all sets them; the unit tests too). */
void vmm_set_boot_info(const struct boot_info *bi);
/* The management VM's boot module `index` (its mods=, in order): 0, or -ENOENT for none. */
int vmm_mgmt_module(u32 index, struct guest_image *img);
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

/*
 * For the management VM (vmm/mgmt_vm.c), VMs named by id. Errors: -ENOENT no such VM in the
 * list, -EINVAL not in a state that allows it (or the management VM itself), -EBUSY another
 * operation holds it, -EEXIST the name is taken, -ENOSPC MAX_VMS VMs exist, -ENOMEM.
 */
struct vmm_create_args {
	const char *name; /* checked by the caller: 1-31 characters */
	u64 mem;	  /* bytes, checked by the caller */
	u32 vcpus, weight, cap;
	u64 affinity[VM_CONFIG_MAX_VCPUS]; /* 0: any CPU */
};
/* Creates a VM (RAM and ACPI tables, no vCPUs yet) in the list, state created; bounded by the
 * memory Keel has free, which the log line of a refusal states. */
int vmm_create(const struct vmm_create_args *a, u32 *id);
/* Takes a run-time VM that is neither loaded nor started for one operation outside the list
 * lock (its staged images, its load); vmm_release lets go, and does a destroy that came meanwhile. */
struct vm_config *vmm_hold(u32 id, int *err);
void vmm_release(struct vm_config *c);
/* A held VM: Keel's loader on img[0..nr) (multiboot kernel and modules, or a bzImage and an
 * optional initramfs), then its vCPUs and devices as for a VM of the command line. -EINVAL
 * (*why says why; nothing changed) or -ENOMEM (the VM cannot run: destroy it). */
int vmm_load(struct vm_config *c, bool is_linux, const struct guest_image *img, u32 nr, const char **why);
/* A loaded run-time VM's vCPUs go to the scheduler. */
int vmm_start(u32 id);
/* op 0 pause, 1 resume, 2 destroy (a running VM ends, then its pages go once its vCPUs left). */
int vmm_op_id(u32 id, int op);
/* Calls fn(vm, arg) under the list lock for VM id (running, paused or dead); -ENOENT. */
int vmm_with_vm(u32 id, vm_visit_fn fn, void *arg);
/* Raises MSI-X vector vec of the management VM's control function, if it runs; from any CPU,
 * with no lock held. */
void vmm_mgmt_upcall(unsigned vec);

#endif
