/* SPDX-License-Identifier: MIT */
/* Port I/O exits: routed to the handlers the VM's devices registered; the rest reads all-ones. */
#include "vmm/exit.h"

void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	u32 mask = io_mask(e->io.size);
	u32 val = e->io.in ? mask : (u32)v->gprs.rax & mask;
	u8 claimed = vm->io_map[e->io.port];

	if (e->io.string) {
		/* INS/OUTS need segment and address-size handling that no device needs yet. */
		vm_crash(vm, "string port I/O (port %#x) is not emulated", e->io.port);
		return;
	}
	if (!claimed) {
		io_unclaimed(v, e);
		return;
	}
	vm->io[claimed - 1].fn(v, e->io.port, e->io.size, e->io.in, &val);
	if (e->io.in)
		io_set_in(v, e->io.size, val);
	vcpu_ops->set(v, VREG_RIP, e->next_rip);
}
