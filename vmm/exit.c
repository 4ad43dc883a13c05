/* SPDX-License-Identifier: MIT */
/* Exit dispatch: a table indexed by the vendor-neutral exit reason. */
#include "vmm/exit.h"

#include "arch/x86/fpu.h"
#include "arch/x86/regs.h"
#include "kernel/log.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "vmm/guest_mem.h"
#include "vmm/mmio.h"
#include "vmm/platform.h"

static void handle_nothing(struct vcpu *v, const struct vm_exit *e)
{
	/* A host interrupt or NMI: it was taken on the way out; just go back in. */
}

static const exit_handler_t handlers[EXIT_REASON_MAX] = {
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_MSR_READ] = handle_msr,
	[EXIT_MSR_WRITE] = handle_msr,
	[EXIT_IO] = handle_io,
	[EXIT_HLT] = handle_hlt,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_NPF] = handle_npf,
	[EXIT_INTR] = handle_nothing,
	[EXIT_PREEMPT] = handle_nothing,
	[EXIT_NMI] = handle_nothing,
	[EXIT_INTR_WINDOW] = handle_nothing,
	[EXIT_VIRT_INSN] = handle_virt_insn,
	[EXIT_EXCEPTION] = handle_exception,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_WBINVD] = handle_wbinvd,
	[EXIT_RDPMC] = handle_rdpmc,
	[EXIT_UNDEF_INSN] = handle_undef_insn,
	[EXIT_SHUTDOWN] = handle_fatal,
	[EXIT_ENTRY_FAIL] = handle_fatal,
	[EXIT_UNKNOWN] = handle_fatal,
};

static const char *const names[EXIT_REASON_MAX] = {
	[EXIT_NONE] = "none",
	[EXIT_CPUID] = "cpuid",
	[EXIT_MSR_READ] = "rdmsr",
	[EXIT_MSR_WRITE] = "wrmsr",
	[EXIT_IO] = "io",
	[EXIT_HLT] = "hlt",
	[EXIT_HYPERCALL] = "hypercall",
	[EXIT_NPF] = "npf",
	[EXIT_INTR] = "intr",
	[EXIT_PREEMPT] = "preempt",
	[EXIT_NMI] = "nmi",
	[EXIT_INTR_WINDOW] = "intr-window",
	[EXIT_SHUTDOWN] = "shutdown",
	[EXIT_VIRT_INSN] = "virt-insn",
	[EXIT_EXCEPTION] = "exception",
	[EXIT_XSETBV] = "xsetbv",
	[EXIT_WBINVD] = "wbinvd",
	[EXIT_RDPMC] = "rdpmc",
	[EXIT_UNDEF_INSN] = "undef-insn",
	[EXIT_ENTRY_FAIL] = "entry-fail",
	[EXIT_UNKNOWN] = "unknown",
};

const char *exit_reason_name(enum exit_reason r)
{
	return r < EXIT_REASON_MAX && names[r] ? names[r] : "?";
}

void exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
	exit_handler_t h = e->reason < EXIT_REASON_MAX ? handlers[e->reason] : NULL;

	v->exit_counts[e->reason < EXIT_REASON_MAX ? e->reason : EXIT_UNKNOWN]++;
	(h ? h : handle_fatal)(v, e);
}

bool skip_insn_decode(struct vcpu *v, const struct vm_exit *e, const u8 *opcode, unsigned len)
{
	u64 next;

	if (insn_end(v, opcode, len, &next) < 0) {
		vm_crash(v->vm, "cannot decode the exiting instruction at %#llx",
			 (unsigned long long)vcpu_ops->get(v, VREG_RIP));
		return false;
	}
	vcpu_insn_done(v, next);
	return true;
}

/* The vCPU's state when its VM dies of an exit Keel cannot handle: enough to find the guest's
 * faulting code (a symbol map gives RIP's function) and why it fell (CR2, the stack, paging). */
static void log_vcpu_state(struct vcpu *v)
{
	const struct vcpu_gprs *g = &v->gprs;
	u64 r[VREG_EFER + 1];

	for (unsigned i = 0; i <= VREG_EFER; i++)
		r[i] = vcpu_ops->get(v, (enum vcpu_reg)i);
	pr_warn("vm %s: vCPU %u: RIP %#llx RSP %#llx RFLAGS %#llx CPL %llu\n", v->vm->name, v->id,
		(unsigned long long)r[VREG_RIP], (unsigned long long)r[VREG_RSP], (unsigned long long)r[VREG_RFLAGS],
		(unsigned long long)vcpu_ops->get(v, VREG_CPL));
	pr_warn("vm %s: vCPU %u: CR0 %#llx CR2 %#llx CR3 %#llx CR4 %#llx EFER %#llx\n", v->vm->name, v->id,
		(unsigned long long)r[VREG_CR0], (unsigned long long)r[VREG_CR2], (unsigned long long)r[VREG_CR3],
		(unsigned long long)r[VREG_CR4], (unsigned long long)r[VREG_EFER]);
	pr_warn("vm %s: vCPU %u: RAX %#llx RBX %#llx RCX %#llx RDX %#llx RSI %#llx RDI %#llx RBP %#llx\n", v->vm->name,
		v->id, (unsigned long long)g->rax, (unsigned long long)g->rbx, (unsigned long long)g->rcx,
		(unsigned long long)g->rdx, (unsigned long long)g->rsi, (unsigned long long)g->rdi,
		(unsigned long long)g->rbp);
	/* A fault while delivering a fault: how the guest's own page tables map CR2 now, entry by
	 * entry (a walk that ends early ends at the entry that is not present). */
	if (r[VREG_CR2] && (r[VREG_CR0] & CR0_PG)) {
		struct vcpu_code_state cs;
		struct walk_trace t = { 0 };
		gpa_t gpa = 0;
		int ret;

		vcpu_code_state(v, &cs);
		ret = guest_walk(v, &cs, r[VREG_CR2], &gpa, &t);
		for (unsigned i = 0; i < t.n && i < 4; i++)
			pr_warn("vm %s: vCPU %u: walk of CR2, step %u (top first): entry at GPA %#llx = %#llx\n",
				v->vm->name, v->id, i + 1, (unsigned long long)t.ea[i], (unsigned long long)t.e[i]);
		pr_warn("vm %s: vCPU %u: walk of CR2: %s (GPA %#llx)\n", v->vm->name, v->id,
			ret == 0   ? "mapped now"
			: ret == 1 ? "not present"
				   : "outside RAM",
			(unsigned long long)gpa);
	}
}

void handle_fatal(struct vcpu *v, const struct vm_exit *e)
{
	if (v->vm->state != VM_DEAD)
		log_vcpu_state(v);
	switch (e->reason) {
	case EXIT_SHUTDOWN:
		vm_crash(v->vm, "triple fault (shutdown) at RIP %#llx", (unsigned long long)vcpu_ops->get(v, VREG_RIP));
		break;
	case EXIT_ENTRY_FAIL:
		vm_crash(v->vm, "VM entry failed (exit code %#llx)", (unsigned long long)e->hw_reason);
		break;
	default:
		vm_crash(v->vm, "unhandled exit %#llx at RIP %#llx", (unsigned long long)e->hw_reason,
			 (unsigned long long)vcpu_ops->get(v, VREG_RIP));
		break;
	}
}

void handle_virt_insn(struct vcpu *v, const struct vm_exit *e)
{
	/* Keel offers no nested virtualization: SVM instructions are undefined for guests. */
	vcpu_ops->inject(v, EXC_UD, false, 0);
}

void handle_exception(struct vcpu *v, const struct vm_exit *e)
{
	/* #DB and #AC are intercepted only to stop them from looping inside the CPU's delivery;
	 * reflect them into the guest (#AC carries an error code of 0), unless the backend already
	 * did (an event type only it can express, such as VT-x's ICEBP). */
	if (!e->exc.reflected)
		vcpu_ops->inject(v, e->exc.vector, e->exc.vector == 17, e->exc.error);
}

void handle_xsetbv(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 op[] = { 0x0f, 0x01, 0xd1 };
	u64 value = (v->gprs.rdx << 32) | (u32)v->gprs.rax;

	/* Reserved or unsupported XCR0 bits, or another XCR: #GP, as the CPU would raise. */
	if (!fpu_guest_xsetbv((u32)v->gprs.rcx, value)) {
		vcpu_ops->inject(v, EXC_GP, true, 0);
		return;
	}
	v->xcr0 = value;
	skip_insn(v, e, op, sizeof(op));
}

void handle_wbinvd(struct vcpu *v, const struct vm_exit *e)
{
	/* WBINVD writes back and invalidates every cache of the physical CPU, shared with other VMs
	 * (a cheap way to slow them down); WBNOINVD (F3 0F 09) too, minus the invalidation. Guests
	 * have no device that DMAs around the cache, so, as KVM does without an assigned device,
	 * both do nothing. Intercepted on both vendors (SDM vol. 3C §25.1.3 "WBINVD exiting", which
	 * covers WBNOINVD; APM vol. 2 §15.9 and table B-1, the WBINVD/WBNOINVD intercept). */
	static const u8 op[] = { 0x0f, 0x09 };

	skip_insn(v, e, op, sizeof(op));
}

void handle_rdpmc(struct vcpu *v, const struct vm_exit *e)
{
	/* There is no virtual PMU (CPUID leaf 0xA is zero): every counter index is invalid, #GP(0)
	 * (SDM vol. 2B RDPMC), never the host's counters, which count other VMs' events. */
	vcpu_ops->inject(v, EXC_GP, true, 0);
}

void handle_undef_insn(struct vcpu *v, const struct vm_exit *e)
{
	/* MONITOR/MWAIT (and MONITORX/MWAITX) and RDPRU, hidden from CPUID: #UD as on a CPU
	 * without them (SDM vol. 2B MONITOR: "#UD if CPUID.01H:ECX.MONITOR[bit 3] = 0"). An MWAIT
	 * would stop a physical CPU the scheduler owns; RDPRU reads the host's APERF/MPERF. */
	vcpu_ops->inject(v, EXC_UD, false, 0);
}

void handle_hlt(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 op[] = { 0xf4 };

	if (!skip_insn(v, e, op, sizeof(op)))
		return;
	/* Only an INIT or an NMI from another vCPU could wake it (or an I/O APIC pin a guest set to
	 * NMI mode, which no device of Keel's drives that way): alone, it is stuck. */
	if (!(vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_IF) && v->vm->nr_vcpus == 1 &&
	    !__atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED)) {
		vm_crash(v->vm, "HLT with interrupts disabled: the vCPU can never wake");
		return;
	}
	/* The scheduler blocks the vCPU until platform_can_wake() (kernel/sched.c). Its IF cannot
	 * change while it is halted: other CPUs read it here (they cannot read the VMCS). */
	v->halt_if = vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_IF;
	v->halted = true;
}

void handle_npf(struct vcpu *v, const struct vm_exit *e)
{
	const struct vm_mmio_handler *h = mmio_find(v->vm, e->npf.gpa);

	if (h) {
		mmio_emulate(v, h, e->npf.gpa);
		return;
	}
	vm_crash(v->vm, "access to guest-physical %#llx outside its memory (RIP %#llx)", (unsigned long long)e->npf.gpa,
		 (unsigned long long)vcpu_ops->get(v, VREG_RIP));
}
