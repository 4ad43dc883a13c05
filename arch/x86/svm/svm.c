/* SPDX-License-Identifier: MIT */
/* AMD SVM backend (AMD APM vol. 2 ch. 15) behind struct vcpu_ops. */
#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/spec.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/vmcb.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/page.h"
#include "kernel/percpu.h"
#include "vmm/exit_fast.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

void svm_enter(hpa_t vmcb_pa, struct vcpu_gprs *gprs, hpa_t host_save_pa);

/* Segment attributes in the VMCB's packed form: type, S, DPL, P, AVL, L, D/B, G (APM B.2). */
#define SEG_CODE32     0x0c9b
#define SEG_DATA32     0x0c93
#define SEG_CODE16     0x009b
#define SEG_DATA16     0x0093
#define SEG_TSS32_BUSY 0x008b
#define SEG_LDT	       0x0082

static u32 max_asid;

/*
 * ASIDs are handed out per physical CPU, generation by generation (as Xen does): a vCPU keeps its
 * ASID while it stays on one CPU within one generation; when a CPU runs out, it starts a new
 * generation and flushes its whole TLB once, so no old translation survives under a reused ASID.
 */
struct asid_pool {
	u32 next;
	u64 generation;
};
static struct asid_pool asid_pools[MAX_CPUS];

static void new_asid(struct vcpu *v, struct vmcb *c, u32 cpu)
{
	struct asid_pool *p = &asid_pools[cpu];
	struct svm_vcpu *s = &v->arch.svm;

	if (!p->generation || p->next >= max_asid) {
		p->generation++;
		p->next = 1; /* ASID 0 is the host's */
		c->tlb_control = TLB_CONTROL_FLUSH_ALL;
	}
	s->asid = p->next++;
	s->asid_generation = p->generation;
	s->asid_cpu = cpu;
	c->asid = s->asid;
	s->check_vmcb = true;
}

/* The vCPU keeps its ASID while it stays on this CPU and the CPU's generation holds. */
static inline void assign_asid(struct vcpu *v, struct vmcb *c)
{
	u32 cpu = this_cpu()->cpu;
	const struct svm_vcpu *s = &v->arch.svm;

	if (s->asid_cpu != cpu || s->asid_generation != asid_pools[cpu].generation || !s->asid_generation)
		new_asid(v, c, cpu);
}
static bool have_nrips;
/* Host state VMRUN does not save: one page per physical CPU for VMSAVE/VMLOAD, and the
 * VM_HSAVE_PA area. */
static hpa_t host_save[MAX_CPUS];

static int svm_cpu_enable(void)
{
	u32 cpu = this_cpu()->cpu;
	hpa_t hsave = page_alloc_zeroed(0), save = page_alloc_zeroed(0);

	if (hsave == INVALID_HPA || save == INVALID_HPA)
		return -ENOMEM;
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		return -EPERM; /* disabled by the firmware (APM §15.4) */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	host_save[cpu] = save;
	/* The host's FS, GS, TR, LDTR, KernelGSBase, STAR family and SYSENTER MSRs never change once
	 * the CPU is up: saved here once, loaded back after every exit (svm_entry.S). */
	__asm__ volatile("vmsave %%rax" : : "a"(save) : "memory");
	return 0;
}

static const u32 guest_owned[] = { GUEST_OWNED_MSRS };

/* AMD APM vol. 2 §15.11: two bits per MSR (read, write) in three 2 KiB ranges. */
static void msrpm_allow(u8 *pm, u32 msr)
{
	u32 base = msr < 0x2000 ? 0 : msr - 0xc0000000u < 0x2000 ? 0x800 : 0x1000;
	u32 bit = (msr & 0x1fff) * 2;

	pm[base + bit / 8] &= (u8) ~(3u << (bit % 8));
}

static int svm_vm_init(struct vm *vm)
{
	struct svm_vm *s = &vm->arch.svm;

	s->npt_root = page_alloc_zeroed(0);
	/* Every port and MSR is intercepted: what the guest may touch is decided in vmm/. */
	s->iopm = page_alloc(2); /* 12 KiB used of 16 */
	s->msrpm = page_alloc(1);
	if (s->npt_root == INVALID_HPA || s->iopm == INVALID_HPA || s->msrpm == INVALID_HPA)
		return -ENOMEM;
	memset(phys_to_virt(s->iopm), 0xff, 4 * PAGE_SIZE);
	memset(phys_to_virt(s->msrpm), 0xff, 2 * PAGE_SIZE);
	for (unsigned i = 0; i < ARRAY_SIZE(guest_owned); i++)
		msrpm_allow(phys_to_virt(s->msrpm), guest_owned[i]);
	return 0;
}

static void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *s = &vm->arch.svm;

	if (s->npt_root != INVALID_HPA && s->npt_root)
		svm_npt_free(s->npt_root, 4);
	if (s->iopm != INVALID_HPA && s->iopm)
		page_free(s->iopm, 2);
	if (s->msrpm != INVALID_HPA && s->msrpm)
		page_free(s->msrpm, 1);
}

static void set_seg(struct vmcb_seg *s, u16 sel, u16 attrib, u32 limit, u64 base)
{
	*s = (struct vmcb_seg){ .selector = sel, .attrib = attrib, .limit = limit, .base = base };
}

/* The guest state at power-on, INIT+SIPI or multiboot entry (the same as vmx.c's). */
static void svm_set_boot_state(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	struct vmcb *vmcb = v->arch.svm.vmcb;

	vmcb->cr2 = vmcb->cr3 = vmcb->cr4 = 0;
	vmcb->eventinj = 0;
	vmcb->interrupt_shadow = 0;
	vmcb->vintr &= ~VINTR_V_IRQ;
	vmcb->intercept_misc1 &= ~(INTERCEPT1_VINTR | INTERCEPT1_IRET);
	v->arch.svm.nmi_masked = v->arch.svm.nmi_iret = v->arch.svm.nmi_step = v->arch.svm.soft.valid = false;
	vmcb->star = vmcb->lstar = vmcb->cstar = vmcb->sfmask = vmcb->kernel_gs_base = 0;
	vmcb->sysenter_cs = vmcb->sysenter_esp = vmcb->sysenter_eip = 0;
	v->pending_exc = false;
	v->guest_pat = 0;
	if (boot->protected_mode) {
		set_seg(&vmcb->cs, 0x08, SEG_CODE32, 0xffffffff, 0);
		set_seg(&vmcb->ds, 0x10, SEG_DATA32, 0xffffffff, 0);
		vmcb->cr0 = CR0_PE | CR0_ET | CR0_NE;
	} else {
		set_seg(&vmcb->cs, boot->cs_sel, SEG_CODE16, 0xffff, (u64)boot->cs_sel << 4);
		set_seg(&vmcb->ds, 0, SEG_DATA16, 0xffff, 0);
		vmcb->cr0 = CR0_ET | CR0_NE;
	}
	vmcb->es = vmcb->ss = vmcb->fs = vmcb->gs = vmcb->ds;
	set_seg(&vmcb->tr, 0, SEG_TSS32_BUSY, 0x67, 0);
	set_seg(&vmcb->ldtr, 0, SEG_LDT, 0xffff, 0);
	set_seg(&vmcb->gdtr, 0, 0, 0xffff, 0);
	set_seg(&vmcb->idtr, 0, 0, 0xffff, 0);
	/* VMRUN requires EFER.SVME in the guest state; the MSR policy hides it from the guest. */
	vmcb->efer = EFER_SVME;
	vmcb->rflags = 2;
	vmcb->rip = boot->rip;
	v->gprs = (struct vcpu_gprs){
		.rax = boot->rax, .rbx = boot->rbx, .rdx = boot->rdx, .rsi = boot->rsi
	}; /* RAX: VMCB at entry */
	vmcb->rsp = boot->rsp;
	vmcb->dr6 = 0xffff0ff0;
	vmcb->dr7 = 0x400;
	vmcb->g_pat = PAT_RESET_VALUE;
}

static int svm_vcpu_init(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	v->arch.svm.check_vmcb = true;

	hpa_t pa = page_alloc_zeroed(0);
	struct vmcb *vmcb;
	struct vm *vm = v->vm;

	if (pa == INVALID_HPA)
		return -ENOMEM;
	vmcb = phys_to_virt(pa);
	v->arch.svm.vmcb = vmcb;
	v->arch.svm.vmcb_pa = pa;

	vmcb->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_SMI | INTERCEPT1_INIT | INTERCEPT1_CPUID |
				INTERCEPT1_INVD | INTERCEPT1_HLT | INTERCEPT1_INVLPGA | INTERCEPT1_IOIO |
				INTERCEPT1_MSR | INTERCEPT1_TASK_SWITCH | INTERCEPT1_SHUTDOWN | INTERCEPT1_RDPMC;
	/* XSETBV: XCR0 is per vCPU (v->xcr0), loaded by the scheduler when the vCPU runs. WBINVD
	 * (a flush of caches other VMs share), MONITOR/MWAIT and RDPRU: vmm/exit.c. RDTSCP and
	 * RDPID are not intercepted (APM vol. 2 has no RDPID intercept): they read the vCPU's own
	 * IA32_TSC_AUX (vcpu_tsc_aux), so neither needs an exit. */
	vmcb->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD | INTERCEPT2_VMSAVE |
				INTERCEPT2_XSETBV | INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT |
				INTERCEPT2_WBINVD | INTERCEPT2_MONITOR | INTERCEPT2_MWAIT | INTERCEPT2_MWAIT_ARMED |
				INTERCEPT2_RDPRU;
	/* #AC and #DB can be raised endlessly by delivering themselves: always intercept (the
	 * "livelock" errata behind CVE-2015-5307 and CVE-2015-8104). */
	vmcb->intercept_exceptions = (1u << 1) | (1u << 17);
	vmcb->iopm_base_pa = vm->arch.svm.iopm;
	vmcb->msrpm_base_pa = vm->arch.svm.msrpm;
	vmcb->vintr = VINTR_MASKING; /* the guest's IF does not mask host interrupts */
	vmcb->np_enable = 1;
	vmcb->tsc_offset = vm->tsc_offset;
	vmcb->n_cr3 = vm->arch.svm.npt_root;

	svm_set_boot_state(v, boot);
	return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	if (v->arch.svm.vmcb)
		page_free(v->arch.svm.vmcb_pa, 0);
}

/* What hardware would reject and QEMU's TCG lets pass (platform notes), checked before a VMRUN
 * whenever Keel has changed one of these fields (check_vmcb): the guest's own CR writes are
 * checked by the CPU as it executes them. */
static bool vmcb_consistent(struct vcpu *v, const struct vmcb *c)
{
	const char *why = vmcb_check(c);

	if (why)
		vm_crash(v->vm, "invalid VMCB before VMRUN: %s", why);
	return !why;
}

/*
 * NMI blocking without vNMI (APM vol. 2 §15.20: VMRUN does not record that an injected NMI's
 * handler runs). From the injection to the handler's IRET the guest takes no other NMI: IRET is
 * intercepted while an NMI is masked, and the exit comes before the IRET runs, so the mask is
 * dropped at the first exit after it (svm_run compares RIP). An NMI waiting then, or one waiting
 * behind an STI/MOV SS shadow, needs an exit one instruction later: Keel single-steps that
 * instruction with RFLAGS.TF and takes the #DB (always intercepted) itself, as KVM does.
 */
static void nmi_iret_exit(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;

	s->vmcb->intercept_misc1 &= ~INTERCEPT1_IRET;
	s->nmi_iret = true;
	s->iret_rip = s->vmcb->rip;
}

/* The single-step Keel began is over (by its #DB, or because Keel completed the instruction):
 * the guest's TF back, except after an IRET, which loaded RFLAGS from the guest's stack. The
 * full path runs next, to inject the NMI. */
static void nmi_step_end(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;

	s->nmi_step = false;
	v->slow = true;
	if (!s->step_iret && !s->step_tf)
		s->vmcb->rflags &= ~(u64)RFLAGS_TF;
}

/* A #DB while Keel single-steps: true if it was only Keel's (swallowed), false if the guest must
 * see it (its own TF was set, or one of its breakpoints hit). */
static bool nmi_step_db(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;
	bool guests = s->step_tf || ((s->vmcb->dr6 ^ s->step_dr6) & (DR6_B0_B3 | DR6_BD));

	nmi_step_end(v);
	if (!guests)
		s->vmcb->dr6 = s->step_dr6;
	return !guests;
}

static int soft_end(void *ctx, u64 *next)
{
	struct vcpu *v = ctx;
	u8 op[2];
	unsigned n = svm_soft_opcode(v->arch.svm.vmcb->eventinj, op);

	return insn_end(v, op, n, next);
}

/* An event cut short by the exit goes in again: a software one past its instruction (INTn,
 * INT3, INTO: svm_event.c). Any other exit ends Keel's record of the last software one. */
static __attribute__((noinline, cold)) void requeue_event(struct vcpu *v)
{
	struct vmcb *c = v->arch.svm.vmcb;

	/* After a shutdown (a triple fault) the VM ends: nothing is delivered again. */
	if (!svm_event_is_soft(c->eventinj) || c->exitcode == SVM_EXIT_SHUTDOWN) {
		v->arch.svm.soft.valid = false;
		return;
	}
	if (svm_requeue_soft(c, &v->arch.svm.soft, have_nrips, soft_end, v) < 0) {
		vm_crash(v->vm,
			 "a software interrupt (vector %u) at RIP %#llx was cut short and its instruction cannot be "
			 "read to deliver it again",
			 (unsigned)(u8)c->eventinj, (unsigned long long)c->rip);
		c->eventinj = 0;
	}
}

/* After any exit while an NMI's IRET or Keel's single-step is outstanding. */
static __attribute__((noinline, cold)) void nmi_after_exit(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;

	/* The NMI handler's IRET has run once the guest is past it, whatever the exit. */
	if (s->nmi_iret && s->vmcb->rip != s->iret_rip)
		s->nmi_iret = s->nmi_masked = false;
	/* The stepped instruction cleared TF itself (POPF): no #DB will end the step. (An IRET
	 * loads the guest's TF but still traps, on the TF it started with.) */
	if (s->nmi_step && !s->step_iret && !(s->vmcb->rflags & RFLAGS_TF) &&
	    s->vmcb->exitcode != SVM_EXIT_EXCP_BASE + 1)
		nmi_step_end(v);
}

static void insn_done_tf(struct vcpu *v);

/* The exiting instruction completed (vcpu_ops->set(VREG_RIP)): RIP moves on, and no STI/MOV SS
 * shadow is left. */
static inline void svm_insn_done(struct vcpu *v, u64 next)
{
	struct vmcb *c = v->arch.svm.vmcb;

	c->rip = next;
	c->interrupt_shadow = 0;
	if (__builtin_expect((c->rflags & RFLAGS_TF) != 0, 0))
		insn_done_tf(v);
}

/* One entry and exit: *exit says what the exit was. */
static __attribute__((always_inline)) inline void svm_run_once(struct vcpu *v, struct vm_exit *exit)
{
	struct vmcb *c = v->arch.svm.vmcb;
	u64 info1, t0, tpr;

	/* An event whose delivery an exit interrupted goes first (re-queued below); an exception
	 * from an exit handler is queued as soon as the slot is free. */
	if (v->pending_exc && !(c->eventinj & EVENTINJ_VALID)) {
		c->eventinj = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | v->pending_vector |
			      (v->pending_has_error ? EVENTINJ_EV | ((u64)v->pending_error << 32) : 0);
		v->pending_exc = false;
	}
	/* Every field of *exit is written below; each reason's union member by its reason. */
	assign_asid(v, c);
	if (v->arch.svm.check_vmcb) {
		v->arch.svm.check_vmcb = false;
		if (!vmcb_consistent(v, c)) {
			exit->reason = EXIT_ENTRY_FAIL;
			exit->hw_reason = exit->next_rip = 0;
			return;
		}
	}
	c->rax = v->gprs.rax;
	/* V_TPR is the guest's CR8 (V_INTR_MASKING keeps it off the host's TPR): the virtual local
	 * APIC's TPR[7:4], copied in and back, so both CR8 and the TPR register see one value. */
	tpr = __atomic_load_n(&v->lapic.tpr, __ATOMIC_RELAXED) >> 4;
	c->vintr = (c->vintr & ~VINTR_V_TPR) | tpr;
	spec_before_entry(v->spec_ctrl);
	t0 = rdtsc();
	svm_enter(v->arch.svm.vmcb_pa, &v->gprs, host_save[this_cpu()->cpu]);
	spec_after_exit(v->spec_ctrl);
	v->guest_cycles += rdtsc() - t0;
	v->gprs.rax = c->rax;
	if ((c->vintr & VINTR_V_TPR) != tpr) {
		unsigned long flags = spin_lock_irqsave(&v->lock);

		v->lapic.tpr = (u32)(c->vintr & VINTR_V_TPR) << 4;
		spin_unlock_irqrestore(&v->lock, flags);
	}
	c->tlb_control = 0;
	exit->hw_reason = c->exitcode;
	/* EVENTINJ is consumed by VMRUN; an event cut short by this exit is in EXITINTINFO, in the
	 * same format, and must be delivered again (APM §15.7.2). */
	c->eventinj = (c->exitintinfo & EVENTINJ_VALID) ? c->exitintinfo : 0;
	/* With NRIPS the CPU reports where the intercepted instruction ends (APM §15.7.1). */
	exit->next_rip = have_nrips ? c->next_rip : 0;
	if (__builtin_expect((c->eventinj & EVENTINJ_VALID) | v->arch.svm.soft.valid, 0))
		requeue_event(v);
	info1 = c->exitinfo1;
	if (__builtin_expect(v->arch.svm.nmi_iret | v->arch.svm.nmi_step, 0))
		nmi_after_exit(v);

	switch (c->exitcode) {
	case SVM_EXIT_CPUID:
		exit->reason = EXIT_CPUID;
		break;
	case SVM_EXIT_MSR:
		exit->reason = info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		exit->msr.index = (u32)v->gprs.rcx;
		break;
	case SVM_EXIT_IOIO:
		exit->reason = EXIT_IO;
		exit->io.port = (u16)(info1 >> 16);
		exit->io.size = (info1 / IOIO_SZ8) & 7; /* SZ8, SZ16, SZ32: bits 4-6, so 1, 2 or 4 */
		exit->io.in = info1 & IOIO_TYPE_IN;
		exit->io.string = info1 & IOIO_STR;
		exit->io.rep = info1 & IOIO_REP;
		exit->next_rip = c->exitinfo2; /* reported even without NRIPS (APM §15.10.2) */
		break;
	case SVM_EXIT_HLT:
		exit->reason = EXIT_HLT;
		break;
	case SVM_EXIT_VMMCALL:
		exit->reason = EXIT_HYPERCALL;
		break;
	case SVM_EXIT_XSETBV:
		exit->reason = EXIT_XSETBV;
		break;
	case SVM_EXIT_WBINVD:
		exit->reason = EXIT_WBINVD;
		break;
	case SVM_EXIT_RDPMC:
		exit->reason = EXIT_RDPMC;
		break;
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_ARMED:
	case SVM_EXIT_RDPRU:
		exit->reason = EXIT_UNDEF_INSN;
		break;
	case SVM_EXIT_NPF:
		exit->reason = EXIT_NPF;
		exit->npf.gpa = c->exitinfo2;
		exit->npf.error = info1;
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_SMI:
		exit->reason = EXIT_INTR;
		break;
	case SVM_EXIT_NMI:
		exit->reason = EXIT_NMI;
		break;
	case SVM_EXIT_VINTR:
		c->vintr &= ~VINTR_V_IRQ;
		c->intercept_misc1 &= ~INTERCEPT1_VINTR;
		exit->reason = EXIT_INTR_WINDOW;
		break;
	case SVM_EXIT_SHUTDOWN:
		exit->reason = EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		exit->reason = EXIT_VIRT_INSN;
		break;
	case SVM_EXIT_IRET:
		nmi_iret_exit(v);
		exit->reason = EXIT_INTR_WINDOW;
		break;
	case SVM_EXIT_EXCP_BASE + 1:
		if (v->arch.svm.nmi_step && nmi_step_db(v)) {
			exit->reason = EXIT_INTR_WINDOW;
			break;
		}
		__attribute__((fallthrough));
	case SVM_EXIT_EXCP_BASE + 17:
		exit->reason = EXIT_EXCEPTION;
		exit->exc.vector = (u8)(c->exitcode - SVM_EXIT_EXCP_BASE);
		exit->exc.error = (u32)info1;
		exit->exc.reflected = false;
		break;
	default:
		exit->reason = EXIT_UNKNOWN;
		if (svm_exit_invalid(c->exitcode)) {
			/* VMEXIT_INVALID: the VMCB failed a consistency check. The first crash reason
			 * wins, so this line, naming the state, is the one the VM ends with. */
			const char *why = vmcb_check(c);

			exit->reason = EXIT_ENTRY_FAIL;
			vm_crash(v->vm, "VMRUN failed (VMEXIT_INVALID, exit code %#llx): %s",
				 (unsigned long long)c->exitcode,
				 why ?: "no VMRUN check Keel knows of fails (APM vol. 2 15.5.1)");
		}
		break;
	}
}

/* vcpu_ops->run: the fast path's loop is here, so that an exit it handles goes back in without a
 * return and an indirect call per round trip (each a thunk where the mitigations ask). */
static bool svm_run(struct vcpu *v, struct vm_exit *exit)
{
	bool handled, again;

	for (;;) {
		u64 irqs = this_cpu()->nr_irqs;

		svm_run_once(v, exit);
		again = exit_fast(v, exit, irqs, &handled);
		if (v->insn_defer) {
			/* The handler completed the instruction (vcpu_insn_done): RIP moves on here,
			 * which may end Keel's single-step (v->slow). */
			if (v->insn_defer == INSN_DEFERRED) {
				v->insn_defer = INSN_NOW;
				svm_insn_done(v, v->insn_next);
				again = again && !v->slow;
			}
			v->insn_defer = INSN_NOW;
		}
		if (!again)
			return handled;
	}
}

static u64 svm_get(struct vcpu *v, enum vcpu_reg r)
{
	const struct vmcb *c = v->arch.svm.vmcb;

	switch (r) {
	case VREG_RIP:
		return c->rip;
	case VREG_RSP:
		return c->rsp;
	case VREG_RFLAGS:
		return c->rflags;
	case VREG_CR0:
		return c->cr0;
	case VREG_CR2:
		return c->cr2;
	case VREG_CR3:
		return c->cr3;
	case VREG_CR4:
		return c->cr4;
	case VREG_EFER:
		return c->efer & ~(u64)EFER_SVME; /* the guest's view */
	case VREG_CS_BASE:
		return c->cs.base;
	case VREG_CS_ATTR: /* VMCB attribute bit 9 is L, bit 10 is D/B (APM B.2) */
		return ((c->cs.attrib >> 9) & 1 ? CS_ATTR_L : 0) | ((c->cs.attrib >> 10) & 1 ? CS_ATTR_DB : 0);
	case VREG_CPL: /* the save area's CPL field, which the CPU keeps (APM vol. 2 §15.5.1, B.2) */
		return c->cpl & 3;
	case VREG_SS_BASE:
		return c->ss.base;
	case VREG_SS_LIMIT:
		return c->ss.limit;
	case VREG_SS_ATTR:
		return (c->ss.attrib >> 10) & 1 ? CS_ATTR_DB : 0;
	case VREG_DS_BASE:
		return c->ds.base;
	case VREG_DS_LIMIT:
		return c->ds.limit;
	case VREG_ES_BASE:
		return c->es.base;
	case VREG_ES_LIMIT:
		return c->es.limit;
	case VREG_CS_LIMIT:
		return c->cs.limit;
	case VREG_FS_BASE:
		return c->fs.base;
	case VREG_FS_LIMIT:
		return c->fs.limit;
	case VREG_GS_BASE:
		return c->gs.base;
	case VREG_GS_LIMIT:
		return c->gs.limit;
	}
	return 0;
}

static void svm_code_state(struct vcpu *v, struct vcpu_code_state *s)
{
	const struct vmcb *c = v->arch.svm.vmcb;

	*s = (struct vcpu_code_state){ .rip = c->rip,
				       .cs_base = c->cs.base,
				       .cr0 = c->cr0,
				       .cr3 = c->cr3,
				       .cr4 = c->cr4,
				       .efer = c->efer & ~(u64)EFER_SVME,
				       .cpl = c->cpl & 3 };
}

static void svm_inject(struct vcpu *v, u8 vector, bool has_error, u32 error);

/* An instruction Keel completed with RFLAGS.TF set: Keel's own single-step is over (the stepped
 * instruction exited), or the guest's raises its trap after the instruction (SDM vol. 3B
 * §17.3.1.4), which VMRUN does not raise for an instruction Keel completed. */
static __attribute__((noinline, cold)) void insn_done_tf(struct vcpu *v)
{
	struct vmcb *c = v->arch.svm.vmcb;

	if (v->arch.svm.nmi_step)
		nmi_step_end(v);
	if (c->rflags & RFLAGS_TF) {
		c->dr6 = dr6_after_db(c->dr6, DR6_BS);
		svm_inject(v, 1, false, 0);
	}
}

static void svm_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	struct vmcb *c = v->arch.svm.vmcb;

	switch (r) {
	case VREG_RIP:
		svm_insn_done(v, val);
		break;
	case VREG_RSP:
		c->rsp = val;
		break;
	case VREG_RFLAGS:
		c->rflags = val;
		break;
	case VREG_EFER:
		c->efer = val | EFER_SVME;
		v->arch.svm.check_vmcb = true;
		break;
	case VREG_CR2: /* VMRUN loads it from the VMCB (no clean bit to clear: Keel sets none) */
		c->cr2 = val;
		break;
	default:
		break; /* other CR writes are not intercepted yet */
	}
}

static void svm_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	v->pending_exc = true;
	v->pending_vector = vector;
	v->pending_has_error = has_error;
	v->pending_error = error;
}

static bool svm_irq_window_open(struct vcpu *v)
{
	const struct vmcb *c = v->arch.svm.vmcb;

	/* Not while Keel single-steps: the interrupt's frame would carry Keel's TF. */
	return !(c->eventinj & EVENTINJ_VALID) && !v->pending_exc && (c->rflags & RFLAGS_IF) &&
	       !(c->interrupt_shadow & 1) && !v->arch.svm.nmi_step;
}

static void svm_inject_irq(struct vcpu *v, u8 vector)
{
	v->arch.svm.vmcb->eventinj = EVENTINJ_VALID | EVENTINJ_TYPE_INTR | vector;
}

/* A virtual interrupt (V_IRQ) that ignores the TPR makes the CPU exit with VINTR as soon as the
 * guest could take an interrupt (APM §15.21.4). */
static void svm_request_irq_window(struct vcpu *v)
{
	struct vmcb *c = v->arch.svm.vmcb;

	c->vintr |= VINTR_V_IRQ | VINTR_V_IGN_TPR | VINTR_PRIO_MAX;
	c->intercept_misc1 |= INTERCEPT1_VINTR;
}

static bool svm_nmi_window_open(struct vcpu *v)
{
	const struct svm_vcpu *s = &v->arch.svm;

	return !(s->vmcb->eventinj & EVENTINJ_VALID) && !v->pending_exc && !s->nmi_masked &&
	       !(s->vmcb->interrupt_shadow & 1) && !s->nmi_step;
}

static void svm_inject_nmi(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;

	s->vmcb->eventinj = EVENTINJ_VALID | EVENTINJ_TYPE_NMI | 2;
	s->vmcb->intercept_misc1 |= INTERCEPT1_IRET;
	s->nmi_masked = true;
}

/* An exit as soon as the guest can take an NMI: its handler's IRET exits by itself (the
 * intercept); past that IRET or a shadow, one instruction single-stepped. With another event
 * queued, the next full-path exit injects it (at the latest the scheduler's timer). */
static void svm_request_nmi_window(struct vcpu *v)
{
	struct svm_vcpu *s = &v->arch.svm;
	struct vmcb *c = s->vmcb;

	if (s->nmi_step || (s->nmi_masked && !s->nmi_iret) || (c->eventinj & EVENTINJ_VALID) || v->pending_exc)
		return;
	s->nmi_step = true;
	s->step_iret = s->nmi_iret;
	s->step_tf = c->rflags & RFLAGS_TF;
	s->step_dr6 = c->dr6;
	c->rflags |= RFLAGS_TF;
}

static void svm_reset(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	v->arch.svm.check_vmcb = true;

	svm_set_boot_state(v, boot);
	v->arch.svm.asid_generation = 0; /* a fresh ASID: no translation of the old context survives */
}

static void svm_unload(struct vcpu *v)
{
	/* Nothing cached: Keel never sets VMCB clean bits, and assign_asid gives v an ASID of the
	 * next CPU's generation when it moves. */
}

/*
 * v's nested translations go: the next VMRUN takes a fresh ASID (assign_asid), as KVM does
 * without flush-by-ASID. Nothing is cached under an ASID that the CPU has not handed out in its
 * current generation, and a new generation starts with TLB_CONTROL_FLUSH_ALL, so what was
 * cached under the old one is never used again. SVM's TLB flush covers guest and nested
 * translations alike (APM vol. 2 §15.16.1, §15.25.11).
 */
static void svm_flush_tlb(struct vcpu *v)
{
	v->arch.svm.asid_generation = 0;
}

static const struct vcpu_ops svm_ops = {
	.name = "AMD SVM",
	.cpu_enable = svm_cpu_enable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.map = svm_npt_map,
	.unmap = svm_npt_unmap,
	.free_tables = svm_npt_free_stale,
	.flush_tlb = svm_flush_tlb,
	.vcpu_init = svm_vcpu_init,
	.vcpu_destroy = svm_vcpu_destroy,
	.reset = svm_reset,
	.unload = svm_unload,
	.run = svm_run,
	.get = svm_get,
	.set = svm_set,
	.code_state = svm_code_state,
	.inject = svm_inject,
	.irq_window_open = svm_irq_window_open,
	.inject_irq = svm_inject_irq,
	.request_irq_window = svm_request_irq_window,
	.nmi_window_open = svm_nmi_window_open,
	.inject_nmi = svm_inject_nmi,
	.request_nmi_window = svm_request_nmi_window,
};

const struct vcpu_ops *svm_probe(void);
const struct vcpu_ops *svm_probe(void)
{
	struct cpuid_regs r;

	if (cpuid(0x80000000, 0).eax < 0x8000000a || !(cpuid(0x80000001, 0).ecx & CPUID80000001_ECX_SVM))
		return NULL;
	r = cpuid(0x8000000a, 0);
	if (!(r.edx & CPUID8000000A_EDX_NP)) {
		pr_warn("svm: no nested paging; SVM is not used\n");
		return NULL;
	}
	max_asid = r.ebx;
	svm_npt_init();
	have_nrips = r.edx & CPUID8000000A_EDX_NRIPS;
	if (max_asid < 2)
		return NULL;
	/* RDTSCP and RDPID run natively (APM vol. 2 has no RDPID intercept): wherever the CPU has
	 * them, each vCPU has an IA32_TSC_AUX of its own. */
	vcpu_tsc_aux = cpu_has_tsc_aux();
	pr_info("svm: AMD-V with nested paging, %u ASIDs%s\n", max_asid, have_nrips ? ", NRIPS" : "");
	return &svm_ops;
}
