/* SPDX-License-Identifier: MIT */
/*
 * The exit fast path, inlined into the backends' run loops (svm_run, vmx_run): on the hot path
 * each call and return costs a thunk where the mitigations ask for them, so exit_fast is no
 * function of its own, and it calls the handlers directly, not through the handler table (an
 * indirect call is a retpoline).
 */
#ifndef KEEL_VMM_EXIT_FAST_H
#define KEEL_VMM_EXIT_FAST_H

#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "vmm/exit.h"

/* With interrupts off, right after an exit: handles it if it is of a kind that needs nothing but
 * its handler (CPUID, MSRs, port I/O, hypercalls) and returns true if the guest may be entered
 * again at once: the handler changed no interrupt, timer or run state (v->slow stays clear) and
 * no interrupt reached this CPU since the entry (irqs_before: this_cpu()->nr_irqs then). False:
 * the exit is left to exit_dispatch() with interrupts on, or was handled (*handled) and the full
 * path must run before the next entry. CPUID, MSRs (the local APIC's included: they only flag
 * v->slow) and ports no device claims (a device's handler may print or raise interrupts: with
 * interrupts on) leave moving RIP to the caller (v->insn_defer): the caller completes the
 * instruction with its own code and checks v->slow again. Hypercalls (all but the console
 * write) move RIP through vcpu_ops before they run, as on the full path: one may reset the vCPU. */
static __attribute__((always_inline)) inline bool exit_fast(struct vcpu *v, const struct vm_exit *e, u64 irqs_before,
							    bool *handled)
{
	struct percpu *cpu = this_cpu();

	*handled = false;
	if (cpu->nr_irqs != irqs_before)
		return false;
	switch (e->reason) {
	case EXIT_CPUID:
		v->slow = false;
		v->insn_defer = INSN_DEFER;
		handle_cpuid(v, e);
		break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		v->slow = false;
		v->insn_defer = INSN_DEFER;
		handle_msr(v, e);
		break;
	case EXIT_IO:
		if (e->io.string || v->vm->io_map[e->io.port])
			return false;
		v->slow = false;
		v->insn_defer = INSN_DEFER;
		io_unclaimed(v, e);
		break;
	case EXIT_HYPERCALL:
		if (!hypercall_is_short(v))
			return false;
		v->slow = false;
		handle_hypercall(v, e);
		break;
	default:
		return false;
	}
	v->exit_counts[e->reason]++;
	*handled = true;
	return !v->slow && !v->halted && __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING &&
	       !sched_resched_asked() && cpu->nr_irqs == irqs_before;
}

#endif
