// SPDX-License-Identifier: MIT
/*
 * Every SVM instruction (hostile): VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT and INVLPGA must raise
 * #UD in the guest (Keel intercepts them all and injects #UD; APM vol 2, 15.4 and vol 3). Each is
 * three bytes (0f 01 d8..df). Bare QEMU: PASSES (EFER.SVME is clear, so the CPU raises #UD itself).
 */
#include "guest.h"

GUEST_TEST("svm_insns");

/* rAX (a VMCB or SLB address, or INVLPGA's page) points at guest page 0; ECX is INVLPGA's ASID. */
#define SVM_INSN(name, insn)                                                             \
	static void try_##name(void)                                                     \
	{                                                                                \
		expect_exception(VEC_UD, 3);                                             \
		__asm__ volatile(insn : : "a"(0ul), "c"(1u) : "memory");                 \
		int v = exception_taken();                                               \
		CHECK(v == VEC_UD, "%s raised %s, expected #UD", #name, vector_name(v)); \
	}

SVM_INSN(vmrun, "vmrun")
SVM_INSN(vmload, "vmload")
SVM_INSN(vmsave, "vmsave")
SVM_INSN(stgi, "stgi")
SVM_INSN(clgi, "clgi")
SVM_INSN(skinit, "skinit")
SVM_INSN(invlpga, "invlpga")

void test_main(void)
{
	try_vmrun();
	try_vmload();
	try_vmsave();
	try_stgi();
	try_clgi();
	try_skinit();
	try_invlpga();
}
