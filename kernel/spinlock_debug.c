/* SPDX-License-Identifier: MIT */
/*
 * The debug build's lock checks (kernel/spinlock.h): each lock records the CPU holding it, so a
 * CPU that takes a lock it already holds panics with a backtrace instead of spinning forever with
 * interrupts off, which hangs every CPU that then wants the lock. Once a panic is under way the
 * checks stand down: the panic path itself takes the console lock, forced free.
 */
#include "kernel/spinlock.h"

#if SPIN_DEBUG
#include "kernel/panic.h"
#include "kernel/percpu.h"

/* 1 + this CPU's index (0 is a free lock); the BSP before its per-CPU area exists is CPU 0. */
static u32 me(void)
{
	return (cpus[0] ? this_cpu()->cpu : 0) + 1;
}

void spin_debug_lock(spinlock_t *l)
{
	if (unlikely(l->holder == me()) && !panic_in_progress())
		panic("spinlock %p: CPU %u takes it again while holding it (self-deadlock)", (void *)l, me() - 1);
}

void spin_debug_locked(spinlock_t *l)
{
	l->holder = me();
}

void spin_debug_unlock(spinlock_t *l)
{
	u32 holder = l->holder;

	if (unlikely(holder != me()) && !panic_in_progress()) {
		if (holder)
			panic("spinlock %p: CPU %u releases it, but CPU %u holds it", (void *)l, me() - 1, holder - 1);
		panic("spinlock %p: CPU %u releases it, but it is not held", (void *)l, me() - 1);
	}
	l->holder = 0;
}

void spin_debug_irqs_on(spinlock_t *l)
{
	if (!panic_in_progress())
		panic("spinlock %p: interrupts on while held with _irqsave", (void *)l);
}

void spin_assert_held(const spinlock_t *l)
{
	if (unlikely(l->holder != me()) && !panic_in_progress())
		panic("spinlock %p: CPU %u must hold it here", (const void *)l, me() - 1);
}
#endif
