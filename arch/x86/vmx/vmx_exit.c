/* SPDX-License-Identifier: MIT */
/* VM exits: translation into the vendor-neutral struct vm_exit, the exits the backend handles
 * itself (CR accesses to bits Keel owns), and event injection and re-injection. */
#include "arch/x86/debugreg.h"
#include "arch/x86/spec.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/string.h"
#include "vmm/exit_fast.h"

/* The guest's view of CR0/CR4: host-owned bits from the read shadow, the rest as they are. */
static u64 guest_cr(enum vmcs_field cr, enum vmcs_field mask_field, enum vmcs_field shadow)
{
	u64 mask = vmcs_readnat(mask_field);

	return (vmcs_readnat(cr) & ~mask) | (vmcs_readnat(shadow) & mask);
}

u64 vmx_guest_cr0(void)
{
	return guest_cr(GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
}

u64 vmx_guest_cr4(void)
{
	return guest_cr(GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
}

static bool guest_protected(void)
{
	return vmx_guest_cr0() & CR0_PE;
}

void vmx_insn_done(struct vcpu *v, u64 next_rip)
{
	u32 shadow = vmcs_read32(GUEST_INTERRUPTIBILITY);

	vmcs_writenat(GUEST_RIP, next_rip);
	if (__builtin_expect(shadow & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS), 0))
		vmcs_write32(GUEST_INTERRUPTIBILITY, shadow & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
	/* The single-step trap a CPU raises after the instruction (SDM vol. 3B §17.3.1.4), which
	 * VM entry does not raise for an instruction Keel completed: a #DB with DR6.BS. It goes in
	 * as an injected exception, which discards any debug exception the CPU had pending for the
	 * same boundary (a MOV SS's, SDM vol. 3C §26.7.3), so the guest sees one #DB. */
	if (vmcs_readnat(GUEST_RFLAGS) & RFLAGS_TF) {
		dregs_guest_db(DR6_BS);
		vcpu_ops->inject(v, VEC_DB, false, 0);
	}
}

static void skip_exiting_insn(struct vcpu *v)
{
	vmx_insn_done(v, vmcs_readnat(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

void vmx_set_efer(u64 efer)
{
	u32 entry = vmcs_read32(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_GUEST;

	vmcs_write64(GUEST_IA32_EFER, efer);
	/* "IA-32e mode guest" must match EFER.LMA at entry (SDM vol. 3C §26.2.4). */
	vmcs_write32(VM_ENTRY_CONTROLS, entry | (efer & EFER_LMA ? ENTRY_IA32E_GUEST : 0));
}

/*
 * MOV to CR0/CR4 that touched a bit Keel owns (CR0.NE and the other fixed bits, CR4.VMXE):
 * emulated here, since no vendor-neutral exit exists for it. The guest keeps its own view in the
 * read shadow; setting CR4.VMXE (VMX is hidden from it) is #GP, as on a CPU without VMX.
 */
enum cr_result { CR_DONE, CR_FAULT, CR_UNHANDLED };

/*
 * CR8 is the task-priority register of the guest's virtual local APIC: without a TPR shadow, a
 * MOV to CR8 that did not exit would set the host's own TPR and could mask its interrupts, so
 * both directions exit and are emulated (SDM vol. 3A §11.8.6; CR8 exists only in 64-bit mode).
 */
static enum cr_result emulate_cr8(struct vcpu *v, u64 qual)
{
	unsigned r = CR_QUAL_GPR(qual);
	unsigned long flags;
	u64 val;

	if (CR_QUAL_TYPE(qual) == CR_ACCESS_MOV_FROM) {
		val = __atomic_load_n(&v->lapic.tpr, __ATOMIC_RELAXED) >> 4;
		if (r == 4)
			vmcs_writenat(GUEST_RSP, val);
		else
			*vcpu_gpr(&v->gprs, r) = val;
	} else {
		val = r == 4 ? vmcs_readnat(GUEST_RSP) : *vcpu_gpr(&v->gprs, r);
		if (val >> 4)
			return CR_FAULT; /* reserved bits 63:4 */
		flags = spin_lock_irqsave(&v->lock);
		v->lapic.tpr = (u32)val << 4;
		spin_unlock_irqrestore(&v->lock, flags);
	}
	skip_exiting_insn(v);
	return CR_DONE;
}

static enum cr_result emulate_cr_write(struct vcpu *v, u64 qual)
{
	unsigned cr = CR_QUAL_CR(qual), r = CR_QUAL_GPR(qual);
	u64 val = r == 4 ? vmcs_readnat(GUEST_RSP) : *vcpu_gpr(&v->gprs, r);
	bool long_mode = vmcs_read64(GUEST_IA32_EFER) & EFER_LMA;

	if (cr == 8 && CR_QUAL_TYPE(qual) <= CR_ACCESS_MOV_FROM)
		return emulate_cr8(v, qual);

	if (!long_mode)
		val = (u32)val;
	/* CLTS, LMSW and CR reads never touch a host-owned bit with the controls Keel sets. */
	if (CR_QUAL_TYPE(qual) != CR_ACCESS_MOV_TO || (cr != 0 && cr != 4))
		return CR_UNHANDLED;
	if (cr == 0) {
		u64 old = vmx_guest_cr0(), efer = vmcs_read64(GUEST_IA32_EFER);

		if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
			return CR_FAULT;
		if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
			if (!(vmx_guest_cr4() & CR4_PAE))
				return CR_FAULT;
			vmx_set_efer(efer | EFER_LMA);
		} else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
			vmx_set_efer(efer & ~(u64)EFER_LMA);
		}
		vmcs_writenat(CR0_READ_SHADOW, val);
		vmcs_writenat(GUEST_CR0, vmx_cr0_real(val));
	} else {
		/* Bits the CPU cannot set (IA32_VMX_CR4_FIXED1 clear: reserved, SDM vol. 3A §2.5)
		 * are host-owned, so their writes exit here: #GP, as the CPU would raise without
		 * VMX, instead of a read shadow that shows a bit the real CR4 does not have. The
		 * same for a bit the CPUID policy hides (GUEST_CR4_HIDDEN). */
		if ((val >> 32) || (val & ~vmx_caps.cr4_fixed1) || (val & GUEST_CR4_HIDDEN))
			return CR_FAULT;
		vmcs_writenat(CR4_READ_SHADOW, val);
		vmcs_writenat(GUEST_CR4, vmx_cr4_real(val));
	}
	skip_exiting_insn(v);
	return CR_DONE;
}

void vmx_inject_event(u32 info, bool has_error, u32 error)
{
	/* Real mode delivers no error code, and VM entry refuses one there (SDM vol. 3C §26.2.1.3). */
	if (has_error && guest_protected()) {
		info |= INTR_INFO_ERROR_VALID;
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write32(VM_ENTRY_INTR_INFO, info | INTR_INFO_VALID);
}

/*
 * An event whose delivery this exit interrupted (IDT-vectoring information) is delivered again
 * at the next entry, with its error code and, for software events, the instruction length
 * (SDM vol. 3C §27.2.3, §31.7.1.1).
 */
static void requeue_vectoring_event(void)
{
	u32 idt = vmcs_read32(IDT_VECTORING_INFO), type;

	if (!(idt & INTR_INFO_VALID))
		return;
	type = INTR_INFO_TYPE(idt);
	if (idt & INTR_INFO_ERROR_VALID)
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read32(IDT_VECTORING_ERROR_CODE));
	if (type == INTR_TYPE_NR_SOFT_INTR || type == INTR_TYPE_NR_PRIV_SOFT_EXC || type == INTR_TYPE_NR_SOFT_EXC)
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
	vmcs_write32(VM_ENTRY_INTR_INFO, idt & ~INTR_INFO_NMI_UNBLOCK);
}

/*
 * The exit came from a fault (or EPT violation) in an IRET that was unblocking NMIs: the IRET
 * did not complete, so the guest's NMI handler still runs and blocking by NMI must be back
 * before it resumes (SDM vol. 3C §27.2.2, §31.7.1.2). Not when the exit interrupted an event's
 * delivery (IDT-vectoring information valid), where the bit means nothing.
 */
static void nmi_reblock(void)
{
	if (!vmx_caps.vnmi || (vmcs_read32(IDT_VECTORING_INFO) & INTR_INFO_VALID))
		return;
	vmcs_write32(GUEST_INTERRUPTIBILITY, vmcs_read32(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

static const char *entry_failure(u32 basic)
{
	switch (basic) {
	case VMX_EXIT_INVALID_GUEST_STATE:
		return "invalid guest state";
	case VMX_EXIT_MSR_LOADING:
		return "MSR loading";
	case VMX_EXIT_MACHINE_CHECK_ENTRY:
		return "machine-check event";
	default:
		return "unknown reason";
	}
}

/* Maps a VM exit to the vendor-neutral reason; false if it was handled here (go back in). */
static bool translate_exit(struct vcpu *v, struct vm_exit *exit, u32 reason)
{
	u32 basic = VMX_EXIT_REASON_BASIC(reason);
	u64 qual;
	u32 info;

	if (reason & VMX_EXIT_REASON_ENTRY_FAIL) {
		/* The guest state was rejected after the checks of §26.3.1; qualification 2-4 names
		 * PDPTE loading, NMI injection or the VMCS link pointer (§26.8). */
		vm_crash(v->vm, "VM entry failed: %s (exit reason %u, qualification %llu)", entry_failure(basic), basic,
			 (unsigned long long)vmcs_readnat(EXIT_QUALIFICATION));
		exit->reason = EXIT_ENTRY_FAIL;
		return true;
	}
	switch (basic) {
	case VMX_EXIT_CPUID:
		exit->reason = EXIT_CPUID;
		break;
	case VMX_EXIT_HLT:
		exit->reason = EXIT_HLT;
		break;
	case VMX_EXIT_VMCALL:
		exit->reason = EXIT_HYPERCALL;
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		exit->reason = basic == VMX_EXIT_WRMSR ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		exit->msr.index = (u32)v->gprs.rcx;
		break;
	case VMX_EXIT_IO:
		qual = vmcs_readnat(EXIT_QUALIFICATION);
		exit->reason = EXIT_IO;
		exit->io.port = IO_QUAL_PORT(qual);
		exit->io.size = (u8)IO_QUAL_SIZE(qual);
		exit->io.in = qual & IO_QUAL_IN;
		exit->io.string = qual & IO_QUAL_STRING;
		exit->io.rep = qual & IO_QUAL_REP;
		break;
	case VMX_EXIT_XSETBV:
		exit->reason = EXIT_XSETBV;
		break;
	case VMX_EXIT_WBINVD:
		exit->reason = EXIT_WBINVD;
		break;
	case VMX_EXIT_RDPMC:
		exit->reason = EXIT_RDPMC;
		return true; /* #GP: RIP stays */
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_MWAIT:
		exit->reason = EXIT_UNDEF_INSN;
		return true; /* #UD: RIP stays */
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_VMCLEAR ... VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
		exit->reason = EXIT_VIRT_INSN;
		return true; /* #UD: RIP stays on the instruction */
	case VMX_EXIT_EPT_VIOLATION:
		exit->reason = EXIT_NPF;
		exit->npf.gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
		exit->npf.error = vmcs_readnat(EXIT_QUALIFICATION);
		if (exit->npf.error & EPT_QUAL_NMI_UNBLOCK)
			nmi_reblock();
		return true;
	case VMX_EXIT_PREEMPTION_TIMER:
		exit->reason = EXIT_PREEMPT;
		return true;
	case VMX_EXIT_EXTERNAL_INTERRUPT:
		exit->reason = EXIT_INTR;
		return true;
	case VMX_EXIT_INTERRUPT_WINDOW:
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
			     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_INTR_WINDOW_EXITING);
		exit->reason = EXIT_INTR_WINDOW;
		return true;
	case VMX_EXIT_NMI_WINDOW:
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
			     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_NMI_WINDOW_EXITING);
		exit->reason = EXIT_INTR_WINDOW;
		return true;
	case VMX_EXIT_TRIPLE_FAULT:
		exit->reason = EXIT_SHUTDOWN;
		return true;
	case VMX_EXIT_EXCEPTION_NMI:
		info = vmcs_read32(VM_EXIT_INTR_INFO);
		/* Defined for exceptions other than #DF (SDM vol. 3C §27.2.2). */
		if ((info & INTR_INFO_NMI_UNBLOCK) && INTR_INFO_TYPE(info) == INTR_TYPE_NR_HW_EXC &&
		    INTR_INFO_VECTOR(info) != 8)
			nmi_reblock();
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NR_NMI) {
			/* NMI exiting: the host's NMI, which the host handles itself. */
			__asm__ volatile("int $2");
			exit->reason = EXIT_NMI;
		} else if (INTR_INFO_VECTOR(info) == VEC_DB && INTR_INFO_TYPE(info) == INTR_TYPE_NR_PRIV_SOFT_EXC) {
			/* ICEBP (INT1): delivered again as it came, a privileged software exception
			 * with the instruction's length, so the guest's handler returns past it (SDM
			 * vol. 3C §26.6.1.1, §28.2.1). As a hardware #DB it would restart the ICEBP. */
			vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
			vmcs_write32(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_NR_PRIV_SOFT_EXC << 8) | VEC_DB);
			exit->reason = EXIT_EXCEPTION;
			exit->exc.vector = VEC_DB;
			exit->exc.error = 0;
			exit->exc.reflected = true;
		} else if (INTR_INFO_VECTOR(info) == VEC_DB || INTR_INFO_VECTOR(info) == VEC_AC) {
			/* A #DB that exits leaves DR6 alone and reports its causes in the exit
			 * qualification (SDM vol. 3C §27.1): the guest must find them in DR6 as if
			 * it had taken the #DB itself. Not for ICEBP (INT1), which sets none. */
			if (INTR_INFO_VECTOR(info) == VEC_DB && INTR_INFO_TYPE(info) == INTR_TYPE_NR_HW_EXC)
				dregs_guest_db(vmcs_readnat(EXIT_QUALIFICATION));
			exit->reason = EXIT_EXCEPTION;
			exit->exc.vector = (u8)INTR_INFO_VECTOR(info);
			exit->exc.error = info & INTR_INFO_ERROR_VALID ? vmcs_read32(VM_EXIT_INTR_ERROR_CODE) : 0;
			exit->exc.reflected = false;
		} else {
			exit->reason = EXIT_UNKNOWN;
		}
		return true;
	case VMX_EXIT_CR_ACCESS:
		switch (emulate_cr_write(v, vmcs_readnat(EXIT_QUALIFICATION))) {
		case CR_DONE:
			return false;
		case CR_FAULT:
			vcpu_ops->inject(v, VEC_GP, true, 0);
			return false;
		case CR_UNHANDLED:
			break;
		}
		exit->reason = EXIT_UNKNOWN;
		return true;
	default:
		exit->reason = EXIT_UNKNOWN;
		return true;
	}
	/* Instruction exits: the CPU reports the instruction's length (SDM vol. 3C §27.2.5). */
	exit->next_rip = vmcs_readnat(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	return true;
}

/*
 * A #DB injected in an STI or MOV SS shadow with RFLAGS.TF set (single-stepping over STI or MOV
 * SS: the #DB exited, and is reflected): VM entry insists that a single-step trap is then
 * pending, PENDING_DBG_EXCEPTIONS.BS, or it fails (SDM vol. 3C §26.3.1.5). The CPU sets BS
 * itself on other exits but not on a #DB it handed to Keel. The injected #DB discards the
 * pending one (§26.7.3), so the guest still sees one #DB.
 */
static void db_in_shadow(void)
{
	if ((vmcs_read32(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) &&
	    (vmcs_readnat(GUEST_RFLAGS) & RFLAGS_TF))
		vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS,
			      vmcs_readnat(GUEST_PENDING_DBG_EXCEPTIONS) | PENDING_DBG_BS);
}

/* The scheduler's deadline as a VMX-preemption timer count, taken as late as possible. */
static void program_preemption_timer(struct vmx_vcpu *x)
{
	bool on = x->timer_deadline != 0;

	if (on != x->timer_on) {
		u32 pin = vmcs_read32(PIN_BASED_VM_EXEC_CONTROL);

		vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, on ? pin | PIN_PREEMPTION_TIMER : pin & ~PIN_PREEMPTION_TIMER);
		x->timer_on = on;
	}
	if (on) {
		u64 now = rdtsc();
		u64 left = x->timer_deadline > now ? (x->timer_deadline - now) >> vmx_caps.preempt_timer_shift : 0;

		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (u32)MIN(left, 0xffffffffull));
	}
}

/* vcpu_ops->run. The fast path's loop is here too (exit_fast), so that an exit it handles goes
 * back in without a return and an indirect call per round trip (each a thunk where the
 * mitigations ask). */
bool vmx_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmx_vcpu *x = &v->arch.vmx;
	bool handled, again;
	int ret;
	u32 reason;
	u64 t0, irqs;

	exit->next_rip = exit->hw_reason = 0;
	exit->npf.gpa = exit->npf.error = 0; /* the whole union */
	for (;;) {
		/* A fast-path handler may have made another vCPU's VMCS current. */
		vmx_load(v);
		if (__atomic_load_n(&v->vm->arch.vmx.ept_generation, __ATOMIC_ACQUIRE) != x->ept_generation) {
			x->ept_generation = v->vm->arch.vmx.ept_generation;
			vmx_ept_flush(v->vm);
		}
		irqs = this_cpu()->nr_irqs;
		/* An event whose delivery an exit interrupted goes first (re-queued after the exit);
		 * an exception from an exit handler is queued as soon as the slot is free. */
		if (v->pending_exc && !(vmcs_read32(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
			if (v->pending_vector == VEC_DB)
				db_in_shadow();
			vmx_inject_event(INTR_TYPE_HW_EXCEPTION | v->pending_vector, v->pending_has_error,
					 v->pending_error);
			v->pending_exc = false;
		}
		if (x->vmcs_error) {
			vm_crash(v->vm, "the VMCS could not be written (see the VMX errors above)");
			exit->reason = EXIT_ENTRY_FAIL;
			return false;
		}
		program_preemption_timer(x);
		spec_before_entry(v->spec_ctrl);
		t0 = rdtsc();
		ret = vmx_enter(&v->gprs, x->launched, &x->cr2);
		spec_after_exit(v->spec_ctrl);
		v->guest_cycles += rdtsc() - t0;
		if (ret) {
			u32 err = ret == 2 ? vmcs_read32(VM_INSTRUCTION_ERROR) : 0;

			vm_crash(v->vm, "%s failed: %s (VM-instruction error %u)",
				 x->launched ? "VMRESUME" : "VMLAUNCH",
				 ret == 2 ? vmx_insn_error_name(err) : "VMfailInvalid", err);
			exit->reason = EXIT_ENTRY_FAIL;
			exit->hw_reason = err;
			return false;
		}
		x->launched = true;
		reason = vmcs_read32(VM_EXIT_REASON);
		exit->hw_reason = reason;
		exit->next_rip = 0;
		requeue_vectoring_event();
		if (!translate_exit(v, exit, reason))
			continue;
		again = exit_fast(v, exit, irqs, &handled);
		if (v->insn_defer) {
			/* The handler completed the instruction (vcpu_insn_done). */
			if (v->insn_defer == INSN_DEFERRED)
				vmx_insn_done(v, v->insn_next);
			v->insn_defer = INSN_NOW;
		}
		if (!again)
			return handled;
	}
}
