/* SPDX-License-Identifier: MIT */
/*
 * The VMRUN consistency checks (AMD APM vol. 2 §15.5.1, "Basic Operation": the guest state that
 * makes VMRUN fail with VMEXIT_INVALID), as a pure function of the VMCB: used before a VMRUN
 * whenever Keel changed what they look at (QEMU's TCG lets some through, platform notes), and to
 * name the failing state when a VMRUN did fail. Host unit test: tests/unit/test_vmcb_check.c.
 */
#include "arch/x86/svm/vmcb.h"

#include "arch/x86/regs.h"

/* EFER bits an AMD CPU may have (APM vol. 2 §3.1.7): SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR,
 * TCE, MCOMMIT, INTWB, UAIE, AUTOIBRS. The rest must be zero. */
#define EFER_DEFINED                                                                                               \
	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | BIT(13) | BIT(14) | BIT(15) | BIT(17) | BIT(18) | \
	 BIT(20) | EFER_AUTOIBRS)
/* CS descriptor bits in the VMCB's packed attribute (APM vol. 2 appendix B.2): L is descriptor
 * bit 21, D/B bit 22. */
#define SEG_ATTR_L   BIT(9)
#define SEG_ATTR_DB  BIT(10)
#define CR3_LONG_MBZ 0xfff0000000000000ULL /* bits 63:52 */

bool svm_exit_invalid(u64 exitcode)
{
	/* The APM's -1; QEMU's TCG stores it as a 32-bit -1, 0x00000000ffffffff (platform notes). */
	return exitcode == SVM_EXIT_INVALID || exitcode == (u32)SVM_EXIT_INVALID;
}

const char *vmcb_check(const struct vmcb *c)
{
	bool long_paging = (c->efer & EFER_LME) && (c->cr0 & CR0_PG);
	u32 inj_type = (c->eventinj >> 8) & 7;

	if (!(c->efer & EFER_SVME))
		return "guest EFER.SVME clear";
	if ((c->cr0 & CR0_NW) && !(c->cr0 & CR0_CD))
		return "CR0.NW set without CR0.CD";
	if (c->cr0 >> 32)
		return "CR0 bits 63:32 set";
	if (long_paging && (c->cr3 & CR3_LONG_MBZ))
		return "CR3 bits 63:52 set in long mode";
	if (c->cr4 >> 32)
		return "CR4 bits 63:32 set";
	if ((c->dr6 >> 32) || (c->dr7 >> 32))
		return "DR6 or DR7 bits 63:32 set";
	if (c->efer & ~(u64)EFER_DEFINED)
		return "reserved EFER bits set";
	if (long_paging && !(c->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG with CR4.PAE clear";
	if (long_paging && !(c->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG with CR0.PE clear";
	if (long_paging && (c->cr4 & CR4_PAE) && (c->cs.attrib & SEG_ATTR_L) && (c->cs.attrib & SEG_ATTR_DB))
		return "long mode with CS.L and CS.D both set";
	if (!(c->intercept_misc2 & INTERCEPT2_VMRUN))
		return "VMRUN intercept clear";
	if (c->asid == 0)
		return "ASID 0";
	if ((c->eventinj & EVENTINJ_VALID) && (inj_type == 1 || inj_type > 4))
		return "EVENTINJ with a reserved event type";
	if ((c->eventinj & EVENTINJ_VALID) && inj_type == 3 && (c->eventinj & 0xff) == 2)
		return "EVENTINJ: vector 2 (NMI) injected as an exception";
	return NULL;
}
