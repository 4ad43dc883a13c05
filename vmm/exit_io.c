/* SPDX-License-Identifier: MIT */
/* Port I/O exits: routed to the handlers the VM's devices registered; the rest reads all-ones. */
#include "vmm/exit.h"

void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	static const u32 masks[8] = { [1] = 0xff, [2] = 0xffff, [4] = 0xffffffff };
	struct vm *vm = v->vm;
	u32 mask = masks[e->io.size & 7];
	u32 val = e->io.in ? mask : (u32)v->gprs.rax & mask;
	u8 claimed = vm->io_map[e->io.port];

	if (e->io.string) {
		/* INS/OUTS need segment and address-size handling that no device needs yet. */
		vm_crash(vm, "string port I/O (port %#x) is not emulated", e->io.port);
		return;
	}
	if (claimed)
		vm->io[claimed - 1].fn(v, e->io.port, e->io.size, e->io.in, &val);
	/* IN AL/AX keeps the rest of RAX; IN EAX writes EAX, which zero-extends into RAX (SDM vol.
	 * 1 §3.4.1.1; outside 64-bit mode the upper half is not visible). */
	if (e->io.in)
		v->gprs.rax = e->io.size == 4 ? val : (v->gprs.rax & ~(u64)mask) | (val & mask);
	vcpu_ops->set(v, VREG_RIP, e->next_rip);
}
