/* SPDX-License-Identifier: MIT */
/*
 * vCPU scheduling policy, kept apart from the mechanism so it can be tested with a simulated clock
 * (tests/unit/test_sched.c). Weighted fair share by virtual time, as in BVT or CFS:
 *  - each entity (a vCPU) has a weight; running for d ns advances its virtual time by
 *    d * SCHED_WEIGHT_UNIT / weight, and each CPU runs its runnable entity with the least virtual
 *    time, for at most one slice: over time CPU shares follow the weights;
 *  - a cap (percent of one CPU) gives an entity, or a group of entities sharing one struct
 *    sched_cap (a VM's vCPUs), a budget of cap% of every accounting period; once it is spent they
 *    wait, throttled, for the next period even if their CPUs are idle. Overruns (timer latency,
 *    group members running at once) are debt carried into the next period, so over time the
 *    share never exceeds the cap;
 *  - hard affinity: an entity only ever sits on a CPU of its mask;
 *  - an entity that joins a queue (added, woken, moved) is placed between one slice of its
 *    virtual time behind the queue's clock and two slices ahead of it: sleeping earns no unbounded
 *    credit (wake-up latency stays within a slice) and no past run elsewhere makes it wait long;
 *  - balancing moves runnable, unpinned entities from the most to the least loaded CPU (load =
 *    sum of runnable weights) when that narrows the gap.
 * No locking here: the caller holds the lock that protects the struct sched.
 */
#ifndef KEEL_SCHED_POLICY_H
#define KEEL_SCHED_POLICY_H

#include "kernel/types.h"

#define SCHED_MAX_CPUS	  64
#define SCHED_MAX_PER_CPU 64
#define SCHED_WEIGHT_UNIT 256 /* the default weight */

enum sched_state { SE_RUNNABLE, SE_RUNNING, SE_BLOCKED };

struct sched_cap {
	u32 pct;	 /* percent of one CPU; 0: no cap */
	s64 budget_ns;	 /* left in this period; negative: debt */
	u64 refilled_at; /* period start of the last refill */
	u32 active;	 /* members not blocked */
	bool throttled;
	/* Time spent for the group before its first member was added (a VM rebuilt after a
	 * reset): its first budget is smaller by as much, as if it had run then. */
	u64 charged_ns;
};

struct sched_entity {
	u32 id;
	u32 weight;		 /* 1..65535 */
	u32 cap_pct;		 /* 0: no cap; else at most this percent of one CPU */
	struct sched_cap *group; /* shared cap (group->pct used instead of cap_pct), or NULL */
	struct sched_cap own;	 /* the entity's own cap when it has no group */
	u64 affinity;		 /* bit n: may run on CPU n */
	enum sched_state state;
	s32 cpu; /* the run queue it belongs to, -1 before sched_add */
	u64 vruntime;
	u64 last_ns; /* when the current run, wait or block began */
	/* Accounting, in ns. */
	u64 run_ns, wait_ns, block_ns;
	u32 migrations;
	/* The mechanism's (kernel/sched.c), not the policy's. */
	u64 wake_ns;		 /* blocked: when to wake it (0: only a kick does) */
	u32 wake_req;		 /* set by sched_kick(), cleared by sched_prepare_block() */
	volatile s32 running_on; /* physical CPU that holds its state, or -1 */
	u64 ran_on;		 /* physical CPUs it has ever run on: bit n = CPU n */
};

struct sched_cpu {
	struct sched_entity *rq[SCHED_MAX_PER_CPU]; /* every entity assigned here, any state */
	u32 nr;
	struct sched_entity *curr;
	u64 curr_start_ns;
	u64 min_vruntime; /* the queue's virtual clock: never goes back (sched_policy.c) */
	/* Since when the CPU works for no entity (0: it does not): after a block, or since it woke
	 * from idle. The next entity picked is charged from then: switching to it and waking for it
	 * are its time, which its cap bounds. Idle time is nobody's. */
	u64 uncharged_since;
};

struct sched {
	struct sched_cpu cpu[SCHED_MAX_CPUS];
	u32 nr_cpus;
	u64 slice_ns;
	u64 period_ns;
	u64 period_start_ns;
};

void sched_init(struct sched *s, u32 nr_cpus, u64 slice_ns, u64 period_ns, u64 now);
/* Adds a runnable entity on the least loaded CPU its affinity allows; -EINVAL if none, -ENOSPC
 * if that CPU's queue is full. */
int sched_add(struct sched *s, struct sched_entity *e, u64 now);
void sched_remove(struct sched *s, struct sched_entity *e, u64 now);
/* Charges the running entity of `cpu` up to now and picks what runs next (NULL: idle). The one
 * picked is charged from the time the CPU stopped working for another entity, if it did since
 * (sched_block, sched_cpu_woke): the switch is its time. */
struct sched_entity *sched_pick(struct sched *s, u32 cpu, u64 now);
/* `cpu` left idle at `now` (an interrupt ended its halt): what it does until the next pick is
 * charged to the entity it picks then. */
void sched_cpu_woke(struct sched *s, u32 cpu, u64 now);
/* When the current entity of `cpu` must give the CPU up at the latest (slice or budget end). */
u64 sched_deadline(const struct sched *s, u32 cpu);
/* The running entity blocks (HLT); the caller then picks again. */
void sched_block(struct sched *s, u32 cpu, u64 now);
/* A blocked entity becomes runnable; returns its CPU if that CPU should reschedule now (idle, or
 * running something with more virtual time), else -1. */
int sched_wake(struct sched *s, struct sched_entity *e, u64 now);
/*
 * A wake-up boost (Xen credit's BOOST): e, blocked or runnable, goes to the head of its queue,
 * with the most credit a sleeper may have (one slice behind the queue's clock), and preempts the
 * running entity unless that one has as little virtual time. For the management VM's vCPUs when
 * a request comes for the device model, so that a round trip does not wait for a slice. Bounded
 * as any wake-up: the credit never exceeds a slice. Returns e's CPU if it should reschedule now,
 * else -1 (a running, throttled or unqueued entity changes nothing).
 */
int sched_boost(struct sched *s, struct sched_entity *e, u64 now);
/* Starts a new accounting period when due: refills cap budgets. */
void sched_period(struct sched *s, u64 now);
/* Moves at most one runnable, unpinned entity towards the least loaded CPU; returns how many moved. */
int sched_balance(struct sched *s, u64 now);
u64 sched_load(const struct sched *s, u32 cpu);
/* Whether the entity's cap (its own or its group's) is spent for this period. */
bool sched_throttled(const struct sched_entity *e);

#endif
