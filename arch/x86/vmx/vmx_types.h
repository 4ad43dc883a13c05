/* SPDX-License-Identifier: MIT */
/* Per-VM and per-vCPU VMX state, embedded in the vendor unions of struct vm and struct vcpu. */
#ifndef KEEL_VMX_TYPES_H
#define KEEL_VMX_TYPES_H

#include "kernel/types.h"

struct vmx_vm {
	hpa_t ept_root;	    /* EPT PML4 */
	hpa_t io_bitmaps;   /* bitmaps A and B, one page each, contiguous */
	hpa_t msr_bitmap;   /* 4 KiB: read and write bitmaps, low and high MSRs */
	u64 ept_generation; /* bumped by every map(): CPUs that ran this VM before must INVEPT */
};

struct vmx_vcpu {
	hpa_t vmcs_pa;
	hpa_t msr_area; /* VM-entry/exit MSR areas: the guest's, then the host's (vmx.c) */
	u16 vpid;
	bool launched;	    /* VMLAUNCH done since the last VMCLEAR: VMRESUME next */
	s32 cpu;	    /* the physical CPU on which the VMCS is active, or -1 (clear) */
	u64 ept_generation; /* of the EPT when this vCPU last flushed it on `cpu` */
	bool vmcs_error;    /* a VMWRITE/VMREAD on this VMCS failed: the VM cannot run */
	u64 timer_deadline; /* TSC value at which the preemption timer ends the run, 0: off */
	bool timer_on;	    /* the pin-based control is set in the VMCS */
	u64 cr2;	    /* the guest's CR2, live only between entry and exit (vmx_entry.S) */
};

#endif
