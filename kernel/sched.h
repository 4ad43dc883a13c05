/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's mechanism (kernel/sched.c): every physical CPU runs sched_cpu_loop(), which picks
 * entities by the policy of kernel/sched_policy.h and runs each through the ops table until its
 * slice ends, it blocks or another must run, and halts the CPU when nothing is runnable. The
 * scheduler knows entities, not what they are: the VMM runs vCPUs through it (vmm/vcpu_run.c).
 * docs/scheduler.md explains the policy and its parameters.
 */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include "kernel/percpu.h"
#include "kernel/sched_policy.h"
#include "kernel/types.h"

enum sched_stop {
	SCHED_PREEMPT, /* the deadline passed or the CPU must choose again */
	SCHED_BLOCK,   /* nothing to do until woken (sched_prepare_block() came before it looked) */
	SCHED_DONE,    /* the entity has ended: it leaves the scheduler */
};

/* What the scheduler asks of what it runs. Every op runs on the CPU that has the entity, with
 * interrupts on and without the scheduler's lock (an op may kick other entities). */
struct sched_ops {
	/* Runs e until sched_should_stop(deadline) says so, until it blocks or until it ends. */
	enum sched_stop (*run)(struct sched_entity *e, u64 deadline);
	/* After SCHED_BLOCK: when its own timers wake it (ns, time_ns clock); 0: only a kick. */
	u64 (*wake_time)(struct sched_entity *e);
	/* e comes to this CPU, or leaves it: the state the CPU caches for it is loaded or written
	 * back, so that another CPU may run it next. */
	void (*load)(struct sched_entity *e);
	void (*unload)(struct sched_entity *e);
	/* e has ended and left the scheduler; the scheduler does not touch it again. */
	void (*retire)(struct sched_entity *e);
};

/* A consistent snapshot of one entity's scheduling state and accounting (ns). */
struct sched_stats {
	enum sched_state state;
	s32 cpu;      /* run queue (physical CPU) it belongs to, -1 if none */
	u64 affinity; /* hard affinity: bit n = CPU n */
	u64 ran_on;   /* CPUs it has ever run on */
	u32 weight, cap_pct, migrations;
	u64 run_ns, wait_ns, block_ns;
};

/* Sets up the run queues for the online CPUs (slice and cap period from the command line). */
void sched_setup(const struct sched_ops *ops);
/* Puts an entity under the scheduler, runnable; -EINVAL if its affinity has no online CPU. */
int sched_entity_add(struct sched_entity *e);
/* Runs entities on this CPU until every one has ended, then returns. */
void sched_cpu_loop(void);
/* e has something to do: wakes it if it was blocked and makes the CPU that has it look again
 * soon (an IPI if that is another CPU). Any CPU, any context but the scheduler's lock. */
void sched_kick(struct sched_entity *e);
/* sched_kick, and e goes first on its CPU (sched_boost in kernel/sched_policy.h): for entities
 * that others wait on (the management VM's vCPUs, when a request comes for its device model). */
void sched_kick_boost(struct sched_entity *e);
void sched_entity_stats(const struct sched_entity *e, struct sched_stats *out);
/* The slice (ns) and cap accounting period in use. */
u64 sched_slice_ns(void);
u64 sched_period_ns(void);

/* For ops->run, on e's CPU. */
/* e is about to look whether it must block: a kick from now on keeps it from blocking. */
void sched_prepare_block(struct sched_entity *e);
/* With interrupts off, before entering: whether the run must end now (deadline passed, or this
 * CPU was asked to choose again). */
bool sched_should_stop(u64 deadline);
/* Whether another entity must be considered on this CPU (sched_should_stop without the time). */
static inline bool sched_resched_asked(void)
{
	return this_cpu()->sched_resched;
}
/* With interrupts off: this CPU's timer interrupt at `deadline` (ns), 0 for none (when a timer
 * of the entity's own ends its run instead, e.g. the VMX-preemption timer). */
void sched_arm_timer(u64 deadline);

#endif
