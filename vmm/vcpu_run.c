/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's run loop, as the scheduler (kernel/sched.c) calls it: enter the guest, handle the exit,
 * enter again, until the scheduler's deadline, until the vCPU must block (HLT with nothing to
 * take, a paused VM, waiting for SIPI) or until its VM ends. Like Xen's HVM resume path and
 * ACRN's vCPU thread, it lives with the VMM; the scheduler knows only entities.
 *
 * Blocking without losing a wake-up: before the vCPU decides that it must block it clears its
 * wake request (sched_prepare_block), looks at its devices once more, and the scheduler blocks
 * it only if no kick came since. The device models are polled here, never under the scheduler's
 * lock (they kick vCPUs, which takes it).
 */
#include "vmm/vcpu_run.h"

#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/fpu.h"
#include "arch/x86/spec.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/selftest.h"
#include "vmm/exit.h"
#include "vmm/ioreq.h"
#include "vmm/dev/vuart.h"
#include "vmm/platform.h"
#include "vmm/tlb_sync.h"
#include "vmm/vmm.h"

#define MAX_TIMER_WAIT 1000000000ull /* ns: the longest a backend timer is armed for at once */

static struct vcpu *vcpu_of(struct sched_entity *e)
{
	return container_of(e, struct vcpu, se);
}

static u64 earliest(u64 a, u64 b)
{
	return !a || !b ? a | b : MIN(a, b);
}

/* Whether v can enter the guest now: its VM runs, it is not waiting for a SIPI, and it is not
 * halted or an interrupt can wake it. */
static bool may_enter(struct vcpu *v)
{
	enum vm_state st = __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE);

	if (st == VM_PAUSED || st == VM_DEAD || !platform_mp_events(v))
		return false;
	/* Waiting for the device model (vmm/ioreq.c): until its answer is in the slot. */
	if (!ioreq_ready(v))
		return false;
	if (v->halted) {
		if (!platform_can_wake(v))
			return false;
		v->halted = false;
	}
	return true;
}

/* With interrupts off, just before entry: the guest's run ends at `deadline` (ns), by the
 * backend's own timer (the VMX-preemption timer) when it has one, else by this CPU's. */
static void arm_deadline(struct vcpu *v, u64 deadline)
{
	ASSERT(!irqs_enabled());
	if (vcpu_ops->set_timer) {
		u64 tsc = 0;

		if (deadline) {
			u64 now = time_ns();

			tsc = rdtsc() + (deadline > now ? MIN(deadline - now, MAX_TIMER_WAIT) * tsc_khz / 1000000 : 0);
		}
		if (vcpu_ops->set_timer(v, tsc)) {
			sched_arm_timer(0);
			return;
		}
	}
	sched_arm_timer(deadline);
}

static enum sched_stop vcpu_run(struct sched_entity *se, u64 deadline)
{
	struct vcpu *v = vcpu_of(se);
	struct vm *vm = v->vm;
	struct vm_exit e;
	bool handled;

	for (;;) {
		/* The VM's console output, a budget's worth per entry: printed here, on the VM's own
		 * time and with no lock held, never on the exit path (vmm/dev/vuart.c). */
		bool output = guest_console_drain(vm, GUEST_OUT_BUDGET);

		if (!may_enter(v)) {
			/* Halted or paused with output still waiting: keep draining it a budget at a
			 * time, and give the CPU up when the slice ends or another vCPU needs it. */
			if (output && __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_DEAD) {
				if (sched_resched_asked() || time_ns() >= deadline)
					return SCHED_PREEMPT;
				continue;
			}
			sched_prepare_block(se);
			if (!may_enter(v))
				return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_DEAD ? SCHED_DONE
												: SCHED_BLOCK;
		}
		/* The device model answered: the exit that waited completes before anything is
		 * injected (it may wait again, for the instruction's next access). */
		if (v->ioreq.replay) {
			ioreq_replay(v);
			continue;
		}
		platform_before_entry(v);
		irq_disable();
		if (sched_should_stop(deadline)) {
			irq_enable();
			return SCHED_PREEMPT;
		}
		/* Armed with interrupts off: a timer that fires before the entry stays pending and
		 * ends the run at once. Armed earlier, it could be taken here, and the guest would
		 * run on with no timer at all. */
		arm_deadline(v, earliest(deadline, platform_next_timer(v)));
		/* The full path ran (scheduler, device models, interrupts): the next entry flushes
		 * L1D where the CPU needs it; re-entries from the fast path below do not. */
		spec_mark_l1d_dirty();
		/* The fast path, inside the backend: an exit that needs only its handler, and
		 * changed nothing that the full path looks at, goes straight back in (exit_fast).
		 * The timer armed above still ends the run, and a kick or any other interrupt
		 * leaves the backend's loop. */
		vcpu_tlb_enter(v); /* a window unmapped: flush first (vmm/tlb_sync.h) */
		handled = vcpu_ops->run(v, &e);
		vcpu_tlb_exit(v);
		irq_enable(); /* the host interrupt that ended the run, if any, is taken here */
		/* fault=panic_in_guest: the local APIC timer does not run while guests do under
		 * VT-x (the VMX-preemption timer ends their runs), so every full-path exit checks too. */
		if (__builtin_expect(selftest_panic_at != 0, 0))
			selftest_timer_panic();
		if (!handled && __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_DEAD) {
			exit_dispatch(v, &e);
			ioreq_exit_done(v, &e);
		}
	}
}

static u64 vcpu_wake_time(struct sched_entity *se)
{
	return platform_wake_time(vcpu_of(se));
}

static void vcpu_load(struct sched_entity *se)
{
	struct vcpu *v = vcpu_of(se);

	fpu_guest_restore(v->fpu_area, v->xcr0);
	dregs_guest_restore(&v->dregs);
	/* Guests read IA32_TSC_AUX with RDTSCP and RDPID, unintercepted; Keel never uses it, so
	 * it holds the vCPU's value from here on, exits included (no save: WRMSR exits). */
	if (vcpu_tsc_aux)
		wrmsr(MSR_TSC_AUX, v->tsc_aux);
	spec_switch_owner(v->vm->id);
}

static void vcpu_unload(struct sched_entity *se)
{
	struct vcpu *v = vcpu_of(se);

	vcpu_ops->unload(v);
	fpu_guest_save(v->fpu_area, &v->xcr0);
	dregs_guest_save(&v->dregs);
}

/* v's VM has ended and v has left the scheduler: the last vCPU out reports and frees the VM. */
static void vcpu_retire(struct sched_entity *se)
{
	struct vcpu *v = vcpu_of(se);
	struct vm *vm = v->vm;

	/* The others may be blocked: they must see the end too. */
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != v)
			vcpu_kick(vm->vcpus[i]);
	if (__atomic_add_fetch(&vm->live_vcpus, -1, __ATOMIC_ACQ_REL) == 0)
		vmm_vm_finished(vm);
}

int vcpu_sched_add(struct vcpu *v)
{
	int ret = sched_entity_add(&v->se);

	if (ret == -EINVAL)
		pr_err("vm %s: vCPU %u may run on no online CPU\n", v->vm->name, v->id);
	return ret;
}

const struct sched_ops vcpu_sched_ops = {
	.run = vcpu_run,
	.wake_time = vcpu_wake_time,
	.load = vcpu_load,
	.unload = vcpu_unload,
	.retire = vcpu_retire,
};
