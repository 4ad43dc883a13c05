/* SPDX-License-Identifier: MIT */
/*
 * MMIO: nested page faults inside registered regions become handler calls. The instruction is
 * fetched through the guest's paging, decoded (vmm/insn.c) and emulated with the semantics of
 * Intel SDM vol. 2: the memory operand is the one at the faulting GPA, read through the handler
 * and, for read-modify-write forms, written back with a second call (so a locked RMW is not atomic
 * towards other vCPUs: devices see a read then a write). Arithmetic flags are computed as the CPU
 * does; flags the SDM leaves undefined are cleared (AF of logic ops) or left unchanged (BT*).
 *
 * BT/BTS/BTR/BTC with a register bit offset: the CPU accesses the operand-sized word that holds
 * the bit (effective address + offset DIV width) and that word's GPA is what the exit reports, so
 * the bit is taken modulo the operand width within the word at the faulting GPA.
 *
 * MOVS/STOS walk both linear addresses through the guest's page tables themselves (each side may
 * be RAM or MMIO), with the helpers INS/OUTS share (vmm/emul_mem.c: permissions, A/D bits, #PF).
 * Segments as INS/OUTS have them (emul_seg_load/check): ES for the destination, DS or the
 * override for MOVS's source, with bases (real mode included) and expand-up limits outside 64-bit
 * code, FS/GS bases and canonical checks in it.
 */
#include "vmm/mmio.h"

#include "arch/x86/desc.h"
#include "arch/x86/regs.h"
#include "vmm/emul_mem.h"
#include "vmm/guest_mem.h"
#include "vmm/ioreq.h"

/* RFLAGS arithmetic bits (SDM vol. 1 §3.4.3.1). */
#define FL_CF	 BIT(0)
#define FL_PF	 BIT(2)
#define FL_AF	 BIT(4)
#define FL_ZF	 BIT(6)
#define FL_SF	 BIT(7)
#define FL_DF	 BIT(10)
#define FL_OF	 BIT(11)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Iterations of a REP string op per exit: the rest runs when the guest re-executes it. */
#define STRING_BATCH 1024

const struct vm_mmio_handler *mmio_find(const struct vm *vm, u64 gpa)
{
	/* The device model's claims first: they may lie in the PCI windows (BARs). */
	const struct vm_mmio_handler *c = ioreq_mmio_find(vm, gpa);

	if (c)
		return c;
	for (u32 i = 0; i < vm->nr_mmio; i++)
		if (gpa >= vm->mmio[i].base && gpa - vm->mmio[i].base < vm->mmio[i].size)
			return &vm->mmio[i];
	return NULL;
}

static u64 reg_get(struct vcpu *v, const struct insn *in)
{
	u64 *slot = vcpu_gpr(&v->gprs, in->high8 ? in->reg - 4 : in->reg);
	u64 val = slot ? *slot : vcpu_ops->get(v, VREG_RSP);

	return in->high8 ? (val >> 8) & 0xff : val;
}

static void reg_set(struct vcpu *v, const struct insn *in, unsigned size, u64 val)
{
	u64 *slot = vcpu_gpr(&v->gprs, in->high8 ? in->reg - 4 : in->reg);
	u64 old = slot ? *slot : vcpu_ops->get(v, VREG_RSP);

	if (in->high8)
		val = (old & ~0xff00ull) | ((val & 0xff) << 8);
	else if (size == 1)
		val = (old & ~0xffull) | (val & 0xff);
	else if (size == 2)
		val = (old & ~0xffffull) | (val & 0xffff);
	else if (size == 4)
		val &= 0xffffffffull; /* 32-bit destinations zero the upper half */
	if (slot)
		*slot = val;
	else
		vcpu_ops->set(v, VREG_RSP, val);
}

static u64 mask(unsigned size)
{
	return emul_mask(size);
}

/* Flags of a result: PF (even parity of the low byte), ZF, SF. */
static u64 result_flags(u64 res, unsigned size)
{
	unsigned p = (unsigned)(res & 0xff);
	u64 f = 0;

	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	if (!(p & 1))
		f |= FL_PF;
	if (!(res & mask(size)))
		f |= FL_ZF;
	if ((res >> (size * 8 - 1)) & 1)
		f |= FL_SF;
	return f;
}

/* a OP b on `size` bytes (SDM vol. 2 ADD ... XOR); updates the arithmetic bits of *rflags. */
static u64 alu(unsigned op, unsigned size, u64 a, u64 b, u64 *rflags)
{
	u64 m = mask(size), cin = *rflags & FL_CF ? 1 : 0, res, f = 0;
	unsigned msb = size * 8 - 1;

	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		if (op == ALU_ADD)
			cin = 0;
		res = (a + b + cin) & m;
		if (res < a || (cin && res == a))
			f |= FL_CF;
		if ((((a ^ res) & (b ^ res)) >> msb) & 1)
			f |= FL_OF;
		f |= (a ^ b ^ res) & FL_AF;
		break;
	case ALU_SUB:
	case ALU_CMP:
	case ALU_SBB:
		if (op != ALU_SBB)
			cin = 0;
		res = (a - b - cin) & m;
		if (a < b || (cin && a == b))
			f |= FL_CF;
		if ((((a ^ b) & (a ^ res)) >> msb) & 1)
			f |= FL_OF;
		f |= (a ^ b ^ res) & FL_AF;
		break;
	case ALU_OR:
		res = a | b;
		break;
	case ALU_AND:
		res = a & b;
		break;
	default: /* ALU_XOR */
		res = a ^ b;
		break;
	}
	*rflags = (*rflags & ~FL_ARITH) | f | result_flags(res, size);
	return res;
}

/* Returns true if RIP must advance (done), false if a fault was injected or the VM ended. */
static bool emulate_string(struct vcpu *v, const struct vm_mmio_handler *h, const struct insn *in, enum insn_mode mode,
			   bool *more)
{
	struct vcpu_gprs *g = &v->gprs;
	unsigned asz = in->addr_size, size = in->mem_size;
	u64 am = mask(asz), rflags = vcpu_ops->get(v, VREG_RFLAGS);
	s64 step = (rflags & FL_DF) ? -(s64)size : (s64)size;
	u64 count = in->rep ? g->rcx & am : 1;
	bool wrap32 = mode != MODE_64;
	struct emul_seg dseg, sseg;

	*more = false;
	/* STOS/MOVS write ES:[rDI] (no override); MOVS reads DS:[rSI] or the override. */
	emul_seg_load(v, mode, SEG_ES, &dseg);
	if (in->kind == INSN_MOVS)
		emul_seg_load(v, mode, in->seg == SEG_NONE ? SEG_DS : (enum insn_seg)in->seg, &sseg);
	for (u64 it = 0; it < count; it++) {
		u64 dlin, slin = 0, val;
		struct emul_span src, dst;
		int vector;

		if (it == STRING_BATCH) {
			*more = true; /* RIP stays: the guest re-executes the rest */
			return true;
		}
		/* Limits, or canonical addresses in 64-bit code: #GP(0), #SS(0) through SS. */
		vector = emul_seg_check(&dseg, mode, g->rdi & am, size, &dlin);
		if (!vector && in->kind == INSN_MOVS)
			vector = emul_seg_check(&sseg, mode, g->rsi & am, size, &slin);
		if (vector) {
			vcpu_ops->inject(v, (u8)vector, true, 0);
			return false;
		}
		if (in->kind == INSN_MOVS && emul_translate(v, slin, size, false, wrap32, &src))
			return false;
		if (emul_translate(v, dlin, size, true, wrap32, &dst))
			return false;
		if (in->kind == INSN_MOVS) {
			val = 0;
			if (emul_access(v, h, &src, size, false, &val))
				return false;
		} else {
			val = g->rax & mask(size);
		}
		/* A device-model access that waits stops the element before any register moves. */
		if (emul_access(v, h, &dst, size, true, &val))
			return false;
		if (in->kind == INSN_MOVS)
			g->rsi = emul_addr_update(g->rsi, g->rsi + (u64)step, asz);
		g->rdi = emul_addr_update(g->rdi, g->rdi + (u64)step, asz);
		if (in->rep)
			g->rcx = emul_addr_update(g->rcx, g->rcx - 1, asz);
		/* One device-model element per pass (vmm/ioreq.c): the guest re-executes the rest. */
		if (ioreq_served(v)) {
			*more = it + 1 < count;
			return true;
		}
	}
	return true;
}

/* One handler call; false when the instruction must stop (it waits for the device model). */
static bool call(struct vcpu *v, const struct vm_mmio_handler *h, u64 gpa, unsigned size, bool write, u64 *val)
{
	h->fn(v, gpa, size, write, val);
	return !ioreq_waiting(v);
}

static void set_flags(struct vcpu *v, u64 rflags)
{
	vcpu_ops->set(v, VREG_RFLAGS, rflags);
}

void mmio_emulate(struct vcpu *v, const struct vm_mmio_handler *h, u64 gpa)
{
	u8 bytes[15] = { 0 };
	int got = guest_fetch(v, bytes, sizeof(bytes));
	enum insn_mode mode = emul_code_mode(v);
	struct insn in;
	u64 val, src, rflags;
	int err = got > 0 ? insn_decode(bytes, (unsigned)got, mode, &in) : -EINVAL;

	if (err == -EPERM) {
		vcpu_ops->inject(v, EXC_UD, false, 0);
		return;
	}
	if (err) {
		vm_crash(v->vm, "MMIO access at %#llx by an instruction Keel does not emulate (%02x %02x %02x)",
			 (unsigned long long)gpa, bytes[0], got > 1 ? bytes[1] : 0, got > 2 ? bytes[2] : 0);
		return;
	}
	if (in.kind == INSN_MOVS || in.kind == INSN_STOS) {
		bool more;

		if (emulate_string(v, h, &in, mode, &more) && !more)
			vcpu_ops->set(v, VREG_RIP, vcpu_ops->get(v, VREG_RIP) + in.len);
		return;
	}
	if (gpa - h->base > h->size - in.mem_size) {
		vm_crash(v->vm, "MMIO access at %#llx (%u bytes) runs past its region", (unsigned long long)gpa,
			 in.mem_size);
		return;
	}
	/* Each handler call may make the access wait for the device model (vmm/ioreq.c): the
	 * instruction then stops before it commits anything and runs again once answered. */
	switch (in.kind) {
	case INSN_STORE:
		val = (in.reg < 0 ? in.imm : reg_get(v, &in)) & mask(in.mem_size);
		if (!call(v, h, gpa, in.mem_size, true, &val))
			return;
		break;
	case INSN_LOAD:
	case INSN_LOAD_ZX:
	case INSN_LOAD_SX:
		val = 0;
		if (!call(v, h, gpa, in.mem_size, false, &val))
			return;
		val &= mask(in.mem_size);
		if (in.kind == INSN_LOAD_SX && (val >> (in.mem_size * 8 - 1)) & 1)
			val |= ~mask(in.mem_size);
		reg_set(v, &in, in.reg_size, val & mask(in.reg_size));
		break;
	case INSN_ALU:
	case INSN_TEST:
		val = 0;
		if (!call(v, h, gpa, in.mem_size, false, &val))
			return;
		val &= mask(in.mem_size);
		src = (in.reg < 0 ? in.imm : reg_get(v, &in)) & mask(in.mem_size);
		rflags = vcpu_ops->get(v, VREG_RFLAGS);
		if (in.kind == INSN_TEST) {
			alu(ALU_AND, in.mem_size, val, src, &rflags);
		} else if (in.mem_dst) {
			val = alu(in.op, in.mem_size, val, src, &rflags);
			if (in.op != ALU_CMP && !call(v, h, gpa, in.mem_size, true, &val))
				return;
		} else {
			val = alu(in.op, in.mem_size, src, val, &rflags);
			if (in.op != ALU_CMP)
				reg_set(v, &in, in.reg_size, val);
		}
		set_flags(v, rflags);
		break;
	case INSN_XCHG:
		/* Both accesses before the register changes, so a pass that waits commits nothing. */
		val = 0;
		src = reg_get(v, &in) & mask(in.mem_size);
		if (!call(v, h, gpa, in.mem_size, false, &val) || !call(v, h, gpa, in.mem_size, true, &src))
			return;
		reg_set(v, &in, in.reg_size, val & mask(in.mem_size));
		break;
	case INSN_BT: {
		u64 bit = (in.reg < 0 ? in.imm : reg_get(v, &in)) & (in.mem_size * 8u - 1);

		val = 0;
		if (!call(v, h, gpa, in.mem_size, false, &val))
			return;
		val &= mask(in.mem_size);
		rflags = vcpu_ops->get(v, VREG_RFLAGS) & ~FL_CF;
		if ((val >> bit) & 1)
			rflags |= FL_CF;
		if (in.op != BT_BT) {
			if (in.op == BT_BTS)
				val |= 1ull << bit;
			else if (in.op == BT_BTR)
				val &= ~(1ull << bit);
			else
				val ^= 1ull << bit;
			if (!call(v, h, gpa, in.mem_size, true, &val))
				return;
		}
		set_flags(v, rflags);
		break;
	}
	default:
		vm_crash(v->vm, "MMIO: unhandled instruction kind %d", in.kind);
		return;
	}
	vcpu_ops->set(v, VREG_RIP, vcpu_ops->get(v, VREG_RIP) + in.len);
}
