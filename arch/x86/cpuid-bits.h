/* SPDX-License-Identifier: MIT */
/*
 * CPUID feature bits Keel reads or filters, named CPUID<leaf>_<register>_<feature> (Intel SDM vol.
 * 2A CPUID; AMD APM vol. 3 appendix E). The one place for them: no file defines its own.
 */
#ifndef KEEL_CPUID_BITS_H
#define KEEL_CPUID_BITS_H

/* Leaf 1 */
#define CPUID1_ECX_MONITOR	(1u << 3)
#define CPUID1_ECX_VMX		(1u << 5)
#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_XSAVE	(1u << 26)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID1_EDX_MCE		(1u << 7)
#define CPUID1_EDX_APIC		(1u << 9)
#define CPUID1_EDX_PGE		(1u << 13)
#define CPUID1_EDX_MCA		(1u << 14)
#define CPUID1_EDX_PAT		(1u << 16)
#define CPUID1_EDX_FXSR		(1u << 24)

/* Leaf 7, subleaf 0 */
#define CPUID7_EBX_TSC_ADJUST (1u << 1)
#define CPUID7_EBX_SMEP	      (1u << 7)
#define CPUID7_EBX_RTM	      (1u << 11)
#define CPUID7_EBX_SMAP	      (1u << 20)
#define CPUID7_ECX_WAITPKG    (1u << 5)
#define CPUID7_ECX_RDPID      (1u << 22)
#define CPUID7_EDX_SRBDS_CTRL (1u << 9) /* IA32_MCU_OPT_CTRL */
#define CPUID7_EDX_MD_CLEAR   (1u << 10)
#define CPUID7_EDX_SPEC_CTRL  (1u << 26) /* IBRS and IBPB */
#define CPUID7_EDX_STIBP      (1u << 27)
#define CPUID7_EDX_L1D_FLUSH  (1u << 28)
#define CPUID7_EDX_ARCH_CAP   (1u << 29)
#define CPUID7_EDX_CORE_CAP   (1u << 30) /* IA32_CORE_CAPABILITIES */
#define CPUID7_EDX_SSBD	      (1u << 31)

/* Leaf 0xD, subleaf 1 */
#define CPUIDD1_EAX_XSAVES (1u << 3)

/* Extended leaves */
#define CPUID80000001_ECX_SVM	    (1u << 2)
#define CPUID80000001_ECX_MONITORX  (1u << 29)
#define CPUID80000001_EDX_NX	    (1u << 20)
#define CPUID80000001_EDX_PDPE1GB   (1u << 26)
#define CPUID80000001_EDX_RDTSCP    (1u << 27)
#define CPUID80000007_EDX_INVTSC    (1u << 8)
#define CPUID80000008_EBX_RDPRU	    (1u << 4)
#define CPUID80000008_EBX_IBPB	    (1u << 12)
#define CPUID80000008_EBX_IBRS	    (1u << 14)
#define CPUID80000008_EBX_STIBP	    (1u << 15)
#define CPUID80000008_EBX_SSBD	    (1u << 24)
#define CPUID80000008_EBX_VIRT_SSBD (1u << 25) /* VIRT_SPEC_CTRL MSR */
#define CPUID80000008_EBX_PSFD	    (1u << 28) /* SPEC_CTRL bit 7 */
#define CPUID80000008_EBX_BTC_NO    (1u << 29)
#define CPUID8000000A_EDX_NP	    (1u << 0)
#define CPUID8000000A_EDX_NRIPS	    (1u << 3)
#define CPUID80000021_EAX_AUTOIBRS  (1u << 8) /* EFER.AUTOIBRS */

/* AMD's performance counter extensions: core (0xc0010200-0xc001020b), northbridge and last-level
 * cache counters. Hidden: there is no virtual PMU, so only the legacy four exist (reading 0). */
#define CPUID80000001_ECX_PERFCTR_CORE (1u << 23)
#define CPUID80000001_ECX_PERFCTR_NB   (1u << 24)
#define CPUID80000001_ECX_PERFCTR_LLC  (1u << 28)

#endif
