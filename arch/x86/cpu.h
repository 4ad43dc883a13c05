/* SPDX-License-Identifier: MIT */
/* Thin wrappers around privileged x86 instructions. */
#ifndef KEEL_CPU_H
#define KEEL_CPU_H

#include "arch/x86/cpuid-bits.h"
#include "arch/x86/regs.h"
#include "kernel/types.h"

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)val), "d"((u32)(val >> 32)) : "memory");
}

/* read_crN/write_crN (control registers), read_drN/write_drN (debug registers). */
#define DEFINE_SYSREG(kind, n)                                               \
	static inline u64 read_##kind##n(void)                               \
	{                                                                    \
		u64 v;                                                       \
		__asm__ volatile("mov %%" #kind #n ", %0" : "=r"(v));        \
		return v;                                                    \
	}                                                                    \
	static inline void write_##kind##n(u64 v)                            \
	{                                                                    \
		__asm__ volatile("mov %0, %%" #kind #n ::"r"(v) : "memory"); \
	}
DEFINE_SYSREG(cr, 0)
DEFINE_SYSREG(cr, 2)
DEFINE_SYSREG(cr, 3)
DEFINE_SYSREG(cr, 4)
DEFINE_SYSREG(dr, 0)
DEFINE_SYSREG(dr, 1)
DEFINE_SYSREG(dr, 2)
DEFINE_SYSREG(dr, 3)
DEFINE_SYSREG(dr, 6)
#undef DEFINE_SYSREG

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void halt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* sti's one-instruction interrupt shadow makes this free of the lost-wakeup race. */
static inline void irq_enable_and_halt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline unsigned long read_rflags(void)
{
	unsigned long f;

	__asm__ volatile("pushfq; popq %0" : "=r"(f)::"memory");
	return f;
}

/* For ASSERT()s of a function's "interrupts off" contract. */
static inline bool irqs_enabled(void)
{
	return read_rflags() & RFLAGS_IF;
}

static inline unsigned long irq_save(void)
{
	unsigned long f = read_rflags();

	irq_disable();
	return f;
}

static inline void irq_restore(unsigned long flags)
{
	if (flags & RFLAGS_IF)
		irq_enable();
}

static inline void invlpg(const void *va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

__noreturn static inline void cpu_stop(void)
{
	for (;;) {
		irq_disable();
		halt();
	}
}

/* The CPU has IA32_TSC_AUX: it has RDTSCP or RDPID, which read it (SDM vol. 2B RDTSCP, RDPID). */
static inline bool cpu_has_tsc_aux(void)
{
	bool rdtscp = cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_RDTSCP);

	return rdtscp || (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & CPUID7_ECX_RDPID));
}

#endif
