/* SPDX-License-Identifier: MIT */
/*
 * The vCPU scheduler's mechanism (kernel/sched.c): every physical CPU runs sched_cpu_loop(),
 * which picks vCPUs by the policy of kernel/sched_policy.h, runs each until its slice ends, it
 * blocks (HLT) or another vCPU must run, and halts the CPU when nothing is runnable.
 * docs/scheduler.md explains the policy and its parameters.
 */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include "kernel/sched_policy.h"
#include "kernel/types.h"

struct vcpu;

/* A consistent snapshot of one vCPU's scheduling state and accounting (ns). */
struct vcpu_stats {
	enum sched_state state;
	s32 cpu;      /* run queue (physical CPU) it belongs to, -1 if none */
	u64 affinity; /* hard affinity: bit n = CPU n */
	u64 ran_on;   /* CPUs it has ever run on */
	u32 weight, cap_pct, migrations;
	u64 run_ns, wait_ns, block_ns;
};

/* Sets up the run queues for the online CPUs (slice and cap period from the command line). */
void sched_setup(void);
/* Puts a vCPU under the scheduler: runnable, or blocked if it waits for a SIPI. */
int sched_vcpu_add(struct vcpu *v);
/* Runs vCPUs on this CPU until every VM has ended, then returns. */
void sched_cpu_loop(void);
/* v has something to do (an interrupt, a SIPI, a resumed VM, its VM ended): wakes it if it was
 * blocked and makes the CPU that has it look again soon (an IPI if that is another CPU). */
void vcpu_kick(struct vcpu *v);
void sched_vcpu_stats(struct vcpu *v, struct vcpu_stats *out);
/* The slice (ns) and cap accounting period in use. */
u64 sched_slice_ns(void);
u64 sched_period_ns(void);

#endif
