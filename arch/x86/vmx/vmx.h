/* SPDX-License-Identifier: MIT */
/* Internal interface between the VMX backend's files (vmx.c, vmcs.c, ept.c, vmx_exit.c). */
#ifndef KEEL_VMX_VMX_H
#define KEEL_VMX_VMX_H

#include "arch/x86/regs.h"
#include "arch/x86/vmx/vmcs.h"
#include "kernel/percpu.h"
#include "vmm/vm.h"

/* Exception vectors the backend intercepts or raises itself. */
#define VEC_DB 1
#define VEC_GP 13
#define VEC_AC 17

/* What the CPU offers and the controls Keel uses, fixed once by vmx_probe() (vmx.c). */
struct vmx_caps {
	u32 revision; /* VMCS revision identifier (IA32_VMX_BASIC) */
	u32 pin, cpu, cpu2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept; /* IA32_VMX_EPT_VPID_CAP */
	bool vpid;
	bool preempt_timer;	/* VMX-preemption timer usable */
	bool vnmi;		/* virtual NMIs and NMI-window exiting: guest NMI blocking tracked */
	u8 preempt_timer_shift; /* it ticks once every 2^shift TSC cycles */
};
extern struct vmx_caps vmx_caps;

/* The exiting instruction completed: RIP moves on, the STI/MOV SS shadow ends, and RFLAGS.TF
 * raises the single-step trap (vmx_exit.c). */
void vmx_insn_done(struct vcpu *v, u64 next_rip);

/* The vCPU whose VMCS is current on each CPU: VMCS accessor failures are charged to it. */
extern struct vcpu *vmx_current_vcpu[MAX_CPUS];

/* vmx_entry.S */
int vmx_enter(struct vcpu_gprs *gprs, bool launched, u64 *cr2);
void vmx_exit_stub(void);

/* vmcs.c: VMX instructions; false (and a log line) on VMfail. */
const char *vmx_insn_error_name(u32 error);
bool vmxon(hpa_t pa);
bool vmclear(hpa_t pa);
bool vmptrld(hpa_t pa);
void invept(u64 type, u64 eptp);
void invvpid(u64 type, u16 vpid);

/* ept.c */
u64 vmx_eptp(const struct vm *vm);
int vmx_map(struct vm *vm, u64 gpa, hpa_t hpa, u64 size);
void vmx_ept_free(hpa_t table, int level);
int vmx_ept_unmap(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale);
void vmx_ept_free_stale(struct nested_stale *stale);
void vmx_flush_tlb(struct vcpu *v);
void vmx_ept_flush(const struct vm *vm);
void vmx_vpid_flush(u16 vpid);

/* vmx_exit.c: all on the current VMCS. */
u64 vmx_guest_cr0(void);
u64 vmx_guest_cr4(void);
void vmx_set_efer(u64 efer);
void vmx_inject_event(u32 info, bool has_error, u32 error);
/* vcpu_ops->run: enters the guest until an exit that vmm/ must handle. */
bool vmx_run(struct vcpu *v, struct vm_exit *exit);

/* vmx.c: makes v's VMCS current on this CPU (VMCLEARing it where it was active before). The
 * check that it already is, the common case (every accessor of vcpu_ops), is inline. */
extern hpa_t vmx_current_vmcs[MAX_CPUS];
void vmx_load_slow(struct vcpu *v);
static inline void vmx_load(struct vcpu *v)
{
	if (__builtin_expect(vmx_current_vmcs[this_cpu()->cpu] != v->arch.vmx.vmcs_pa, 0))
		vmx_load_slow(v);
}

/* CR0/CR4 as loaded into the CPU for a guest value: with the VMX fixed bits (SDM vol. 3C §23.8),
 * except CR0.PE and CR0.PG, which unrestricted guest leaves to the guest (§26.3.1.1). */
static inline u64 vmx_cr0_real(u64 guest)
{
	return (guest | (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG))) & vmx_caps.cr0_fixed1;
}

static inline u64 vmx_cr4_real(u64 guest)
{
	return (guest | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1;
}

#endif
