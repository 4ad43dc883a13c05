/* SPDX-License-Identifier: MIT */
/*
 * The vCPU scheduler's mechanism (kernel/sched.h); the policy is kernel/sched_policy.c.
 *
 * One lock guards the policy state of every run queue: decisions are made once per slice or
 * wake-up, not per VM exit, so it is not on the exit path. Each physical CPU loops: pick a vCPU,
 * run it until its deadline (slice end, cap budget end, or the next timer of a blocked vCPU of
 * this queue), until it blocks (HLT, paused VM, waiting for SIPI) or until another CPU asks this
 * one to reschedule (the kick IPI); with nothing to run, halt with the timer armed for the next
 * wake-up only.
 *
 * A vCPU's hardware state (VMCS on VMX, FPU/SSE/AVX registers, debug registers) is written back
 * when it leaves a CPU (vcpu_ops->unload, fpu_guest_save, dregs_guest_save) before `running_on`
 * is released, and the next CPU waits for that release, so it never runs with state cached
 * elsewhere.
 */
#include "kernel/sched.h"

#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/desc.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/spinlock.h"
#include "vmm/exit.h"
#include "vmm/platform.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

#define NO_CPU	       (-1)
#define BALANCE_EVERY  4 /* slices between load-balancing passes */
#define MAX_TIMER_WAIT 1000000000ull

/* Per physical CPU. */
struct pcpu_sched {
	volatile bool resched; /* look at the run queue before entering the guest again */
	volatile bool idle;    /* halted with nothing to run */
	struct vcpu *loaded;   /* the vCPU whose state this CPU holds */
	u64 armed;	       /* deadline the timer is armed for (ns), 0: not armed */
	u64 armed_ticks;       /* this CPU's timer interrupt count when it was armed */
};

static struct sched sched;
static spinlock_t lock = SPINLOCK_INIT;
static struct pcpu_sched pcs[SCHED_MAX_CPUS];
static u64 online_mask;
static u64 last_balance;
static volatile u32 live_vcpus;

static struct vcpu *vcpu_of(struct sched_entity *e)
{
	return e ? container_of(e, struct vcpu, se) : NULL;
}

u64 sched_slice_ns(void)
{
	return sched.slice_ns;
}

u64 sched_period_ns(void)
{
	return sched.period_ns;
}

void sched_setup(void)
{
	u32 nr = 0, online = 0;

	for (u32 c = 0; c < SCHED_MAX_CPUS; c++) {
		if (cpus[c] && cpus[c]->online) {
			online_mask |= 1ull << c;
			nr = c + 1;
			online++;
		}
	}
	sched_init(&sched, nr, opts.sched_slice_us * 1000, opts.sched_period_ms * 1000000, time_ns());
	pr_info("sched: %u CPUs, slice %llu us, cap period %llu ms\n", online, (unsigned long long)opts.sched_slice_us,
		(unsigned long long)opts.sched_period_ms);
}

static void send_kick(int cpu)
{
	if (cpu >= 0 && (u32)cpu != this_cpu()->cpu && cpus[cpu])
		lapic_send_ipi(cpus[cpu]->apic_id, VEC_KICK);
}

static void kick_idle_with_work(void)
{
	for (u32 cpu = 0; cpu < sched.nr_cpus; cpu++) {
		struct sched_cpu *c = &sched.cpu[cpu];

		if (!pcs[cpu].idle)
			continue;
		for (u32 i = 0; i < c->nr; i++) {
			if (c->rq[i]->state == SE_RUNNABLE && !sched_throttled(c->rq[i])) {
				pcs[cpu].resched = true;
				send_kick((int)cpu);
				break;
			}
		}
	}
}

int sched_vcpu_add(struct vcpu *v)
{
	unsigned long flags;
	int ret;

	v->running_on = NO_CPU;
	v->se.affinity &= online_mask;
	if (!v->se.affinity) {
		pr_err("vm %s: vCPU %u may run on no online CPU\n", v->vm->name, v->id);
		return -EINVAL;
	}
	flags = spin_lock_irqsave(&lock);
	ret = sched_add(&sched, &v->se, time_ns());
	if (!ret) {
		live_vcpus++;
		kick_idle_with_work(); /* a VM restarted while its CPUs sleep */
	}
	spin_unlock_irqrestore(&lock, flags);
	return ret;
}

void vcpu_kick(struct vcpu *v)
{
	unsigned long flags;
	int cpu = -1;

	/* Before the lock: a vCPU deciding to block clears this, then looks at its devices, then
	 * checks it again under the lock (see block()). */
	__atomic_store_n(&v->wake_req, 1, __ATOMIC_SEQ_CST);
	flags = spin_lock_irqsave(&lock);

	if (v->se.state == SE_BLOCKED) {
		cpu = sched_wake(&sched, &v->se, time_ns());
		if (cpu >= 0)
			pcs[cpu].resched = true;
	} else if (v->se.state == SE_RUNNING) {
		cpu = v->se.cpu; /* leave the guest: the interrupt is injected at the next entry */
	}
	spin_unlock_irqrestore(&lock, flags);
	send_kick(cpu);
}

/* Under the lock: wakes the blocked vCPUs of `cpu` whose wake time (handed over when they
 * blocked) has come; returns the earliest wake time still pending among them (0: none). */
static u64 wake_timers(u32 cpu, u64 now)
{
	struct sched_cpu *c = &sched.cpu[cpu];
	u64 next = 0;

	for (u32 i = 0; i < c->nr; i++) {
		struct sched_entity *e = c->rq[i];

		if (e->state != SE_BLOCKED || !e->wake_ns)
			continue;
		if (e->wake_ns <= now)
			sched_wake(&sched, e, now);
		else if (!next || e->wake_ns < next)
			next = e->wake_ns;
	}
	return next;
}

/* Under the lock: a CPU that sits idle while balancing gave it work must look again. */
static bool any_throttled(u32 cpu)
{
	for (u32 i = 0; i < sched.cpu[cpu].nr; i++)
		if (sched_throttled(sched.cpu[cpu].rq[i]))
			return true;
	return false;
}

static u64 earliest(u64 a, u64 b)
{
	return !a ? b : !b ? a : MIN(a, b);
}

/* Arms this CPU's timer for `deadline` (ns) unless it already is; 0 disarms. The backend's own
 * timer (the VMX-preemption timer) serves while v runs in the guest. */
static void arm_timer(struct pcpu_sched *pc, struct vcpu *v, u64 deadline)
{
	struct percpu *p = this_cpu();
	u64 now;

	if (v && vcpu_ops->set_timer) {
		u64 tsc = 0;

		if (deadline) {
			now = time_ns();
			tsc = rdtsc() + (deadline > now ? MIN(deadline - now, MAX_TIMER_WAIT) * tsc_khz / 1000000 : 0);
		}
		if (vcpu_ops->set_timer(v, tsc)) {
			deadline = 0; /* the local APIC timer is not needed */
		}
	}
	/* A timer that fired (early by rounding, or for an older deadline) is armed again. */
	if (pc->armed == deadline && p->timer_ticks == pc->armed_ticks)
		return;
	pc->armed = deadline;
	pc->armed_ticks = p->timer_ticks;
	if (!deadline) {
		lapic_timer_oneshot(0);
		return;
	}
	now = time_ns();
	lapic_timer_oneshot(deadline > now ? MIN(deadline - now, MAX_TIMER_WAIT) + 1 : 1);
}

enum stop { STOP_PREEMPT, STOP_BLOCK, STOP_DEAD };

/* Whether v can enter the guest now: its VM runs, it is not waiting for a SIPI, and it is not
 * halted or an interrupt can wake it. On v's CPU, without the scheduler's lock: the device
 * models it polls may kick vCPUs, which takes that lock. */
static bool may_enter(struct vcpu *v)
{
	enum vm_state st = __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE);

	if (st == VM_PAUSED || st == VM_DEAD || !platform_mp_events(v))
		return false;
	if (v->halted) {
		if (!platform_can_wake(v))
			return false;
		v->halted = false;
	}
	return true;
}

/* Runs v on this CPU until its deadline passes, it blocks, its VM ends or a reschedule is asked. */
static enum stop run_vcpu(struct pcpu_sched *pc, struct vcpu *v, u64 deadline)
{
	struct vm *vm = v->vm;
	u64 cpu_bit = 1ull << this_cpu()->cpu;
	struct vm_exit e;

	for (;;) {
		/* The VM's console output, a budget's worth per entry: printed here, on the VM's own
		 * time and with no lock held, never on the exit path (vmm/guest_console.c). */
		bool output = guest_console_drain(vm, GUEST_OUT_BUDGET);

		if (!may_enter(v)) {
			/* Halted or paused with output still waiting: keep draining it a budget at a
			 * time, and give the CPU up when the slice ends or another vCPU needs it. */
			if (output && __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_DEAD) {
				if (pc->resched || time_ns() >= deadline)
					return STOP_PREEMPT;
				continue;
			}
			/* About to block: from here on a kick is remembered (block() looks at it under
			 * the scheduler's lock), so look once more after clearing it. */
			__atomic_store_n(&v->wake_req, 0, __ATOMIC_SEQ_CST);
			if (!may_enter(v))
				return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_DEAD ? STOP_DEAD
												: STOP_BLOCK;
		}
		platform_before_entry(v);
		irq_disable();
		if (pc->resched || time_ns() >= deadline) {
			irq_enable();
			return STOP_PREEMPT;
		}
		/* Armed with interrupts off: a timer that fires before the entry stays pending and
		 * ends the run at once. Armed earlier, it could be taken here, and the guest would
		 * run on with no timer at all. */
		arm_timer(pc, v, earliest(deadline, platform_next_timer(v)));
		v->ran_on |= cpu_bit;
		vcpu_ops->run(v, &e);
		irq_enable(); /* the host interrupt that ended the run, if any, is taken here */
		if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_DEAD)
			exit_dispatch(v, &e);
	}
}

/* v's CPU found nothing for it to do (may_enter() after clearing wake_req): it blocks until
 * `wake_ns` (0: until kicked) unless its VM has ended or a kick came since, which may_enter() did
 * not see. Nothing here calls into a device model: they kick vCPUs, which takes this lock (a
 * guest could otherwise hang the host). */
static void block(struct vcpu *v, u32 cpu, u64 wake_ns)
{
	unsigned long flags = spin_lock_irqsave(&lock);

	if (!__atomic_load_n(&v->wake_req, __ATOMIC_SEQ_CST) &&
	    __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) != VM_DEAD) {
		v->se.wake_ns = wake_ns;
		sched_block(&sched, cpu, time_ns());
	}
	spin_unlock_irqrestore(&lock, flags);
}

static void release(struct pcpu_sched *pc)
{
	struct vcpu *v = pc->loaded;

	if (!v)
		return;
	vcpu_ops->unload(v);
	fpu_guest_save(v->fpu_area, &v->xcr0);
	dregs_guest_save(&v->dregs);
	pc->loaded = NULL;
	__atomic_store_n(&v->running_on, NO_CPU, __ATOMIC_RELEASE);
}

static void take(struct pcpu_sched *pc, struct vcpu *v, u32 cpu)
{
	if (pc->loaded == v)
		return;
	release(pc);
	/* Its previous CPU may still be writing its state back (release above, over there). */
	while (__atomic_load_n(&v->running_on, __ATOMIC_ACQUIRE) != NO_CPU)
		cpu_relax();
	__atomic_store_n(&v->running_on, (s32)cpu, __ATOMIC_RELEASE);
	fpu_guest_restore(v->fpu_area, v->xcr0);
	dregs_guest_restore(&v->dregs);
	pc->loaded = v;
}

/* The VM of v has ended: v leaves the scheduler; the last vCPU out reports and frees the VM. */
static void retire(struct pcpu_sched *pc, struct vcpu *v, u32 cpu)
{
	struct vm *vm = v->vm;
	unsigned long flags;
	bool last_vcpu, last_of_all;

	take(pc, v, cpu);
	release(pc);
	/* The others may be blocked: they must see the end too. */
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != v)
			vcpu_kick(vm->vcpus[i]);
	flags = spin_lock_irqsave(&lock);
	sched_remove(&sched, &v->se, time_ns());
	last_vcpu = __atomic_add_fetch(&vm->live_vcpus, -1, __ATOMIC_ACQ_REL) == 0;
	spin_unlock_irqrestore(&lock, flags);
	/* v still counts among the live vCPUs here: a VM restarted from vmm_vm_finished adds its
	 * vCPUs before the count can reach zero and send every CPU out of its loop. */
	if (last_vcpu)
		vmm_vm_finished(vm);
	flags = spin_lock_irqsave(&lock);
	last_of_all = --live_vcpus == 0;
	spin_unlock_irqrestore(&lock, flags);
	if (last_of_all)
		for (u32 c = 0; c < sched.nr_cpus; c++)
			send_kick((int)c);
}

void sched_cpu_loop(void)
{
	u32 cpu = this_cpu()->cpu;
	struct pcpu_sched *pc;

	if (cpu >= SCHED_MAX_CPUS || !(online_mask & (1ull << cpu)))
		return;
	pc = &pcs[cpu];
	lapic_timer_oneshot(0); /* from here on the timer is armed only for a deadline */
	for (;;) {
		unsigned long flags;
		struct vcpu *v, *prev = pc->loaded;
		u64 now, deadline, timers;
		enum stop why;

		irq_disable();
		flags = spin_lock_irqsave(&lock);
		now = time_ns();
		sched_period(&sched, now);
		timers = wake_timers(cpu, now);
		if (now - last_balance >= BALANCE_EVERY * sched.slice_ns) {
			last_balance = now;
			if (sched_balance(&sched, now))
				kick_idle_with_work();
		}
		pc->resched = false;
		v = vcpu_of(sched_pick(&sched, cpu, now));
		deadline = earliest(v ? sched_deadline(&sched, cpu) : 0, timers);
		/* Throttled vCPUs become eligible at the next period. */
		if (any_throttled(cpu))
			deadline = earliest(deadline, sched.period_start_ns + sched.period_ns);
		pc->idle = !v;
		if (!v && !live_vcpus) {
			spin_unlock_irqrestore(&lock, flags);
			break;
		}
		spin_unlock_irqrestore(&lock, flags);

		if (!v) {
			if (prev) {
				irq_enable();
				release(pc);
				irq_disable();
			}
			arm_timer(pc, NULL, deadline);
			if (!pc->resched)
				irq_enable_and_halt(); /* sti; hlt: a kick cannot slip in between */
			irq_enable();
			continue;
		}
		irq_enable();
		take(pc, v, cpu);
		why = run_vcpu(pc, v, deadline);
		if (why == STOP_DEAD) {
			retire(pc, v, cpu);
		} else if (why == STOP_BLOCK) {
			block(v, cpu, platform_wake_time(v));
		}
	}
	release(pc);
	arm_timer(pc, NULL, 0);
	pc->idle = false;
}

void sched_vcpu_stats(struct vcpu *v, struct vcpu_stats *out)
{
	unsigned long flags = spin_lock_irqsave(&lock);
	const struct sched_entity *e = &v->se;
	u64 now = time_ns();

	*out = (struct vcpu_stats){ .state = e->state,
				    .cpu = e->cpu,
				    .affinity = e->affinity,
				    .ran_on = v->ran_on,
				    .weight = e->weight,
				    .cap_pct = e->cap_pct,
				    .migrations = e->migrations,
				    .run_ns = e->run_ns,
				    .wait_ns = e->wait_ns,
				    .block_ns = e->block_ns };
	/* The current stretch is charged only at the next decision: add it here. */
	if (e->cpu >= 0 && now > e->last_ns) {
		if (e->state == SE_RUNNING && sched.cpu[e->cpu].curr == e && now > sched.cpu[e->cpu].curr_start_ns)
			out->run_ns += now - sched.cpu[e->cpu].curr_start_ns;
		else if (e->state == SE_RUNNABLE)
			out->wait_ns += now - e->last_ns;
		else if (e->state == SE_BLOCKED)
			out->block_ns += now - e->last_ns;
	}
	spin_unlock_irqrestore(&lock, flags);
}
