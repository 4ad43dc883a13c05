/* SPDX-License-Identifier: MIT */
/* Per-VM and per-vCPU SVM state, embedded in the vendor unions of struct vm and struct vcpu. */
#ifndef KEEL_SVM_TYPES_H
#define KEEL_SVM_TYPES_H

#include "kernel/types.h"

struct vmcb;

/* A software event (INTn, INT3, INTO) Keel delivers again after an exit cut it short: the VMCB's
 * CS base and where the instruction starts and ends (arch/x86/svm/svm_event.c). */
struct svm_soft_int {
	bool valid;
	u8 vector;
	u64 cs_base, old_rip, next_rip;
};

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
	/* NMI blocking, which VMRUN does not keep for an injected NMI without vNMI (svm.c): */
	bool nmi_masked; /* an NMI was injected and its handler has not returned yet */
	bool nmi_iret;	 /* that handler's IRET exited (intercept) and runs next, at iret_rip */
	bool nmi_step;	 /* Keel set RFLAGS.TF to get an exit one instruction later */
	bool step_iret;	 /* ... and that instruction is the IRET (which loads RFLAGS itself) */
	bool step_tf;	 /* the guest's own TF when the step began */
	u64 iret_rip;
	u64 step_dr6;		  /* the guest's DR6 when the step began */
	struct svm_soft_int soft; /* the last software event delivered again (svm_event.c) */
};

#endif
