/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlocks: FIFO fair, and the _irqsave forms keep interrupts off while held.
 *
 * In the debug build (`make DEBUG=1`, KEEL_DEBUG) each lock records the CPU that holds it:
 * taking a lock this CPU already holds (a self-deadlock, e.g. an interrupt handler or a callback
 * taking its caller's lock) and releasing a lock this CPU does not hold panic with the lock's
 * address and a backtrace, and spin_assert_held() checks a function's "called with X held"
 * contract. Other builds keep the bare ticket lock: spin_assert_held() compiles to nothing.
 */
#ifndef KEEL_SPINLOCK_H
#define KEEL_SPINLOCK_H

#include "kernel/types.h"

/* Owner tracking needs this_cpu(), which the host unit tests do not have. */
#if defined(KEEL_DEBUG) && !defined(KEEL_HOST_TEST)
#define SPIN_DEBUG 1
#else
#define SPIN_DEBUG 0
#endif

typedef struct {
	volatile u16 next;
	volatile u16 owner;
#if SPIN_DEBUG
	volatile u32 holder; /* 1 + the CPU that holds it, 0: free (so zeroed memory is a free lock) */
#endif
} spinlock_t;

#if SPIN_DEBUG
#define SPINLOCK_INIT   \
	{               \
		0, 0, 0 \
	}
#else
#define SPINLOCK_INIT \
	{             \
		0, 0  \
	}
#endif

#if SPIN_DEBUG
/* kernel/spinlock_debug.c: check, then record or clear the holder; panic on a violation. */
void spin_debug_lock(spinlock_t *l);
void spin_debug_locked(spinlock_t *l);
void spin_debug_unlock(spinlock_t *l);
void spin_debug_irqs_on(spinlock_t *l);
/* Panics unless this CPU holds `l`: for a function whose contract says "called with l held". */
void spin_assert_held(const spinlock_t *l);
/* For panic: the console lock is forced free, whoever held it. */
static inline void spin_debug_forget(spinlock_t *l)
{
	l->holder = 0;
}
#else
static inline void spin_debug_lock(spinlock_t *l)
{
}
static inline void spin_debug_locked(spinlock_t *l)
{
}
static inline void spin_debug_unlock(spinlock_t *l)
{
}
static inline void spin_debug_forget(spinlock_t *l)
{
}
static inline void spin_assert_held(const spinlock_t *l)
{
}
#endif

static inline void spin_lock(spinlock_t *l)
{
	u16 me;

	spin_debug_lock(l);
	me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		__builtin_ia32_pause();
	spin_debug_locked(l);
}

static inline bool spin_trylock(spinlock_t *l)
{
	u16 owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	u16 expect = owner;

	if (!__atomic_compare_exchange_n(&l->next, &expect, (u16)(owner + 1), false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false;
	spin_debug_locked(l);
	return true;
}

static inline void spin_unlock(spinlock_t *l)
{
	spin_debug_unlock(l);
	__atomic_store_n(&l->owner, (u16)(l->owner + 1), __ATOMIC_RELEASE);
}

#ifdef KEEL_HOST_TEST
/* Host unit tests run in user mode: there are no interrupts to mask. */
static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	spin_lock(l);
	return 0;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
	(void)flags;
	spin_unlock(l);
}
#else
#include "arch/x86/cpu.h"

static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long flags = irq_save();

	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
#if SPIN_DEBUG
	/* Interrupts turned on inside the critical section: an interrupt handler could take it. */
	if (irqs_enabled())
		spin_debug_irqs_on(l);
#endif
	spin_unlock(l);
	irq_restore(flags);
}
#endif

#endif
