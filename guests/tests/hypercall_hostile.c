// SPDX-License-Identifier: MIT
/*
 * Hostile hypercalls from a 64-bit guest (RAX = number, RDI, RSI, RDX = arguments): buffers at
 * hypervisor-like addresses (full and truncated to 32 bits), non-canonical and wrapping pointers,
 * MMIO, huge lengths, and numbers that only look valid after truncation to 32 bits. Each must fail
 * cleanly (-EFAULT/-EINVAL, -ENOSYS; -EPERM for the management hypercalls, which are the
 * management VM's alone) and the VM must go on.
 * Bare QEMU: FAILS as expected (VMMCALL raises #UD without a hypervisor).
 */
#include "guest.h"

GUEST_TEST("hypercall_hostile");

static const char message[] = "hostile\n";

static const struct {
	const char *what;
	unsigned long ptr, len;
} bad_writes[] = {
	{ "hypervisor text (-2 GiB)", 0xffffffff80000000ul, 16 },
	{ "the same, truncated to 32 bits", 0x80000000ul, 16 },
	{ "kernel direct map", 0xffff800000000000ul, 16 },
	{ "non-canonical", 0x0000800000000000ul, 16 },
	{ "wrapping past 2^64", 0xfffffffffffffff8ul, 16 },
	{ "local APIC MMIO", 0xfee00000ul, 16 },
	{ "length 0xffffffff", 0, 0xffffffff },
	{ "length 2^64 - 1", 0, ~0ul },
	{ "length 2^32 + 8 (8 after truncation)", 0, 0x100000008ul },
};

void test_main(void)
{
	long version = hypercall_version();
	if (version < 0)
		return;

	for (unsigned i = 0; i < sizeof(bad_writes) / sizeof(bad_writes[0]); i++) {
		unsigned long ptr = bad_writes[i].ptr ? bad_writes[i].ptr : (unsigned long)message;
		long r = hypercall(HC_CONSOLE_WRITE, ptr, bad_writes[i].len, 0);
		CHECK(r == -KEEL_EFAULT || r == -KEEL_EINVAL, "HC_CONSOLE_WRITE(0x%lx, 0x%lx) (%s) returned %ld", ptr,
		      bad_writes[i].len, bad_writes[i].what, r);
	}

	/* Upper halves of RAX must not be dropped: 2^32 + HC_VERSION is not HC_VERSION. */
	long r = hypercall((1ul << 32) | HC_VERSION, 0, 0, 0);
	CHECK(r == -KEEL_ENOSYS, "hypercall 0x100000000 returned %ld, expected %d", r, -KEEL_ENOSYS);
	r = hypercall(~0ul, 0, 0, 0);
	CHECK(r == -KEEL_ENOSYS, "hypercall ~0 returned %ld, expected %d", r, -KEEL_ENOSYS);
	/* The management range is the management VM's alone (issue 14): every number in it, known
	 * or not, is -EPERM here, and the buffer HC_VM_LIST would fill stays untouched. */
	static struct keel_vm_info list[2];
	static const unsigned long mgmt_calls[] = { HC_VM_LIST, HC_MGMT_FIRST + 1, HC_MGMT_LAST };
	memset(list, 0x5a, sizeof(list));
	for (unsigned i = 0; i < sizeof(mgmt_calls) / sizeof(mgmt_calls[0]); i++) {
		r = hypercall(mgmt_calls[i], (unsigned long)list, 2, 0);
		CHECK(r == -KEEL_EPERM, "management hypercall 0x%lx returned %ld, expected %d", mgmt_calls[i], r,
		      -KEEL_EPERM);
	}
	/* Every number the ABI defines (lifecycle, I/O requests and interrupts, the window), with
	 * arguments that would be valid for the management VM: VM id 0, the buffer's address. */
	for (unsigned long nr = HC_VM_CREATE; nr <= HC_WINDOW_UNMAP; nr++) {
		r = hypercall(nr, 0, (unsigned long)list, 1);
		CHECK(r == -KEEL_EPERM, "management hypercall 0x%lx returned %ld, expected %d", nr, r, -KEEL_EPERM);
	}
	for (unsigned i = 0; i < sizeof(list); i++)
		CHECK(((unsigned char *)list)[i] == 0x5a,
		      "HC_VM_LIST wrote byte %u of the buffer of a non-management VM", i);
	r = hypercall(HC_MGMT_LAST + 1, 0, 0, 0);
	CHECK(r == -KEEL_ENOSYS, "hypercall 0x%x returned %ld, expected %d", HC_MGMT_LAST + 1, r, -KEEL_ENOSYS);
	r = hypercall(HC_VERSION, 0, 0, 0);
	CHECK(r == version, "HC_VERSION after the bad calls returned %ld (before: %ld)", r, version);
}
