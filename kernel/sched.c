/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's mechanism (kernel/sched.h); the policy is kernel/sched_policy.c.
 *
 * One lock guards the policy state of every run queue: decisions are made once per slice or
 * wake-up, not per VM exit, so it is not on the exit path. Each physical CPU loops: pick an
 * entity, run it (ops->run) until its deadline (slice end, cap budget end, or the wake time of a
 * blocked entity of this queue), until it blocks or ends, or until another CPU asks this one to
 * choose again (the kick IPI); with nothing to run, halt with the timer armed for the next wake
 * time only. Nothing runs under the lock but the policy: the ops may kick entities, which takes it.
 *
 * An entity's state cached by a CPU (VMCS, FPU registers) is written back when it leaves that
 * CPU (ops->unload) before `running_on` is released, and the next CPU waits for that release, so
 * it never runs with state cached elsewhere.
 */
#include "kernel/sched.h"

#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/spinlock.h"

#define NO_CPU	       (-1)
#define BALANCE_EVERY  4 /* slices between load-balancing passes */
#define MAX_TIMER_WAIT 1000000000ull

/* Per physical CPU. */
struct pcpu_sched {
	volatile bool idle;	     /* halted with nothing to run */
	struct sched_entity *loaded; /* the entity whose state this CPU holds */
	u64 armed;		     /* deadline the timer is armed for (ns), 0: not armed */
	u64 armed_ticks;	     /* this CPU's timer interrupt count when it was armed */
};

static struct sched sched;
static spinlock_t lock = SPINLOCK_INIT;
static struct pcpu_sched pcs[SCHED_MAX_CPUS];
static u64 online_mask;
static u64 last_balance;
static volatile u32 live; /* entities added and not yet retired */
static const struct sched_ops *ops;

u64 sched_slice_ns(void)
{
	return sched.slice_ns;
}

u64 sched_period_ns(void)
{
	return sched.period_ns;
}

void sched_setup(const struct sched_ops *o)
{
	u32 nr = 0, online = 0;

	ops = o;
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

/* Under the lock. */
static void kick_idle_with_work(void)
{
	spin_assert_held(&lock);
	for (u32 cpu = 0; cpu < sched.nr_cpus; cpu++) {
		struct sched_cpu *c = &sched.cpu[cpu];

		if (!pcs[cpu].idle)
			continue;
		for (u32 i = 0; i < c->nr; i++) {
			if (c->rq[i]->state == SE_RUNNABLE && !sched_throttled(c->rq[i])) {
				cpus[cpu]->sched_resched = true;
				send_kick((int)cpu);
				break;
			}
		}
	}
}

int sched_entity_add(struct sched_entity *e)
{
	unsigned long flags;
	int ret;

	e->running_on = NO_CPU;
	e->affinity &= online_mask;
	if (!e->affinity)
		return -EINVAL;
	flags = spin_lock_irqsave(&lock);
	ret = sched_add(&sched, e, time_ns());
	if (!ret) {
		live++;
		kick_idle_with_work(); /* added while the CPUs sleep (a VM restarted) */
	}
	spin_unlock_irqrestore(&lock, flags);
	return ret;
}

void sched_kick(struct sched_entity *e)
{
	unsigned long flags;
	int cpu = -1;

	/* Before the lock: an entity deciding to block clears this (sched_prepare_block), then
	 * looks at what it has to do, then checks it again under the lock (block()). */
	__atomic_store_n(&e->wake_req, 1, __ATOMIC_SEQ_CST);
	flags = spin_lock_irqsave(&lock);
	if (e->state == SE_BLOCKED) {
		cpu = sched_wake(&sched, e, time_ns());
		if (cpu >= 0)
			cpus[cpu]->sched_resched = true;
	} else if (e->state == SE_RUNNING) {
		cpu = e->cpu; /* leave the guest: the interrupt is injected at the next entry */
	}
	spin_unlock_irqrestore(&lock, flags);
	send_kick(cpu);
}

void sched_kick_boost(struct sched_entity *e)
{
	unsigned long flags;
	int cpu;

	__atomic_store_n(&e->wake_req, 1, __ATOMIC_SEQ_CST);
	flags = spin_lock_irqsave(&lock);
	cpu = e->state == SE_RUNNING ? e->cpu : sched_boost(&sched, e, time_ns());
	if (cpu >= 0 && e->state != SE_RUNNING)
		cpus[cpu]->sched_resched = true;
	spin_unlock_irqrestore(&lock, flags);
	send_kick(cpu);
}

/* Under the lock: wakes the blocked vCPUs of `cpu` whose wake time (handed over when they
 * blocked) has come; returns the earliest wake time still pending among them (0: none). */
static u64 wake_timers(u32 cpu, u64 now)
{
	struct sched_cpu *c = &sched.cpu[cpu];
	u64 next = 0;

	spin_assert_held(&lock);
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
	spin_assert_held(&lock);
	for (u32 i = 0; i < sched.cpu[cpu].nr; i++)
		if (sched_throttled(sched.cpu[cpu].rq[i]))
			return true;
	return false;
}

static u64 earliest(u64 a, u64 b)
{
	return !a ? b : !b ? a : MIN(a, b);
}

void sched_arm_timer(u64 deadline)
{
	struct pcpu_sched *pc = &pcs[this_cpu()->cpu];
	struct percpu *p = this_cpu();
	u64 now;

	ASSERT(!irqs_enabled());
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

bool sched_should_stop(u64 deadline)
{
	ASSERT(!irqs_enabled());
	return this_cpu()->sched_resched || time_ns() >= deadline;
}

void sched_prepare_block(struct sched_entity *e)
{
	__atomic_store_n(&e->wake_req, 0, __ATOMIC_SEQ_CST);
}

/* e found nothing to do (after sched_prepare_block): it blocks until `wake_ns` (0: until kicked)
 * unless a kick came since, which it may not have seen. Nothing here calls into the ops: they
 * kick entities, which takes this lock (a guest could otherwise hang the host). */
static void block(struct sched_entity *e, u32 cpu, u64 wake_ns)
{
	unsigned long flags = spin_lock_irqsave(&lock);

	if (!__atomic_load_n(&e->wake_req, __ATOMIC_SEQ_CST)) {
		e->wake_ns = wake_ns;
		sched_block(&sched, cpu, time_ns());
	}
	spin_unlock_irqrestore(&lock, flags);
}

static void release(struct pcpu_sched *pc)
{
	struct sched_entity *e = pc->loaded;

	if (!e)
		return;
	ops->unload(e);
	pc->loaded = NULL;
	__atomic_store_n(&e->running_on, NO_CPU, __ATOMIC_RELEASE);
}

static void take(struct pcpu_sched *pc, struct sched_entity *e, u32 cpu)
{
	if (pc->loaded == e)
		return;
	release(pc);
	/* Its previous CPU may still be writing its state back (release above, over there). */
	while (__atomic_load_n(&e->running_on, __ATOMIC_ACQUIRE) != NO_CPU)
		cpu_relax();
	__atomic_store_n(&e->running_on, (s32)cpu, __ATOMIC_RELEASE);
	e->ran_on |= 1ull << cpu;
	ops->load(e);
	pc->loaded = e;
}

/* e has ended: it leaves the scheduler, then its owner is told (ops->retire). */
static void retire(struct pcpu_sched *pc, struct sched_entity *e, u32 cpu)
{
	unsigned long flags;
	bool last;

	take(pc, e, cpu);
	release(pc);
	flags = spin_lock_irqsave(&lock);
	sched_remove(&sched, e, time_ns());
	spin_unlock_irqrestore(&lock, flags);
	/* e still counts among the live entities here: entities added from ops->retire (a VM
	 * restarted) are in before the count can reach zero and send every CPU out of its loop. */
	ops->retire(e);
	flags = spin_lock_irqsave(&lock);
	last = --live == 0;
	spin_unlock_irqrestore(&lock, flags);
	if (last)
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
	for (u64 woke = 0;;) {
		unsigned long flags;
		struct sched_entity *e, *prev = pc->loaded;
		u64 now, deadline, timers;
		enum sched_stop why;

		irq_disable();
		flags = spin_lock_irqsave(&lock);
		if (woke)
			sched_cpu_woke(&sched, cpu, woke); /* the wake-up is the next entity's time */
		woke = 0;
		now = time_ns();
		sched_period(&sched, now);
		timers = wake_timers(cpu, now);
		if (now - last_balance >= BALANCE_EVERY * sched.slice_ns) {
			last_balance = now;
			if (sched_balance(&sched, now))
				kick_idle_with_work();
		}
		this_cpu()->sched_resched = false;
		e = sched_pick(&sched, cpu, now);
		deadline = earliest(e ? sched_deadline(&sched, cpu) : 0, timers);
		/* Throttled vCPUs become eligible at the next period. */
		if (any_throttled(cpu))
			deadline = earliest(deadline, sched.period_start_ns + sched.period_ns);
		pc->idle = !e;
		if (!e && !live) {
			spin_unlock_irqrestore(&lock, flags);
			break;
		}
		spin_unlock_irqrestore(&lock, flags);

		if (!e) {
			if (prev) {
				irq_enable();
				release(pc);
				irq_disable();
			}
			sched_arm_timer(deadline);
			if (!this_cpu()->sched_resched)
				irq_enable_and_halt(); /* sti; hlt: a kick cannot slip in between */
			irq_enable();
			woke = time_ns();
			continue;
		}
		irq_enable();
		take(pc, e, cpu);
		why = ops->run(e, deadline);
		if (why == SCHED_DONE)
			retire(pc, e, cpu);
		else if (why == SCHED_BLOCK)
			block(e, cpu, ops->wake_time(e));
	}
	release(pc);
	sched_arm_timer(0);
	pc->idle = false;
}

void sched_entity_stats(const struct sched_entity *e, struct sched_stats *out)
{
	unsigned long flags = spin_lock_irqsave(&lock);
	u64 now = time_ns();

	*out = (struct sched_stats){ .state = e->state,
				     .cpu = e->cpu,
				     .affinity = e->affinity,
				     .ran_on = e->ran_on,
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
