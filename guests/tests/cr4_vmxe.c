// SPDX-License-Identifier: MIT
/*
 * CR4.VMXE stays invisible under Keel's VT-x backend (which needs it set in the real CR4): it reads
 * as 0, setting it raises #GP, and other CR0/CR4 writes still reach the guest's view. A reserved
 * CR4 bit (15) raises #GP and stays clear (issue 13 item 4: VT-x used to accept it into the read
 * shadow). On an AMD CPU VMXE is reserved too: the same #GP, from the CPU.
 * Run only on Bochs, VT-x and ryzen (tests/guests/test_vmx_bochs.py, test_bochs.py): QEMU 7.2 TCG
 * hangs on a reserved CR4 bit.
 */
#include "guest.h"

GUEST_TEST("cr4_vmxe");

#define CR4_VMXE       (1ul << 13)
#define CR4_RESERVED15 (1ul << 15)
#define CR4_OSFXSR     (1ul << 9)
#define CR0_NE	       (1ul << 5)

static unsigned long rd_cr0(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

void test_main(void)
{
	unsigned long cr4 = read_cr4(), cr0 = rd_cr0();

	CHECK(!(cr4 & CR4_VMXE), "CR4.VMXE visible: %lx", cr4);
	expect_exception(VEC_GP, 3);
	__asm__ volatile(".byte 0x0f, 0x22, 0xe0" : : "a"(cr4 | CR4_VMXE) : "memory"); /* mov %eax, %cr4 */
	int v = exception_taken();
	CHECK(v == VEC_GP, "setting CR4.VMXE raised %s, expected #GP", vector_name(v));
	CHECK(!(read_cr4() & CR4_VMXE), "CR4.VMXE visible after the attempt");
	expect_exception(VEC_GP, 3);
	__asm__ volatile(".byte 0x0f, 0x22, 0xe0" : : "a"(cr4 | CR4_RESERVED15) : "memory"); /* mov %eax, %cr4 */
	v = exception_taken();
	CHECK(v == VEC_GP, "setting reserved CR4 bit 15 raised %s, expected #GP", vector_name(v));
	CHECK(!(read_cr4() & CR4_RESERVED15), "reserved CR4 bit 15 visible after the attempt: %lx", read_cr4());
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 ^ CR4_OSFXSR) : "memory");
	CHECK(read_cr4() == (cr4 ^ CR4_OSFXSR), "CR4 write lost: %lx", read_cr4());
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_NE) : "memory");
	CHECK(rd_cr0() == (cr0 & ~CR0_NE), "CR0.NE clear not seen: %lx", rd_cr0());
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	CHECK(rd_cr0() == cr0, "CR0 not restored: %lx", rd_cr0());
}
