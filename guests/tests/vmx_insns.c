// SPDX-License-Identifier: MIT
/*
 * VMX instructions (hostile): VMXON, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
 * VMRESUME, VMXOFF, INVEPT, INVVPID and VMFUNC each raise #UD: Keel offers no nested VT-x.
 * Bare QEMU: PASSES (TCG has no VMX at all).
 */
#include "guest.h"

GUEST_TEST("vmx_insns");

#define TRY_UD(name, len, insn)                                                          \
	static void try_##name(void)                                                     \
	{                                                                                \
		expect_exception(VEC_UD, len);                                           \
		__asm__ volatile(insn : : "a"(0x1000ul), "b"(0ul), "c"(0u) : "memory");  \
		int v = exception_taken();                                               \
		CHECK(v == VEC_UD, "%s raised %s, expected #UD", #name, vector_name(v)); \
	}

TRY_UD(vmxon, 4, ".byte 0xf3, 0x0f, 0xc7, 0x30")
TRY_UD(vmclear, 4, ".byte 0x66, 0x0f, 0xc7, 0x30")
TRY_UD(vmptrld, 3, ".byte 0x0f, 0xc7, 0x30")
TRY_UD(vmptrst, 3, ".byte 0x0f, 0xc7, 0x38")
TRY_UD(vmread, 3, ".byte 0x0f, 0x78, 0xc3")
TRY_UD(vmwrite, 3, ".byte 0x0f, 0x79, 0xd8")
TRY_UD(vmlaunch, 3, ".byte 0x0f, 0x01, 0xc2")
TRY_UD(vmresume, 3, ".byte 0x0f, 0x01, 0xc3")
TRY_UD(vmxoff, 3, ".byte 0x0f, 0x01, 0xc4")
TRY_UD(invept, 5, ".byte 0x66, 0x0f, 0x38, 0x80, 0x18")
TRY_UD(invvpid, 5, ".byte 0x66, 0x0f, 0x38, 0x81, 0x18")
TRY_UD(vmfunc, 3, ".byte 0x0f, 0x01, 0xd4")

void test_main(void)
{
	try_vmxon();
	try_vmclear();
	try_vmptrld();
	try_vmptrst();
	try_vmread();
	try_vmwrite();
	try_vmlaunch();
	try_vmresume();
	try_vmxoff();
	try_invept();
	try_invvpid();
	try_vmfunc();
}
