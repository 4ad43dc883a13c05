/* SPDX-License-Identifier: MIT */
/* The VMCB (AMD APM vol. 2, appendix B): control area at 0x000, state save area at 0x400. */
#ifndef KEEL_SVM_VMCB_H
#define KEEL_SVM_VMCB_H

#include "arch/x86/svm/svm_types.h"
#include "kernel/types.h"

struct vmcb_seg {
	u16 selector;
	u16 attrib; /* descriptor bits 8-15 and 20-23 packed into 12 bits (APM B.2) */
	u32 limit;
	u64 base;
} __packed;

struct vmcb {
	/* Control area */
	u32 intercept_cr;	  /* 0x000: reads 0-15, writes 16-31 */
	u32 intercept_dr;	  /* 0x004 */
	u32 intercept_exceptions; /* 0x008 */
	u32 intercept_misc1;	  /* 0x00c */
	u32 intercept_misc2;	  /* 0x010 */
	u32 intercept_misc3;	  /* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold; /* 0x03c */
	u16 pause_filter_count;	    /* 0x03e */
	u64 iopm_base_pa;	    /* 0x040 */
	u64 msrpm_base_pa;	    /* 0x048 */
	u64 tsc_offset;		    /* 0x050 */
	u32 asid;		    /* 0x058 */
	u8 tlb_control;		    /* 0x05c */
	u8 reserved_05d[3];
	u64 vintr; /* 0x060: V_TPR, V_IRQ (bit 8), V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING (24), vector 32-39 */
	u64 interrupt_shadow; /* 0x068 */
	u64 exitcode;	      /* 0x070 */
	u64 exitinfo1;	      /* 0x078 */
	u64 exitinfo2;	      /* 0x080 */
	u64 exitintinfo;      /* 0x088 */
	u64 np_enable;	      /* 0x090 */
	u64 avic_apic_bar;    /* 0x098 */
	u64 ghcb_pa;	      /* 0x0a0 */
	u64 eventinj;	      /* 0x0a8 */
	u64 n_cr3;	      /* 0x0b0 */
	u64 lbr_virt;	      /* 0x0b8 */
	u32 clean;	      /* 0x0c0 */
	u32 reserved_0c4;
	u64 next_rip;	   /* 0x0c8 */
	u8 insn_len;	   /* 0x0d0 */
	u8 insn_bytes[15]; /* 0x0d1 */
	u8 reserved_0e0[0x400 - 0x0e0];
	/* State save area */
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 - 0x49f */
	u8 reserved_4a0[0x4cb - 0x4a0];
	u8 cpl; /* 0x4cb */
	u32 reserved_4cc;
	u64 efer; /* 0x4d0 */
	u8 reserved_4d8[0x548 - 0x4d8];
	u64 cr4;    /* 0x548 */
	u64 cr3;    /* 0x550 */
	u64 cr0;    /* 0x558 */
	u64 dr7;    /* 0x560 */
	u64 dr6;    /* 0x568 */
	u64 rflags; /* 0x570 */
	u64 rip;    /* 0x578 */
	u8 reserved_580[0x5d8 - 0x580];
	u64 rsp; /* 0x5d8 */
	u8 reserved_5e0[0x5f8 - 0x5e0];
	u64 rax;					/* 0x5f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base; /* 0x600 - 0x620 */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;	/* 0x628 - 0x638 */
	u64 cr2;					/* 0x640 */
	u8 reserved_648[0x668 - 0x648];
	u64 g_pat; /* 0x668 */
	u8 reserved_670[0x1000 - 0x670];
} __packed;

#define VMCB_CHECK(f, off) _Static_assert(offsetof(struct vmcb, f) == (off), "VMCB " #f " offset")
VMCB_CHECK(intercept_exceptions, 0x008);
VMCB_CHECK(intercept_misc1, 0x00c);
VMCB_CHECK(intercept_misc2, 0x010);
VMCB_CHECK(iopm_base_pa, 0x040);
VMCB_CHECK(msrpm_base_pa, 0x048);
VMCB_CHECK(tsc_offset, 0x050);
VMCB_CHECK(asid, 0x058);
VMCB_CHECK(tlb_control, 0x05c);
VMCB_CHECK(vintr, 0x060);
VMCB_CHECK(interrupt_shadow, 0x068);
VMCB_CHECK(exitcode, 0x070);
VMCB_CHECK(exitinfo1, 0x078);
VMCB_CHECK(exitinfo2, 0x080);
VMCB_CHECK(exitintinfo, 0x088);
VMCB_CHECK(np_enable, 0x090);
VMCB_CHECK(eventinj, 0x0a8);
VMCB_CHECK(n_cr3, 0x0b0);
VMCB_CHECK(clean, 0x0c0);
VMCB_CHECK(next_rip, 0x0c8);
VMCB_CHECK(insn_len, 0x0d0);
VMCB_CHECK(es, 0x400);
VMCB_CHECK(cs, 0x410);
VMCB_CHECK(ss, 0x420);
VMCB_CHECK(ds, 0x430);
VMCB_CHECK(gdtr, 0x460);
VMCB_CHECK(idtr, 0x480);
VMCB_CHECK(tr, 0x490);
VMCB_CHECK(cpl, 0x4cb);
VMCB_CHECK(efer, 0x4d0);
VMCB_CHECK(cr4, 0x548);
VMCB_CHECK(cr3, 0x550);
VMCB_CHECK(cr0, 0x558);
VMCB_CHECK(dr7, 0x560);
VMCB_CHECK(dr6, 0x568);
VMCB_CHECK(rflags, 0x570);
VMCB_CHECK(rip, 0x578);
VMCB_CHECK(rsp, 0x5d8);
VMCB_CHECK(rax, 0x5f8);
VMCB_CHECK(star, 0x600);
VMCB_CHECK(kernel_gs_base, 0x620);
VMCB_CHECK(sysenter_eip, 0x638);
VMCB_CHECK(cr2, 0x640);
VMCB_CHECK(g_pat, 0x668);
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB is one page");

/* Intercept bits (APM vol. 2 §15.9-15.13, table B-1). */
#define INTERCEPT1_INTR	       (1u << 0)
#define INTERCEPT1_NMI	       (1u << 1)
#define INTERCEPT1_SMI	       (1u << 2)
#define INTERCEPT1_INIT	       (1u << 3)
#define INTERCEPT1_VINTR       (1u << 4)
#define INTERCEPT1_RDPMC       (1u << 15)
#define INTERCEPT1_CPUID       (1u << 18)
#define INTERCEPT1_IRET	       (1u << 20)
#define INTERCEPT1_INVD	       (1u << 22)
#define INTERCEPT1_HLT	       (1u << 24)
#define INTERCEPT1_INVLPGA     (1u << 26)
#define INTERCEPT1_IOIO	       (1u << 27)
#define INTERCEPT1_MSR	       (1u << 28)
#define INTERCEPT1_TASK_SWITCH (1u << 29)
#define INTERCEPT1_SHUTDOWN    (1u << 31)
#define INTERCEPT2_VMRUN       (1u << 0)
#define INTERCEPT2_VMMCALL     (1u << 1)
#define INTERCEPT2_VMLOAD      (1u << 2)
#define INTERCEPT2_VMSAVE      (1u << 3)
#define INTERCEPT2_STGI	       (1u << 4)
#define INTERCEPT2_CLGI	       (1u << 5)
#define INTERCEPT2_SKINIT      (1u << 6)
#define INTERCEPT2_WBINVD      (1u << 9)  /* WBINVD and WBNOINVD */
#define INTERCEPT2_MONITOR     (1u << 10) /* MONITOR and MONITORX */
#define INTERCEPT2_MWAIT       (1u << 11) /* MWAIT and MWAITX, unconditionally */
#define INTERCEPT2_MWAIT_ARMED (1u << 12) /* the same, only when the monitor is armed */
#define INTERCEPT2_XSETBV      (1u << 13)
#define INTERCEPT2_RDPRU       (1u << 14)

/* Exit codes (APM vol. 2 appendix C). */
#define SVM_EXIT_EXCP_BASE   0x040
#define SVM_EXIT_INTR	     0x060
#define SVM_EXIT_NMI	     0x061
#define SVM_EXIT_SMI	     0x062
#define SVM_EXIT_INIT	     0x063
#define SVM_EXIT_VINTR	     0x064
#define SVM_EXIT_RDPMC	     0x06f
#define SVM_EXIT_CPUID	     0x072
#define SVM_EXIT_IRET	     0x074
#define SVM_EXIT_INVD	     0x076
#define SVM_EXIT_HLT	     0x078
#define SVM_EXIT_INVLPGA     0x07a
#define SVM_EXIT_IOIO	     0x07b
#define SVM_EXIT_MSR	     0x07c
#define SVM_EXIT_TASK_SWITCH 0x07d
#define SVM_EXIT_SHUTDOWN    0x07f
#define SVM_EXIT_VMRUN	     0x080
#define SVM_EXIT_VMMCALL     0x081
#define SVM_EXIT_VMLOAD	     0x082
#define SVM_EXIT_VMSAVE	     0x083
#define SVM_EXIT_STGI	     0x084
#define SVM_EXIT_CLGI	     0x085
#define SVM_EXIT_SKINIT	     0x086
#define SVM_EXIT_WBINVD	     0x089
#define SVM_EXIT_MONITOR     0x08a
#define SVM_EXIT_MWAIT	     0x08b
#define SVM_EXIT_MWAIT_ARMED 0x08c
#define SVM_EXIT_XSETBV	     0x08d
#define SVM_EXIT_RDPRU	     0x08e
#define SVM_EXIT_NPF	     0x400
#define SVM_EXIT_INVALID     0xffffffffffffffffULL

/* IOIO EXITINFO1 (APM vol. 2 §15.10.2). */
#define IOIO_TYPE_IN (1u << 0)
#define IOIO_STR     (1u << 2)
#define IOIO_REP     (1u << 3)
#define IOIO_SZ8     (1u << 4)
#define IOIO_SZ16    (1u << 5)
#define IOIO_SZ32    (1u << 6)

/* EVENTINJ (APM vol. 2 §15.20). */
#define EVENTINJ_VALID		(1ULL << 31)
#define EVENTINJ_EV		(1ULL << 11)
#define EVENTINJ_TYPE_INTR	(0ULL << 8)
#define EVENTINJ_TYPE_NMI	(2ULL << 8)
#define EVENTINJ_TYPE_EXCEPTION (3ULL << 8)

#define TLB_CONTROL_FLUSH_ALL 1

/* VMCB offset 0x060 (APM vol. 2 §15.21). */
#define VINTR_V_TPR	0xfULL
#define VINTR_V_IRQ	(1ULL << 8)
#define VINTR_PRIO_MAX	(0xfULL << 16)
#define VINTR_V_IGN_TPR (1ULL << 20)
#define VINTR_MASKING	(1ULL << 24)

/* Whether a #VMEXIT code is VMEXIT_INVALID (a failed VMRUN): -1, or QEMU's 32-bit -1. */
bool svm_exit_invalid(u64 exitcode);

/* Whether EXITINTINFO (or EVENTINJ) `info` is a valid software event. */
bool svm_event_is_soft(u64 info);
/* The bytes of the instruction that raised it, after any prefixes (1 or 2 bytes: returned). */
unsigned svm_soft_opcode(u64 info, u8 op[2]);
/* c->eventinj holds such an event for the next VMRUN: sets RIP (and NextRIP with NRIPS) so that it
 * returns past its instruction, whose end `end` finds (it reads RIP in c); -1 if it cannot. */
int svm_requeue_soft(struct vmcb *c, struct svm_soft_int *s, bool nrips, int (*end)(void *ctx, u64 *next), void *ctx);
/* The first VMRUN consistency check (APM vol. 2 §15.5.1) the VMCB fails, named; NULL if none
 * that Keel knows does (arch/x86/svm/vmcb_check.c). */
const char *vmcb_check(const struct vmcb *c);

#endif
