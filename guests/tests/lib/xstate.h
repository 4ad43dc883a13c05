/* SPDX-License-Identifier: MIT */
/*
 * x87/SSE/AVX state for the guests that check how the hypervisor switches it. The guests are built
 * -mgeneral-regs-only, so the compiler never touches these registers: only the instructions here
 * do (FXSAVE/FXRSTOR, XSAVE/XRSTOR, XGETBV/XSETBV; SDM vol. 1 ch. 10 and 13).
 */
#ifndef GUEST_XSTATE_H
#define GUEST_XSTATE_H

#include <stdint.h>

#define CR0_MP	       (1ul << 1)
#define CR0_EM	       (1ul << 2)
#define CR0_TS	       (1ul << 3)
#define CR4_OSFXSR     (1ul << 9)
#define CR4_OSXMMEXCPT (1ul << 10)
#define CR4_OSXSAVE    (1ul << 18)

#define CPUID1_EDX_FXSR	   (1u << 24)
#define CPUID1_EDX_SSE	   (1u << 25)
#define CPUID1_ECX_XSAVE   (1u << 26)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_AVX	   (1u << 28)

#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

/* The legacy region of an FXSAVE/XSAVE image (SDM vol. 1 table 10-2), and the XSAVE header. */
#define FX_FCW	   0
#define FX_FSW	   2
#define FX_FTW	   4 /* abridged: one bit per register, 1 = valid */
#define FX_MXCSR   24
#define FX_MXCSR_M 28 /* MXCSR_MASK */
#define FX_ST(i)   (32 + 16 * (i))
#define FX_XMM(i)  (160 + 16 * (i))
#define FX_SIZE	   512
#define XS_BV	   512 /* XSTATE_BV; XCOMP_BV and the rest of the header stay 0 */
#define XS_HEADER  64

/* The operand as one object of the image's size, so the compiler knows all of it is read or written. */
struct xstate_image {
	uint8_t bytes[4096];
};

static inline void write_cr0(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr4(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline uint64_t xgetbv(uint32_t index)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv(uint32_t index, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* area: 64-byte aligned for XSAVE/XRSTOR, 16 for FXSAVE/FXRSTOR. */
static inline void xsave(void *area, uint64_t mask)
{
	__asm__ volatile("xsave %0"
			 : "+m"(*(struct xstate_image *)area)
			 : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)));
}

static inline void xrstor(const void *area, uint64_t mask)
{
	__asm__ volatile("xrstor %0"
			 :
			 : "m"(*(const struct xstate_image *)area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			 : "memory");
}

static inline void fxsave(void *area)
{
	__asm__ volatile("fxsave %0" : "+m"(*(struct xstate_image *)area));
}

static inline void fxrstor(const void *area)
{
	__asm__ volatile("fxrstor %0" : : "m"(*(const struct xstate_image *)area) : "memory");
}

#endif
