/* SPDX-License-Identifier: MIT */
/* Extended register state for guests (Intel SDM vol. 1 ch. 13, vol. 3A §2.6). */
#include "arch/x86/fpu.h"

#include "arch/x86/cpu.h"
#include "kernel/lib/string.h"

#define XCR0_X87     (1ull << 0)
#define XCR0_SSE     (1ull << 1)
#define XCR0_AVX     (1ull << 2)
#define XCR0_BNDREGS (1ull << 3)
#define XCR0_BNDCSR  (1ull << 4)
#define XCR0_AVX512  (7ull << 5) /* opmask, ZMM_Hi256, Hi16_ZMM: all or none */

static bool have_xsave, have_fxsr;
static u64 xcr0_supported;
/* A zeroed XSAVE area: XSTATE_BV = 0, so XRSTOR puts every component in its initial state. */
static u8 init_area[4096] __aligned(64);

static void xsetbv(u32 index, u64 v)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

void fpu_init_cpu(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	u64 cr4 = read_cr4();

	have_fxsr = r.edx & CPUID1_EDX_FXSR;
	have_xsave = (r.ecx & CPUID1_ECX_XSAVE) && cpuid(0, 0).eax >= 0xd;
	if (have_fxsr)
		cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (have_xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (have_xsave) {
		struct cpuid_regs d = cpuid(0xd, 0);

		xcr0_supported = d.eax | ((u64)d.edx << 32);
		if (d.ecx > sizeof(init_area)) /* bytes needed for every supported component */
			xcr0_supported &= XCR0_X87 | XCR0_SSE | XCR0_AVX;
	}
}

void fpu_reset_for_guest(void)
{
	if (have_xsave) {
		u64 mask = xcr0_supported;

		xsetbv(0, mask);
		__asm__ volatile("xrstor %0" ::"m"(init_area), "a"((u32)mask), "d"((u32)(mask >> 32)) : "memory");
		xsetbv(0, XCR0_X87);
	} else if (have_fxsr) {
		/* FXRSTOR of zeros with the default MXCSR. */
		static u8 fx[512] __aligned(16);
		u32 mxcsr = 0x1f80;

		memcpy(fx + 24, &mxcsr, 4);
		__asm__ volatile("fninit; fxrstor %0" ::"m"(fx) : "memory");
	} else {
		__asm__ volatile("fninit" ::: "memory");
	}
}

bool fpu_guest_xsetbv(u32 index, u64 value)
{
	if (!have_xsave || index != 0 || !(value & XCR0_X87) || (value & ~xcr0_supported))
		return false;
	if ((value & XCR0_AVX) && !(value & XCR0_SSE))
		return false;
	if ((value & XCR0_AVX512) && ((value & XCR0_AVX512) != XCR0_AVX512 || !(value & XCR0_AVX)))
		return false;
	if (!!(value & XCR0_BNDREGS) != !!(value & XCR0_BNDCSR))
		return false;
	xsetbv(0, value);
	return true;
}

/* The area as one memory operand, so the compiler knows all of it is read or written. */
struct fpu_image {
	u8 bytes[FPU_AREA_SIZE];
};

void fpu_guest_init(void *area)
{
	u32 mxcsr = 0x1f80; /* all SIMD exceptions masked: the power-on value */

	memset(area, 0, FPU_AREA_SIZE);
	memcpy((u8 *)area + 24, &mxcsr, 4);
}

static u64 xgetbv0(void)
{
	u32 lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | (u64)hi << 32;
}

/* XCR0 is opened to every supported component around XSAVE/XRSTOR, so that state a guest cannot
 * reach with its own XCR0 is still saved or cleared, never carried to another vCPU. */
/*
 * Whether the x87 part of a saved image is the initial state (SDM vol. 1 §13.6: FCW 037FH, FSW,
 * FTW, FOP, FIP, FDP and ST0-ST7 all 0). Then XSTATE_BV[0] may be cleared: XRSTOR initializes x87
 * instead of loading it, the same state. CPUs with XSAVEOPT track this themselves; QEMU's TCG
 * does not, and its x87 load from memory (FXRSTOR, XRSTOR, FRSTOR, FLDENV) clears IGNNE in the
 * *first* CPU's hidden flags from whichever CPU runs it, a read-modify-write that races with
 * that CPU's own VMRUN and #VMEXIT updating the same word (QEMU 7.2 cpu_set_fpus() ->
 * cpu_clear_ignne()): a lost update leaves that CPU's nested paging switched on in the host or
 * off in a guest (docs/testing.md). Keel's own restores then never take that path.
 */
static bool x87_initial(const void *area)
{
	const u64 *q = area; /* the legacy region in 8-byte words: 64-byte aligned */
	u64 st = 0;

	/* FCW 037FH with FSW, FTW and FOP 0; FIP; FDP (bytes 24-31 are MXCSR: SSE's). A state in
	 * use fails here, at the first word. */
	if (q[0] != 0x037f || q[1] || q[2])
		return false;
	for (unsigned i = 4; i < 20; i++) /* ST0-ST7, 16 bytes each, from byte 32 */
		st |= q[i];
	return !st;
}

void fpu_guest_save(void *area, u64 *xcr0)
{
	if (have_xsave) {
		u64 mask = xcr0_supported, bv;

		/* The guest's XCR0 as the CPU has it: normally what handle_xsetbv set, but QEMU's TCG
		 * does not implement the SVM XSETBV intercept and lets the guest write it directly. */
		*xcr0 = xgetbv0();
		xsetbv(0, mask);
		__asm__ volatile("xsave %0" : "+m"(*(struct fpu_image *)area) : "a"((u32)mask), "d"((u32)(mask >> 32)));
		memcpy(&bv, (u8 *)area + 512, sizeof(bv)); /* XSTATE_BV, the header's first field */
		if ((bv & XCR0_X87) && x87_initial(area)) {
			bv &= ~XCR0_X87;
			memcpy((u8 *)area + 512, &bv, sizeof(bv));
		}
	} else if (have_fxsr) {
		__asm__ volatile("fxsave %0" : "+m"(*(struct fpu_image *)area));
	}
}

void fpu_guest_restore(const void *area, u64 xcr0)
{
	if (have_xsave) {
		u64 mask = xcr0_supported;

		xsetbv(0, mask);
		__asm__ volatile("xrstor %0" ::"m"(*(const struct fpu_image *)area), "a"((u32)mask),
				 "d"((u32)(mask >> 32))
				 : "memory");
		xsetbv(0, xcr0 ? xcr0 : XCR0_X87);
	} else if (have_fxsr) {
		__asm__ volatile("fninit; fxrstor %0" ::"m"(*(const struct fpu_image *)area) : "memory");
	} else {
		__asm__ volatile("fninit" ::: "memory");
	}
}
