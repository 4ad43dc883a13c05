/* SPDX-License-Identifier: MIT */
/* Instruction wrappers for the test guests; the same source builds for 32-bit and 64-bit guests. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdint.h>

/* Exception vectors (AMD APM vol 2, 8.2; Intel SDM vol 3A, 6.3.1). */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14

/* #PF error code bits (APM vol 2, 8.4.2). */
#define PF_ERR_P    0x1u /* the page was present: a protection fault */
#define PF_ERR_W    0x2u /* the access was a write */
#define PF_ERR_U    0x4u /* the access came from CPL 3 */
#define PF_ERR_RSVD 0x8u

#define MSR_TSC		0x00000010u
#define MSR_EFER	0xc0000080u
#define MSR_VM_HSAVE_PA 0xc0010117u

#define EFER_SCE  (1ull << 0)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
#define EFER_NXE  (1ull << 11)
#define EFER_SVME (1ull << 12)

#define CR0_PE	(1ul << 0)
#define CR0_PG	(1ul << 31)
#define CR4_PSE (1ul << 4)
#define CR4_PAE (1ul << 5)

#define RFLAGS_IF (1ul << 9)

/* CPUID bits (APM vol 3, appendix E; SDM vol 2A, CPUID). */
#define CPUID_1_ECX_VMX	       (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_PSE	       (1u << 3)
#define CPUID_80000001_ECX_SVM (1u << 2)

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline unsigned long read_cr0(void)
{
	unsigned long v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_cr2(void)
{
	unsigned long v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_cr4(void)
{
	unsigned long v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_flags(void)
{
	unsigned long v;
	__asm__ volatile("pushf; pop %0" : "=r"(v));
	return v;
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void pause(void)
{
	__asm__ volatile("pause");
}

/* An IDT gate (SDM vol. 3A §6.11, §6.14.1), shared by trap.c and smp.c. */
#ifdef __x86_64__
struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
};
#else
struct idt_gate {
	uint16_t off0, sel;
	uint8_t zero, type;
	uint16_t off1;
};
#endif

#endif
