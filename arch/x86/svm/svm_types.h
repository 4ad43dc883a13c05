/* SPDX-License-Identifier: MIT */
/* Per-VM and per-vCPU SVM state, embedded in the vendor unions of struct vm and struct vcpu. */
#ifndef KEEL_SVM_TYPES_H
#define KEEL_SVM_TYPES_H

#include "kernel/types.h"

struct vmcb;

struct svm_vm {
	hpa_t npt_root; /* nested PML4 */
	hpa_t iopm;	/* 12 KiB I/O permission map */
	hpa_t msrpm;	/* 8 KiB MSR permission map */
	u32 asid;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	hpa_t vmcb_pa;
	u32 asid; /* on asid_cpu, valid while asid_generation is that CPU's (svm.c) */
	u32 asid_cpu;
	u64 asid_generation;
	bool check_vmcb; /* Keel changed what vmcb_consistent() checks: check before the next VMRUN */
};

#endif
