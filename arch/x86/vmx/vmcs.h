/* SPDX-License-Identifier: MIT */
/*
 * VMCS field encodings (Intel SDM vol. 3C, appendix B), VMX capability MSRs (appendix A), control
 * bits (ch. 24 "Virtual Machine Control Structures"), exit reasons (appendix C), and accessors
 * that check every VMREAD/VMWRITE for VMfailInvalid (CF) and VMfailValid (ZF) (SDM vol. 3C §30.2
 * "Conventions").
 */
#ifndef KEEL_VMX_VMCS_H
#define KEEL_VMX_VMCS_H

#include "kernel/panic.h"
#include "kernel/types.h"

/* Bits 14:13 of an encoding give the field's width (SDM vol. 3C §24.11.2). */
#define VMCS_WIDTH(f)	   (((u32)(f) >> 13) & 3)
#define VMCS_WIDTH_16	   0
#define VMCS_WIDTH_64	   1
#define VMCS_WIDTH_32	   2
#define VMCS_WIDTH_NATURAL 3

enum vmcs_field {
	/* 16-bit */
	VIRTUAL_PROCESSOR_ID = 0x0000,
	GUEST_ES_SELECTOR = 0x0800,
	GUEST_CS_SELECTOR = 0x0802,
	GUEST_SS_SELECTOR = 0x0804,
	GUEST_DS_SELECTOR = 0x0806,
	GUEST_FS_SELECTOR = 0x0808,
	GUEST_GS_SELECTOR = 0x080a,
	GUEST_LDTR_SELECTOR = 0x080c,
	GUEST_TR_SELECTOR = 0x080e,
	HOST_ES_SELECTOR = 0x0c00,
	HOST_CS_SELECTOR = 0x0c02,
	HOST_SS_SELECTOR = 0x0c04,
	HOST_DS_SELECTOR = 0x0c06,
	HOST_FS_SELECTOR = 0x0c08,
	HOST_GS_SELECTOR = 0x0c0a,
	HOST_TR_SELECTOR = 0x0c0c,
	/* 64-bit */
	IO_BITMAP_A = 0x2000,
	IO_BITMAP_B = 0x2002,
	MSR_BITMAP = 0x2004,
	VM_EXIT_MSR_STORE_ADDR = 0x2006,
	VM_EXIT_MSR_LOAD_ADDR = 0x2008,
	VM_ENTRY_MSR_LOAD_ADDR = 0x200a,
	TSC_OFFSET = 0x2010,
	EPT_POINTER = 0x201a,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800,
	GUEST_IA32_DEBUGCTL = 0x2802,
	GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00,
	HOST_IA32_EFER = 0x2c02,
	/* 32-bit */
	PIN_BASED_VM_EXEC_CONTROL = 0x4000,
	CPU_BASED_VM_EXEC_CONTROL = 0x4002,
	EXCEPTION_BITMAP = 0x4004,
	PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
	PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,
	CR3_TARGET_COUNT = 0x400a,
	VM_EXIT_CONTROLS = 0x400c,
	VM_EXIT_MSR_STORE_COUNT = 0x400e,
	VM_EXIT_MSR_LOAD_COUNT = 0x4010,
	VM_ENTRY_CONTROLS = 0x4012,
	VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VM_ENTRY_INTR_INFO = 0x4016,
	VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
	VM_ENTRY_INSTRUCTION_LEN = 0x401a,
	SECONDARY_VM_EXEC_CONTROL = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400,
	VM_EXIT_REASON = 0x4402,
	VM_EXIT_INTR_INFO = 0x4404,
	VM_EXIT_INTR_ERROR_CODE = 0x4406,
	IDT_VECTORING_INFO = 0x4408,
	IDT_VECTORING_ERROR_CODE = 0x440a,
	VM_EXIT_INSTRUCTION_LEN = 0x440c,
	VM_EXIT_INSTRUCTION_INFO = 0x440e,
	GUEST_ES_LIMIT = 0x4800,
	GUEST_CS_LIMIT = 0x4802,
	GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806,
	GUEST_FS_LIMIT = 0x4808,
	GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c,
	GUEST_TR_LIMIT = 0x480e,
	GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR = 0x4814,
	GUEST_CS_AR = 0x4816,
	GUEST_SS_AR = 0x4818,
	GUEST_DS_AR = 0x481a,
	GUEST_FS_AR = 0x481c,
	GUEST_GS_AR = 0x481e,
	GUEST_LDTR_AR = 0x4820,
	GUEST_TR_AR = 0x4822,
	GUEST_INTERRUPTIBILITY = 0x4824,
	GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482a,
	VMX_PREEMPTION_TIMER_VALUE = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,
	/* natural width */
	CR0_GUEST_HOST_MASK = 0x6000,
	CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004,
	CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400,
	GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800,
	GUEST_CR3 = 0x6802,
	GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806,
	GUEST_CS_BASE = 0x6808,
	GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c,
	GUEST_FS_BASE = 0x680e,
	GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812,
	GUEST_TR_BASE = 0x6814,
	GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818,
	GUEST_DR7 = 0x681a,
	GUEST_RSP = 0x681c,
	GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820,
	GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824,
	GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00,
	HOST_CR3 = 0x6c02,
	HOST_CR4 = 0x6c04,
	HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08,
	HOST_TR_BASE = 0x6c0a,
	HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e,
	HOST_IA32_SYSENTER_ESP = 0x6c10,
	HOST_IA32_SYSENTER_EIP = 0x6c12,
	HOST_RSP = 0x6c14,
	HOST_RIP = 0x6c16,
};

/* The capability and control MSRs: arch/x86/msr-index.h (MSR_VMX_*, MSR_FEATURE_CONTROL). */

/* IA32_VMX_BASIC (SDM vol. 3C §A.1). */
#define VMX_BASIC_REVISION(b)	 ((u32)(b)&0x7fffffff)
#define VMX_BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_ADDR	 (1ULL << 48)
#define VMX_BASIC_MEMTYPE(b)	 (((b) >> 50) & 0xf)
#define VMX_BASIC_TRUE_CTLS	 (1ULL << 55)

/* IA32_VMX_EPT_VPID_CAP (SDM vol. 3C §A.10). */
#define EPT_CAP_WALK4		(1ULL << 6)
#define EPT_CAP_WB		(1ULL << 14)
#define EPT_CAP_2M		(1ULL << 16)
#define EPT_CAP_1G		(1ULL << 17)
#define EPT_CAP_INVEPT		(1ULL << 20)
#define EPT_CAP_INVEPT_SINGLE	(1ULL << 25)
#define EPT_CAP_INVEPT_ALL	(1ULL << 26)
#define VPID_CAP_INVVPID	(1ULL << 32)
#define VPID_CAP_INVVPID_SINGLE (1ULL << 41)
#define VPID_CAP_INVVPID_ALL	(1ULL << 42)

/* Pin-based controls (SDM vol. 3C §24.6.1). */
#define PIN_EXTINT_EXITING   (1u << 0)
#define PIN_NMI_EXITING	     (1u << 3)
#define PIN_VIRTUAL_NMIS     (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)

/* Primary processor-based controls (§24.6.2, table 24-6). */
#define CPU_INTR_WINDOW_EXITING (1u << 2)
#define CPU_USE_TSC_OFFSETTING	(1u << 3)
#define CPU_HLT_EXITING		(1u << 7)
#define CPU_MWAIT_EXITING	(1u << 10)
#define CPU_RDPMC_EXITING	(1u << 11)
#define CPU_CR3_LOAD_EXITING	(1u << 15)
#define CPU_CR3_STORE_EXITING	(1u << 16)
#define CPU_CR8_LOAD_EXITING	(1u << 19)
#define CPU_CR8_STORE_EXITING	(1u << 20)
#define CPU_USE_IO_BITMAPS	(1u << 25)
#define CPU_USE_MSR_BITMAPS	(1u << 28)
#define CPU_NMI_WINDOW_EXITING	(1u << 22)
#define CPU_MONITOR_EXITING	(1u << 29)
#define CPU_SECONDARY_CONTROLS	(1u << 31)

/* Secondary processor-based controls (§24.6.2, table 24-7). */
#define CPU2_ENABLE_EPT	    (1u << 1)
#define CPU2_ENABLE_RDTSCP  (1u << 3)
#define CPU2_ENABLE_VPID    (1u << 5)
#define CPU2_WBINVD_EXITING (1u << 6) /* WBINVD and WBNOINVD */
#define CPU2_UNRESTRICTED   (1u << 7)
#define CPU2_ENABLE_INVPCID (1u << 12)
#define CPU2_ENABLE_XSAVES  (1u << 20)

/* VM-exit controls (§24.7.1). */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDR_SPACE_64	 (1u << 9)
#define EXIT_SAVE_PAT		 (1u << 18)
#define EXIT_LOAD_PAT		 (1u << 19)
#define EXIT_SAVE_EFER		 (1u << 20)
#define EXIT_LOAD_EFER		 (1u << 21)

/* VM-entry controls (§24.8.1). "IA-32e mode guest" is stored back from EFER.LMA at each exit. */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_GUEST	  (1u << 9)
#define ENTRY_LOAD_PAT		  (1u << 14)
#define ENTRY_LOAD_EFER		  (1u << 15)

/* Interruption-information format, shared by VM-entry injection, VM-exit and IDT-vectoring
 * information (§24.8.3, §24.9.2, §24.9.3). */
#define INTR_INFO_VECTOR(i)	   ((i)&0xff)
#define INTR_INFO_TYPE(i)	   (((i) >> 8) & 7)
#define INTR_TYPE_EXT_INTR	   (0u << 8)
#define INTR_TYPE_NMI		   (2u << 8)
#define INTR_TYPE_HW_EXCEPTION	   (3u << 8)
#define INTR_INFO_ERROR_VALID	   (1u << 11)
#define INTR_INFO_NMI_UNBLOCK	   (1u << 12)
#define INTR_INFO_VALID		   (1u << 31)
#define INTR_TYPE_NR_NMI	   2
#define INTR_TYPE_NR_HW_EXC	   3
#define INTR_TYPE_NR_SOFT_INTR	   4
#define INTR_TYPE_NR_PRIV_SOFT_EXC 5
#define INTR_TYPE_NR_SOFT_EXC	   6

/* Guest interruptibility state (§24.4.2, table 24-3). */
#define INTERRUPTIBILITY_STI   (1u << 0)
#define INTERRUPTIBILITY_MOVSS (1u << 1)
#define INTERRUPTIBILITY_NMI   (1u << 3) /* blocking by NMI (virtual-NMI blocking with virtual NMIs) */

/* Pending debug exceptions (§24.4.2, table 24-4): BS, a pending single-step trap. */
#define PENDING_DBG_BS (1u << 14)

/* EPT-violation exit qualification (§27.2.1, table 27-7): NMI unblocking due to IRET. */
#define EPT_QUAL_NMI_UNBLOCK (1u << 12)

/* Segment access rights in the VMCS (§24.4.1, table 24-2). */
#define AR_CODE32   0xc09b /* G, D/B, P, S, type 0xb (execute/read, accessed) */
#define AR_DATA32   0xc093
#define AR_CODE16   0x009b
#define AR_DATA16   0x0093
#define AR_TSS_BUSY 0x008b
#define AR_LDT	    0x0082
#define AR_L	    (1u << 13)
#define AR_DB	    (1u << 14)
#define AR_DPL(ar)  (((ar) >> 5) & 3)

/* Basic exit reasons (SDM vol. 3C appendix C). */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTERRUPT = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_IO_SMI = 5,
	VMX_EXIT_OTHER_SMI = 6,
	VMX_EXIT_INTERRUPT_WINDOW = 7,
	VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_RDPMC = 15,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_IO = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33,
	VMX_EXIT_MSR_LOADING = 34,
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_MACHINE_CHECK_ENTRY = 41,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_PREEMPTION_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_WBINVD = 54, /* WBINVD or WBNOINVD */
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_VMFUNC = 59,
};
#define VMX_EXIT_REASON_BASIC(r)   ((r)&0xffff)
#define VMX_EXIT_REASON_ENTRY_FAIL (1u << 31)

/* I/O exit qualification (§27.2.1, table 27-5). */
#define IO_QUAL_SIZE(q) (((q)&7) + 1)
#define IO_QUAL_IN	(1u << 3)
#define IO_QUAL_STRING	(1u << 4)
#define IO_QUAL_REP	(1u << 5)
#define IO_QUAL_PORT(q) ((u16)((q) >> 16))

/* Control-register access exit qualification (table 27-3). */
#define CR_QUAL_CR(q)	   ((q)&15)
#define CR_QUAL_TYPE(q)	   (((q) >> 4) & 3)
#define CR_QUAL_GPR(q)	   (((q) >> 8) & 15)
#define CR_ACCESS_MOV_TO   0
#define CR_ACCESS_MOV_FROM 1

/* EPT paging-structure entries (§28.3.2, tables 28-1 to 28-6) and the EPTP (§24.6.11). */
#define EPT_R	       (1ULL << 0)
#define EPT_W	       (1ULL << 1)
#define EPT_X	       (1ULL << 2)
#define EPT_RWX	       (EPT_R | EPT_W | EPT_X)
#define EPT_MT_WB      (6ULL << 3)
#define EPT_LARGE      (1ULL << 7)
#define EPT_ADDR       0x000ffffffffff000ULL
#define EPTP_WB	       6ULL
#define EPTP_WALK4     (3ULL << 3)
#define INVEPT_SINGLE  1
#define INVEPT_ALL     2
#define INVVPID_SINGLE 1
#define INVVPID_ALL    2

/* Accessors: each checks CF/ZF and, on failure, logs the VM-instruction error and marks the vCPU
 * whose VMCS is current (vmcs.c), so that it never enters with a half-written VMCS. Inline: a VM
 * exit does a dozen of them. The check is one branch on CF|ZF ("below or equal") straight after
 * the instruction (asm goto); vmcs_failed tells VMfailInvalid from VMfailValid itself. */
void vmcs_failed(const char *op, u32 field);

static inline u64 vmcs_read(enum vmcs_field f, unsigned width)
{
	u64 v;

	ASSERT(VMCS_WIDTH(f) == width);
	__asm__ goto("vmread %[f], %[v]; jbe %l[fail]" : [v] "=r"(v) : [f] "r"((u64)f) : "cc" : fail);
	return v;
fail:
	vmcs_failed("VMREAD", f);
	return 0;
}

static inline void vmcs_write(enum vmcs_field f, u64 v, unsigned width)
{
	ASSERT(VMCS_WIDTH(f) == width);
	__asm__ goto("vmwrite %[v], %[f]; jbe %l[fail]" : : [f] "r"((u64)f), [v] "rm"(v) : "cc", "memory" : fail);
	return;
fail:
	vmcs_failed("VMWRITE", f);
}

static inline u16 vmcs_read16(enum vmcs_field f)
{
	return (u16)vmcs_read(f, VMCS_WIDTH_16);
}

static inline u32 vmcs_read32(enum vmcs_field f)
{
	return (u32)vmcs_read(f, VMCS_WIDTH_32);
}

static inline u64 vmcs_read64(enum vmcs_field f)
{
	return vmcs_read(f, VMCS_WIDTH_64);
}

static inline u64 vmcs_readnat(enum vmcs_field f)
{
	return vmcs_read(f, VMCS_WIDTH_NATURAL);
}

static inline void vmcs_write16(enum vmcs_field f, u16 v)
{
	vmcs_write(f, v, VMCS_WIDTH_16);
}

static inline void vmcs_write32(enum vmcs_field f, u32 v)
{
	vmcs_write(f, v, VMCS_WIDTH_32);
}

static inline void vmcs_write64(enum vmcs_field f, u64 v)
{
	vmcs_write(f, v, VMCS_WIDTH_64);
}

static inline void vmcs_writenat(enum vmcs_field f, u64 v)
{
	vmcs_write(f, v, VMCS_WIDTH_NATURAL);
}

#endif
