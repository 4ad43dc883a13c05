/* SPDX-License-Identifier: MIT */
/* MMIO: nested page faults inside registered regions become handler calls. */
#include "vmm/mmio.h"

#include "arch/x86/regs.h"
#include "vmm/guest_mem.h"
#include "vmm/insn.h"

const struct vm_mmio_handler *mmio_find(const struct vm *vm, u64 gpa)
{
	for (u32 i = 0; i < vm->nr_mmio; i++)
		if (gpa >= vm->mmio[i].base && gpa - vm->mmio[i].base < vm->mmio[i].size)
			return &vm->mmio[i];
	return NULL;
}

/* General registers in the encoding's order; RSP lives in the vendor state. */
static u64 *gpr_slot(struct vcpu *v, int idx)
{
	struct vcpu_gprs *g = &v->gprs;
	u64 *const slots[16] = { &g->rax, &g->rcx, &g->rdx, &g->rbx, NULL,    &g->rbp, &g->rsi, &g->rdi,
				 &g->r8,  &g->r9,  &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15 };

	return slots[idx & 15];
}

static u64 reg_get(struct vcpu *v, const struct insn *in)
{
	u64 *slot = gpr_slot(v, in->high8 ? in->reg - 4 : in->reg);
	u64 val = slot ? *slot : vcpu_ops->get(v, VREG_RSP);

	return in->high8 ? (val >> 8) & 0xff : val;
}

static void reg_set(struct vcpu *v, const struct insn *in, unsigned size, u64 val)
{
	u64 *slot = gpr_slot(v, in->high8 ? in->reg - 4 : in->reg);
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

static enum insn_mode code_mode(struct vcpu *v)
{
	u64 attr = vcpu_ops->get(v, VREG_CS_ATTR);

	if ((vcpu_ops->get(v, VREG_EFER) & EFER_LMA) && (attr & CS_ATTR_L))
		return MODE_64;
	return (attr & CS_ATTR_DB) ? MODE_32 : MODE_16;
}

static u64 mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

void mmio_emulate(struct vcpu *v, const struct vm_mmio_handler *h, u64 gpa)
{
	u8 bytes[15] = { 0 };
	int got = guest_fetch(v, bytes, sizeof(bytes));
	struct insn in;
	u64 val;

	if (got <= 0 || insn_decode(bytes, (unsigned)got, code_mode(v), &in)) {
		vm_crash(v->vm, "MMIO access at %#llx by an instruction Keel does not emulate (%02x %02x %02x)",
			 (unsigned long long)gpa, bytes[0], got > 1 ? bytes[1] : 0, got > 2 ? bytes[2] : 0);
		return;
	}
	if (gpa - h->base > h->size - in.mem_size) {
		vm_crash(v->vm, "MMIO access at %#llx (%u bytes) runs past its region", (unsigned long long)gpa,
			 in.mem_size);
		return;
	}
	if (in.kind == INSN_STORE) {
		val = (in.reg < 0 ? in.imm : reg_get(v, &in)) & mask(in.mem_size);
		h->fn(v, gpa, in.mem_size, true, &val);
	} else {
		val = 0;
		h->fn(v, gpa, in.mem_size, false, &val);
		val &= mask(in.mem_size);
		if (in.kind == INSN_LOAD_SX && (val >> (in.mem_size * 8 - 1)) & 1)
			val |= ~mask(in.mem_size);
		reg_set(v, &in, in.reg_size, val & mask(in.reg_size));
	}
	vcpu_ops->set(v, VREG_RIP, vcpu_ops->get(v, VREG_RIP) + in.len);
}
