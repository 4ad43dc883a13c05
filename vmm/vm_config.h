/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_VM_CONFIG_H
#define KEEL_VMM_VM_CONFIG_H

#include "kernel/bootinfo.h"
#include "kernel/cmdline.h"
#include "kernel/types.h"

#define MAX_VMS		     32
#define VM_CONFIG_NAME_MAX   32
#define DEFAULT_MEM	     MiB(64)
#define VM_CONFIG_MAX_MODS   8
#define VM_CONFIG_MAX_VCPUS  8
#define VM_CONFIG_MAX_IMAGES 4 /* KEEL_IMAGE_MAX */

struct vm;

enum vm_boot { VM_BOOT_MULTIBOOT, VM_BOOT_REAL, VM_BOOT_LINUX };

struct vm_config {
	char name[VM_CONFIG_NAME_MAX];
	u32 module;
	u64 mem;
	enum vm_boot boot; /* multiboot kernel, a flat image run in real mode at 0:7c00, or a bzImage */
	u32 initrd;	   /* Linux: the initramfs module, ~0u for none */
	u32 nr_mods;	   /* the guest's own boot modules: Keel module indexes */
	u32 mods[VM_CONFIG_MAX_MODS];
	/* Scheduling: vCPUs, weight (default SCHED_WEIGHT_UNIT), cap in percent of one CPU (0: none),
	 * hard affinity of each vCPU (bit n = physical CPU n; all ones: anywhere). */
	u32 vcpus;
	u32 weight;
	u32 cap;
	u64 affinity[VM_CONFIG_MAX_VCPUS];
	/* What a reset of the VM (0xCF9, the 8042, the FADT reset register) does: build it again
	 * from its modules and start it (on_reset=restart, the default), or end it (on_reset=end). */
	bool end_on_reset;
	/* The management VM (mgmt): at most one; the only VM allowed the management hypercalls. */
	bool mgmt;
	/* ctl=on: the Keel control function at PCI 00:02.0 (vmm/dev/keelctl.h); for now a test
	 * function, later the management VM's. */
	bool ctl;
	u32 restarts; /* how many times it was built again */
	/* Between a reset and the new VM's start (vm is NULL then): a destroy from the console
	 * meanwhile sets destroy_requested, and the new VM is dropped instead of started. */
	bool restarting, destroy_requested;
	struct vm *vm;
	/*
	 * VMs the management VM creates at run time (HC_VM_CREATE, vmm/mgmt_vm.c) take a slot here
	 * too, so one list holds every VM. Under the VM list lock (vmm/vmm.c): `in_use` from the
	 * moment the name is taken until the VM's pages are back; `busy` while one operation works
	 * on the VM outside the lock (an image copied, a load), which a destroy then waits for;
	 * `started` once its vCPUs were handed to the scheduler, `finished` once they all left (the
	 * VM then stays, dead, with its memory, until destroyed). A reset does not rebuild it.
	 */
	bool runtime, in_use, busy, loaded, started, finished;
	u64 rsdp; /* its ACPI tables, written at creation */
	/* Boot images handed over piecewise (HC_VM_IMAGE), until HC_VM_LOAD or the destroy. */
	struct vm_stage {
		u8 *data;
		u64 total, filled; /* pieces arrive in order: filled is the next offset */
	} stage[VM_CONFIG_MAX_IMAGES];
};

extern struct vm_config vm_configs[MAX_VMS];
extern u32 nr_vm_configs;

/* A slot for a VM created at run time: a free one left by a destroyed VM, else a new one at the
 * end; NULL when all MAX_VMS are taken. Cleared, with `runtime` and `in_use` set. The caller
 * holds the VM list lock (vmm/vmm.c). */
struct vm_config *vm_config_runtime_slot(void);
/* Whether `name` is taken by a VM of the list (live, restarting, or a run-time slot in use). */
bool vm_config_name_taken(const char *name);

/* cmdline: vm=NAME,module=INDEX[,mem=SIZE][,boot=multiboot|real|linux][,initrd=INDEX][,mods=I+J+...]
 * [,vcpus=N][,weight=W][,cap=PCT][,cpus=SETS][,on_reset=restart|end][,mgmt][,ctl=on|off] (repeatable). Returns < 0 (and
 * warns) if malformed. */
int vmm_config_add(const char *value);
/* The VMM's boot options (vm=), parsed with the kernel's (kernel/options.h). */
extern const struct cmdline_option vmm_options[];
extern const size_t vmm_nr_options;

#endif
