/* SPDX-License-Identifier: MIT */
/* Architectural register bits (Intel SDM vol. 3A ch. 2 and 4; AMD APM vol. 2 ch. 3). */
#ifndef KEEL_REGS_H
#define KEEL_REGS_H

/* Unsigned in C (bit 31 of an int would overflow), plain in assembly, which has no suffixes. */
#ifdef __ASSEMBLER__
#define BIT(n) (1 << (n))
#else
#define BIT(n) (1UL << (n))
#endif

#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)

#define CR4_VME	       BIT(0)
#define CR4_PVI	       BIT(1)
#define CR4_TSD	       BIT(2)
#define CR4_DE	       BIT(3)
#define CR4_PSE	       BIT(4)
#define CR4_PAE	       BIT(5)
#define CR4_MCE	       BIT(6)
#define CR4_PGE	       BIT(7)
#define CR4_PCE	       BIT(8)
#define CR4_OSFXSR     BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_UMIP       BIT(11)
#define CR4_LA57       BIT(12)
#define CR4_VMXE       BIT(13)
#define CR4_FSGSBASE   BIT(16)
#define CR4_PCIDE      BIT(17)
#define CR4_OSXSAVE    BIT(18)
#define CR4_SMEP       BIT(20)
#define CR4_SMAP       BIT(21)

#include "arch/x86/msr-index.h" /* MSR numbers and bits, EFER's among them */

/*
 * MSRs a guest reads and writes without an exit: the CPU switches them itself (VMCB state that
 * VMRUN/VMLOAD/VMSAVE move; VMCS guest fields or the VMX MSR areas), so no guest value can reach
 * the host or another guest. The SYSCALL MSRs are in the VMX MSR areas for this reason.
 */
#define GUEST_OWNED_MSRS                                                                                           \
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_SYSENTER_CS, \
	    MSR_SYSENTER_ESP, MSR_SYSENTER_EIP

#define RFLAGS_CF BIT(0)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_DF BIT(10)
#define RFLAGS_AC BIT(18)

/* Boot GDT selectors (boot/entry.S) and the kernel GDT (arch/x86/gdt.c) agree on these. */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS	      0x18

#endif
