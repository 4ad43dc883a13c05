/* SPDX-License-Identifier: MIT */
/* The simulated CPU of sched_sim.h, and the kernel services kernel/sched.c calls besides. */
#include "sched_sim.h"

#include "shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "kernel/options.h"

struct sim sim = { .irqs_on = true };
static struct percpu cpu0 = { .self = &cpu0, .cpu = 0, .online = true };
struct percpu *cpus[MAX_CPUS] = { &cpu0 };
struct keel_options opts = { .sched_slice_us = 5000, .sched_period_ms = 100 }; /* the defaults */

void sim_reset(void)
{
	u64 now = sim.now;

	memset(&sim, 0, sizeof(sim));
	sim.now = sim.t0 = now;
	sim.irqs_on = true;
}

void sim_at(u64 when, void (*fn)(void *arg), void *arg)
{
	assert_true(sim.nr_events < SIM_MAX_EVENTS);
	sim.events[sim.nr_events++] = (struct sim_event){ .at = when, .fn = fn, .arg = arg };
}

void sim_violation(const char *fmt, ...)
{
	va_list ap;

	if (!sim.violations++) {
		va_start(ap, fmt);
		vsnprintf(sim.first_violation, sizeof(sim.first_violation), fmt, ap);
		va_end(ap);
	}
}

void sim_check(void)
{
	if (sim.violations)
		fail_msg("%u broken rule(s), the first: %s", sim.violations, sim.first_violation);
	if (sim.hung)
		fail_msg("CPU 0 hung: halted with nothing to wake it within %llu s", SIM_HORIZON_NS / 1000000000ull);
}

static struct sim_event *next_event(void)
{
	struct sim_event *next = NULL;

	for (u32 i = 0; i < sim.nr_events; i++)
		if (!sim.events[i].fired && (!next || sim.events[i].at < next->at))
			next = &sim.events[i];
	return next;
}

/* When the next interrupt comes (timer or event), 0: never. */
static u64 next_interrupt(void)
{
	struct sim_event *ev = next_event();
	u64 at = ev ? ev->at : 0;

	return !sim.timer_at ? at : !at ? sim.timer_at : MIN(at, sim.timer_at);
}

/* Takes the interrupts that are due, earliest first, each handler with interrupts off. */
static void deliver(void)
{
	while (sim.irqs_on) {
		struct sim_event *ev = next_event();
		bool timer = sim.timer_at && sim.timer_at <= sim.now && (!ev || sim.timer_at <= ev->at);

		if (!timer && !(ev && ev->at <= sim.now))
			return;
		sim.irqs_on = false;
		cpu0.nr_irqs++;
		if (timer) {
			sim.timer_at = 0; /* one-shot */
			cpu0.timer_ticks++;
		} else {
			ev->fired = true;
			ev->fn(ev->arg);
		}
		sim.irqs_on = true;
	}
}

u64 sim_guest(u64 max)
{
	u64 start = sim.now, end = sim.now + max, next = next_interrupt();

	if (sim.irqs_on)
		sim_violation("a guest entered with interrupts on: an interrupt could be taken before the entry");
	if (next && next < end)
		end = MAX(next, start);
	sim.now = end;
	return end - start;
}

static void hang(void)
{
	if (sim.hung)
		fail_msg("CPU 0 hung again after every entity was told to end");
	sim.hung = true;
	sim.ending = true;
	if (sim.on_hang)
		sim.on_hang();
}

struct percpu *sim_this_cpu(void)
{
	return &cpu0;
}

void sim_irq_disable(void)
{
	sim.irqs_on = false;
}

void sim_irq_enable(void)
{
	sim.irqs_on = true;
	deliver();
}

bool sim_irqs_enabled(void)
{
	return sim.irqs_on;
}

/* `sti; hlt`: an interrupt pending at the sti ends the halt at once. */
void sim_irq_enable_and_halt(void)
{
	u64 next = next_interrupt();

	if (sim.irqs_on)
		sim_violation("halted with interrupts on: a kick between the check and the halt is lost");
	if (sim.held)
		sim_violation("halted holding an entity's state: no other CPU could run it");
	sim.halts++;
	if (!sim.timer_at)
		sim.untimed_halts++;
	if (!next || next - sim.t0 > SIM_HORIZON_NS)
		hang();
	else if (next > sim.now)
		sim.now = next;
	sim_irq_enable();
}

/* Only take() spins, waiting for another CPU to release an entity: with one CPU it never waits. */
void sim_cpu_relax(void)
{
	fail_msg("CPU 0 waits for an entity that no other CPU holds");
}

u64 time_ns(void)
{
	return sim.now;
}

void lapic_timer_oneshot(u64 ns)
{
	sim.timer_at = ns ? sim.now + ns : 0;
}

void lapic_send_ipi(u32 apic_id, u32 icr_low)
{
	sim_violation("an IPI to APIC %u on a machine with one CPU", apic_id);
}
