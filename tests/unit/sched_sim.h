/* SPDX-License-Identifier: MIT */
/*
 * A simulated CPU for the host tests of the scheduler's mechanism (kernel/sched.c, run by
 * tests/unit/test_sched_seam.c): CPU 0 alone, a clock that moves only while a guest runs or the
 * CPU halts, interrupts that are a flag, a one-shot timer and scripted interrupts (events).
 * Halting jumps the clock to the next interrupt, so a run is deterministic and single-threaded.
 *
 * This header is forced into every source of the test (-include, tests/unit/sched_seam.mk): the
 * real arch/x86/cpu.h and kernel/percpu.h are read first, then the privileged instructions and the
 * %gs read that kernel/sched.c makes through them are redirected here. sched.c is compiled as it
 * is; its time_ns(), lapic_*(), cpus[] and opts come from sched_sim.c.
 */
#ifndef KEEL_TEST_SCHED_SIM_H
#define KEEL_TEST_SCHED_SIM_H

#include "arch/x86/cpu.h"
#include "kernel/percpu.h"

struct percpu *sim_this_cpu(void);
void sim_irq_disable(void);
void sim_irq_enable(void);
void sim_irq_enable_and_halt(void);
bool sim_irqs_enabled(void);
void sim_cpu_relax(void);

#define this_cpu()	      sim_this_cpu()
#define irq_disable()	      sim_irq_disable()
#define irq_enable()	      sim_irq_enable()
#define irq_enable_and_halt() sim_irq_enable_and_halt()
#define irqs_enabled()	      sim_irqs_enabled()
#define cpu_relax()	      sim_cpu_relax()

#define SIM_MAX_EVENTS 16
#define SIM_HORIZON_NS 60000000000ull /* no test sleeps this long (simulated) unless it hung */

struct sim_event {
	u64 at; /* ns, time_ns clock */
	void (*fn)(void *arg);
	void *arg;
	bool fired;
};

struct sim {
	u64 now; /* time_ns(); never goes back, not even between tests */
	u64 t0;	 /* when the current test began (sim_reset) */
	bool irqs_on;
	u64 timer_at; /* when the one-shot timer fires, 0: not armed */
	struct sim_event events[SIM_MAX_EVENTS];
	u32 nr_events;
	const void *held; /* the entity whose state the CPU holds (set by the test's load/unload) */
	/* What happened. */
	u32 halts, untimed_halts; /* untimed: halted with no timer armed */
	u32 violations;
	char first_violation[256];
	bool hung;	       /* halted with nothing to wake it within the horizon */
	bool ending;	       /* after a hang: every entity is told to end, so the loop returns */
	void (*on_hang)(void); /* the test's: kicks every entity (which then ends) */
};

extern struct sim sim;

/* A new test: no events, no timer, interrupts on, counters cleared; the clock runs on. */
void sim_reset(void);
/* At `when`, an interrupt on CPU 0 whose handler calls fn(arg) (e.g. a kick). */
void sim_at(u64 when, void (*fn)(void *arg), void *arg);
/* A guest runs with interrupts off for up to `max` ns, less if an interrupt comes first (it
 * stays pending until interrupts are enabled); returns how long it ran. */
u64 sim_guest(u64 max);
/* Records a broken rule (the first message is kept); sim_check() fails the test on it. */
void sim_violation(const char *fmt, ...) __printf(1, 2);
/* Fails the test if a rule was broken or the CPU hung. */
void sim_check(void);

#endif
