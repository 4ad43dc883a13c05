/* SPDX-License-Identifier: MIT */
/*
 * fault=: provoke a hypervisor fault after boot, so that the reporting path (exception dump,
 * backtrace, IST stacks, guard pages, stopping the other CPUs) is tested like any other code.
 */
#include "kernel/selftest.h"

#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/spinlock.h"

/* Not static and not inlined, so they appear in the backtrace by name. */
__attribute__((noinline)) void selftest_recurse(volatile u64 *depth);
__attribute__((noinline)) void selftest_recurse(volatile u64 *depth)
{
	volatile u8 pad[512];

	pad[0] = (u8)*depth;
	/* Bounded only by the stack: the guard page below it ends this. */
	if (++(*depth) != 0)
		selftest_recurse(depth);
	pad[1] = pad[0];
}

/* A lock taken twice on one CPU, as a callback that takes its caller's lock would: the debug
 * build's owner check must panic (any other build would spin here forever, interrupts off). */
__attribute__((noinline)) void selftest_relock(void);
__attribute__((noinline)) void selftest_relock(void)
{
	static spinlock_t lock = SPINLOCK_INIT;
	unsigned long flags = spin_lock_irqsave(&lock);

	spin_lock(&lock);
	spin_unlock(&lock);
	spin_unlock_irqrestore(&lock, flags);
}

static void ap_panic(void *arg)
{
	panic("fault=ap_panic: panic requested on CPU %u", this_cpu()->cpu);
}

u64 selftest_panic_at;

void selftest_timer_panic(void)
{
	static bool guests_everywhere;

	/* First wait until every CPU has run a guest (spec_owner: whose guest it ran last), then
	 * 200 ms more, so the guests are well under way. */
	if (!__atomic_load_n(&guests_everywhere, __ATOMIC_ACQUIRE)) {
		for (u32 c = 0; c < MAX_CPUS; c++)
			if (cpus[c] && cpus[c]->online && !__atomic_load_n(&cpus[c]->spec_owner, __ATOMIC_RELAXED))
				return;
		if (!__atomic_exchange_n(&guests_everywhere, true, __ATOMIC_ACQ_REL))
			__atomic_store_n(&selftest_panic_at, time_ns() + 200000000ull, __ATOMIC_RELEASE);
		return;
	}
	if (time_ns() >= __atomic_load_n(&selftest_panic_at, __ATOMIC_ACQUIRE))
		panic("fault=panic_in_guest: panic requested on CPU %u with guests running", this_cpu()->cpu);
}

void selftest_fault(void)
{
	volatile u64 depth = 0;
	/* Low memory is not mapped once Keel runs on its own page tables. */
	volatile u64 *volatile unmapped = (volatile u64 *)(uintptr_t)0x10;

	switch (opts.fault) {
	case FAULT_PAGE:
		pr_info("fault=pagefault: reading an unmapped address\n");
		(void)*unmapped;
		break;
	case FAULT_UD:
		pr_info("fault=ud: executing ud2\n");
		__asm__ volatile("ud2");
		break;
	case FAULT_STACK:
		pr_info("fault=stack_overflow: recursing into the guard page\n");
		selftest_recurse(&depth);
		break;
	case FAULT_PANIC:
		panic("fault=panic: panic requested");
	case FAULT_AP_PANIC:
		if (smp_call(nr_cpus_online > 1 ? 1 : 0, ap_panic, NULL))
			panic("fault=ap_panic: no CPU 1 to panic on");
		break;
	case FAULT_GUEST_PANIC:
		pr_info("fault=panic_in_guest: a timer interrupt or a VM exit panics 200 ms after every CPU ran a "
			"guest\n");
		selftest_panic_at = ~0ull;
		break;
	case FAULT_RELOCK:
		if (!SPIN_DEBUG) {
			pr_info("fault=relock: only the debug build (make DEBUG=1) checks lock owners\n");
			break;
		}
		pr_info("fault=relock: taking a lock this CPU holds\n");
		selftest_relock();
		break;
	default:
		break;
	}
}
