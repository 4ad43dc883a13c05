/* SPDX-License-Identifier: MIT */
/* One page-aligned area per physical CPU, reached through GS: this_cpu(). */
#ifndef KEEL_PERCPU_H
#define KEEL_PERCPU_H

#include "kernel/types.h"

#define MAX_CPUS 256

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;
_Static_assert(sizeof(struct tss) == 104, "TSS layout (SDM vol. 3A §8.7)");

typedef void (*cpu_call_fn)(void *arg);

struct percpu {
	struct percpu *self; /* offset 0: this_cpu() reads %gs:0 */
	u32 cpu;	     /* logical index, 0 = BSP */
	u32 apic_id;
	volatile bool online;
	void *stack_top;
	u64 gdt[8] __aligned(16);
	struct tss tss __aligned(16);
	volatile u64 timer_ticks;
	volatile u64 nr_irqs; /* interrupts taken (vectors 32-255): the exit fast path looks at it */
	/* The scheduler asks this CPU to look at its run queue before entering a guest again
	 * (kernel/sched.c sets it, from any CPU; sched_resched_asked() reads it). */
	volatile bool sched_resched;
	/* Cross-CPU call: the caller fills fn/arg under call_lock, IPIs, waits for call_done. */
	cpu_call_fn volatile call_fn;
	void *volatile call_arg;
	volatile u64 call_seq;
	volatile u64 call_done;
	/* Long-running work for an idle CPU (smp_post): run from its idle loop, not an IRQ. */
	cpu_call_fn volatile work_fn;
	void *volatile work_arg;
	/* Whose code last ran on this CPU in a guest (a VM's id; 0: none since boot): a switch to
	 * another owner takes an IBPB (arch/x86/spec.c). */
	u64 spec_owner;
	/* Code other than the exit fast path ran since the last L1D flush (arch/x86/spec.h). */
	bool spec_l1d_dirty;
} __aligned(4096);

extern struct percpu *cpus[MAX_CPUS];
extern u32 nr_cpus_online;
extern u32 nr_cpus_present;

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Allocates and installs (GS base) the per-CPU area of logical CPU `cpu`. */
struct percpu *percpu_alloc(u32 cpu, u32 apic_id);
void percpu_install(struct percpu *p);

#endif
