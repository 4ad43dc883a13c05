/* SPDX-License-Identifier: MIT */
/* Architectural register bits (Intel SDM vol. 3A ch. 2 and 4; AMD APM vol. 2 ch. 3). */
#ifndef KEEL_REGS_H
#define KEEL_REGS_H

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_AM (1 << 18)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)

#define CR4_VME	       (1 << 0)
#define CR4_PVI	       (1 << 1)
#define CR4_TSD	       (1 << 2)
#define CR4_DE	       (1 << 3)
#define CR4_PSE	       (1 << 4)
#define CR4_PAE	       (1 << 5)
#define CR4_MCE	       (1 << 6)
#define CR4_PGE	       (1 << 7)
#define CR4_PCE	       (1 << 8)
#define CR4_OSFXSR     (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_UMIP       (1 << 11)
#define CR4_LA57       (1 << 12)
#define CR4_VMXE       (1 << 13)
#define CR4_FSGSBASE   (1 << 16)
#define CR4_PCIDE      (1 << 17)
#define CR4_OSXSAVE    (1 << 18)
#define CR4_SMEP       (1 << 20)
#define CR4_SMAP       (1 << 21)

#define MSR_EFER  0xc0000080
#define EFER_SCE  (1 << 0)
#define EFER_LME  (1 << 8)
#define EFER_LMA  (1 << 10)
#define EFER_NXE  (1 << 11)
#define EFER_SVME (1 << 12)

#define MSR_APIC_BASE	   0x1b
#define MSR_PAT		   0x277
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX	   0xc0000103

#define RFLAGS_CF (1 << 0)
#define RFLAGS_ZF (1 << 6)
#define RFLAGS_TF (1 << 8)
#define RFLAGS_IF (1 << 9)
#define RFLAGS_DF (1 << 10)
#define RFLAGS_AC (1 << 18)

/* Boot GDT selectors (boot/entry.S) and the kernel GDT (arch/x86/gdt.c) agree on these. */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS	      0x18

#endif
