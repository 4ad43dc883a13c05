/* SPDX-License-Identifier: MIT */
/*
 * Port I/O exits: routed to the handlers the VM's devices registered; the rest reads all-ones.
 *
 * String port I/O (INS/OUTS, with and without REP; SDM vol. 2A INS/OUTS, APM vol. 3) is emulated
 * here, one element per handler call. Neither vendor's exit tells everything on every CPU (SVM
 * gives the segment only with decode assists, which QEMU lacks), so the instruction is fetched
 * through the guest's paging and decoded (vmm/insn.c) for its address size and segment override;
 * the port, element size, direction and REP come from the exit. INS stores to ES:[rDI] (no
 * override); OUTS reads seg:[rSI], DS unless overridden. rDI/rSI move by the element size, down
 * when RFLAGS.DF is set; with REP, rCX counts down and a zero count does nothing. rCX, rSI and
 * rDI are used and written at the address size (16 merges, 32 zero-extends). The memory side
 * goes through the helpers the MMIO emulator uses (vmm/emul_mem.c): segment base and limit,
 * canonical checks, page walk with R/W and A/D bits, and an MMIO destination or source through its
 * handler. A fault injects #GP/#SS/#PF with the registers at the faulting element and RIP on the
 * instruction, so the guest restarts it there. INS translates its destination before reading the
 * port, so a fault loses no data from a device.
 *
 * Each exit moves at most IO_STRING_BYTES (one page) and then enters the guest again with RIP
 * still on the instruction and rCX/rSI/rDI updated: the CPU re-executes it, so a huge count is
 * served a page per exit, with interrupts delivered in between, as between a real REP's
 * iterations. The CPU checked IOPL and the TSS I/O bitmap before the intercept.
 */
#include "vmm/exit.h"

#include "arch/x86/regs.h"
#include "vmm/emul_mem.h"
#include "vmm/guest_mem.h"
#include "vmm/insn.h"
#include "vmm/ioreq.h"

/* Memory moved by one exit of a REP INS/OUTS; the rest when the guest re-executes it. */
#define IO_STRING_BYTES PAGE_SIZE

static void io_string(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	struct vcpu_gprs *g = &v->gprs;
	enum insn_mode mode = emul_code_mode(v);
	u8 bytes[15] = { 0 }, claimed = vm->io_map[e->io.port];
	int got = guest_fetch(v, bytes, sizeof(bytes));
	unsigned size = e->io.size;
	struct insn in;
	u64 *idx, am, count, budget;
	s64 step;
	struct emul_seg seg;
	struct emul_tlb tlb = { .valid = false };

	if (got <= 0 || insn_decode(bytes, (unsigned)got, mode, &in) || in.kind != (e->io.in ? INSN_INS : INSN_OUTS) ||
	    in.mem_size != size) {
		vm_crash(vm, "string port I/O (port %#x) by bytes Keel cannot decode (%02x %02x %02x)", e->io.port,
			 bytes[0], bytes[1], bytes[2]);
		return;
	}
	am = emul_mask(in.addr_size);
	step = (vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_DF) ? -(s64)size : (s64)size;
	emul_seg_load(v, mode, e->io.in ? SEG_ES : in.seg == SEG_NONE ? SEG_DS : (enum insn_seg)in.seg, &seg);
	idx = e->io.in ? &g->rdi : &g->rsi;
	count = e->io.rep ? g->rcx & am : 1;
	for (budget = IO_STRING_BYTES / size; count && budget; count--, budget--) {
		struct emul_span s;
		u64 lin, val = 0;
		u32 port_val;
		int vector = emul_seg_check(&seg, mode, *idx & am, size, &lin);

		if (vector) {
			vcpu_ops->inject(v, (u8)vector, true, 0);
			return; /* RIP stays: the guest restarts at this element */
		}
		if (emul_translate_tlb(v, &tlb, lin, size, e->io.in, mode != MODE_64, &s))
			return; /* a #PF was injected, the VM ended, or the walk lost its race: RIP stays */
		if (e->io.in) {
			port_val = io_mask((u8)size);
			if (claimed)
				vm->io[claimed - 1].fn(v, e->io.port, size, true, &port_val);
			if (ioreq_waiting(v))
				return; /* the device model answers; this element runs again then */
			val = port_val & io_mask((u8)size);
			if (emul_access(v, NULL, &s, size, true, &val))
				return;
		} else {
			if (emul_access(v, NULL, &s, size, false, &val))
				return;
			port_val = (u32)val;
			if (claimed)
				vm->io[claimed - 1].fn(v, e->io.port, size, false, &port_val);
			if (ioreq_waiting(v))
				return;
		}
		*idx = emul_addr_update(*idx, *idx + (u64)step, in.addr_size);
		if (e->io.rep)
			g->rcx = emul_addr_update(g->rcx, g->rcx - 1, in.addr_size);
		/* A device may have ended the VM (the debug-exit port): stop at once. */
		if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING)
			return;
		/* One device-model element per exit (vmm/ioreq.c): the guest re-executes the rest. */
		if (ioreq_served(v)) {
			count--;
			break;
		}
	}
	if (!count)
		vcpu_ops->set(v, VREG_RIP, e->next_rip ? e->next_rip : vcpu_ops->get(v, VREG_RIP) + in.len);
}

void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	u32 mask = io_mask(e->io.size);
	u32 val = e->io.in ? mask : (u32)v->gprs.rax & mask;
	u8 claimed = vm->io_map[e->io.port];

	if (e->io.string) {
		io_string(v, e);
		return;
	}
	if (!claimed) {
		io_unclaimed(v, e);
		return;
	}
	vm->io[claimed - 1].fn(v, e->io.port, e->io.size, e->io.in, &val);
	if (ioreq_waiting(v))
		return; /* handled again once the device model answers (vmm/ioreq.c) */
	if (e->io.in)
		io_set_in(v, e->io.size, val);
	vcpu_ops->set(v, VREG_RIP, e->next_rip);
}
