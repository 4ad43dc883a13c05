/* SPDX-License-Identifier: MIT */
/*
 * Every MSR Keel names, and the bits of those it reads or writes field by field (Intel SDM vol. 4
 * table 2-2 and vol. 3C appendix A; AMD APM vol. 2 appendix A). The one place for them: files
 * include this (or arch/x86/regs.h, which includes it) instead of defining their own.
 */
#ifndef KEEL_MSR_INDEX_H
#define KEEL_MSR_INDEX_H

#include "arch/x86/regs.h"

/* Architectural */
#define MSR_TSC				  0x10
#define MSR_PLATFORM_ID			  0x17
#define MSR_APIC_BASE			  0x1b
#define MSR_FEATURE_CONTROL		  0x3a
#define MSR_UCODE_REV			  0x8b /* Intel IA32_BIOS_SIGN_ID; AMD PATCH_LEVEL */
#define FEATURE_CONTROL_LOCK		  BIT(0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)
#define MSR_SPEC_CTRL			  0x48
#define SPEC_CTRL_IBRS			  BIT(0)
#define SPEC_CTRL_STIBP			  BIT(1)
#define SPEC_CTRL_SSBD			  BIT(2)
#define MSR_PRED_CMD			  0x49
#define PRED_CMD_IBPB			  BIT(0)
#define MSR_MTRRCAP			  0xfe
#define MSR_ARCH_CAPABILITIES		  0x10a
#define MSR_FLUSH_CMD			  0x10b
#define FLUSH_CMD_L1D			  BIT(0)
#define MSR_SYSENTER_CS			  0x174
#define MSR_SYSENTER_ESP		  0x175
#define MSR_SYSENTER_EIP		  0x176
#define MSR_MISC_ENABLE			  0x1a0
#define MSR_PAT				  0x277
/* IA32_PAT's value at reset: WB, WT, UC-, UC, twice (SDM vol. 3A §12.12.4). */
#define PAT_RESET_VALUE		    0x0007040600070406ULL
#define MSR_MTRR_DEF_TYPE	    0x2ff
#define MSR_VMX_BASIC		    0x480
#define MSR_VMX_MISC		    0x485
#define MSR_VMX_CR0_FIXED0	    0x486
#define MSR_VMX_CR0_FIXED1	    0x487
#define MSR_VMX_CR4_FIXED0	    0x488
#define MSR_VMX_CR4_FIXED1	    0x489
#define MSR_VMX_PROCBASED_CTLS2	    0x48b
#define MSR_VMX_EPT_VPID_CAP	    0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS  0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS	    0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS	    0x490
#define MSR_TSC_DEADLINE	    0x6e0
#define MSR_X2APIC_FIRST	    0x800
#define MSR_X2APIC_LAST		    0x8ff

/* IA32_ARCH_CAPABILITIES */
#define ARCH_CAP_RDCL_NO	    BIT(0) /* not affected by Meltdown / L1TF */
#define ARCH_CAP_IBRS_ALL	    BIT(1) /* enhanced IBRS */
#define ARCH_CAP_RSBA		    BIT(2) /* RET may be predicted from the BTB */
#define ARCH_CAP_SKIP_L1DFL_VMENTRY BIT(3) /* a hypervisor need not flush L1D on entry */
#define ARCH_CAP_SSB_NO		    BIT(4)
#define ARCH_CAP_MDS_NO		    BIT(5)
#define ARCH_CAP_PSCHANGE_MC_NO	    BIT(6)
#define ARCH_CAP_TAA_NO		    BIT(8)
#define ARCH_CAP_SBDR_SSDP_NO	    BIT(13)
#define ARCH_CAP_FBSDP_NO	    BIT(14)
#define ARCH_CAP_PSDP_NO	    BIT(15)
#define ARCH_CAP_FB_CLEAR	    BIT(17)
#define ARCH_CAP_RRSBA		    BIT(19)
#define ARCH_CAP_BHI_NO		    BIT(20)
#define ARCH_CAP_PBRSB_NO	    BIT(24)
#define ARCH_CAP_GDS_NO		    BIT(26)
#define ARCH_CAP_RFDS_NO	    BIT(27)
#define ARCH_CAP_RFDS_CLEAR	    BIT(28)

/* AMD64 and the SYSCALL family */
#define MSR_EFER	   0xc0000080
#define EFER_SCE	   BIT(0)
#define EFER_LME	   BIT(8)
#define EFER_LMA	   BIT(10)
#define EFER_NXE	   BIT(11)
#define EFER_SVME	   BIT(12)
#define EFER_AUTOIBRS	   BIT(21) /* AMD APM vol. 2 §3.1.7: automatic IBRS */
#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_CSTAR	   0xc0000083
#define MSR_SFMASK	   0xc0000084
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX	   0xc0000103

/* AMD */
/* The legacy performance counters every AMD CPU has, with no CPUID bit (AMD APM vol. 2 §13.2.1;
 * BKDG "MSRC001_000[0...3] Performance Event Select", "MSRC001_000[4...7] Performance Event
 * Counter"). The core extension (CPUID 8000_0001.ECX[23]) mirrors them at 0xc0010200-0xc001020b. */
#define MSR_K7_EVNTSEL0	 0xc0010000
#define MSR_K7_EVNTSEL3	 0xc0010003
#define MSR_K7_PERFCTR0	 0xc0010004
#define MSR_K7_PERFCTR3	 0xc0010007
#define MSR_AMD64_NB_CFG 0xc001001f
#define MSR_VM_CR	 0xc0010114
#define VM_CR_SVMDIS	 BIT(4)
#define MSR_VM_HSAVE_PA	 0xc0010117

#endif
