/* SPDX-License-Identifier: MIT */
/*
 * Guest-virtual access for instruction fetches: a walk of the guest's own page tables
 * (Intel SDM vol. 3A §4.3-4.5, AMD APM vol. 2 §5.3) with every table read bounds-checked
 * through gpa_read(), and the length of the instruction that caused an exit.
 */
#include "vmm/guest_mem.h"

#include "arch/x86/regs.h"
#include "kernel/lib/string.h"
#include "vmm/vm.h"

#define GPTE_P	  (1ULL << 0)
#define GPTE_PS	  (1ULL << 7)
#define GPTE_ADDR 0x000ffffffffff000ULL

static int read_entry(struct vm *vm, gpa_t table, u64 index, bool wide, u64 *e)
{
	u32 e32;

	if (wide)
		return gpa_read(vm, table + index * 8, e, 8);
	if (gpa_read(vm, table + index * 4, &e32, 4))
		return -EFAULT;
	*e = e32;
	return 0;
}

int gva_to_gpa(struct vcpu *v, u64 gva, gpa_t *gpa)
{
	u64 cr0 = vcpu_ops->get(v, VREG_CR0), cr3 = vcpu_ops->get(v, VREG_CR3);
	u64 cr4 = vcpu_ops->get(v, VREG_CR4), efer = vcpu_ops->get(v, VREG_EFER), e;
	struct vm *vm = v->vm;

	if (!(cr0 & CR0_PG)) {
		*gpa = efer & EFER_LMA ? gva : (u32)gva;
		return 0;
	}
	if (efer & EFER_LMA) {
		gpa_t table = cr3 & GPTE_ADDR;

		for (int shift = 39; shift >= 12; shift -= 9) {
			if (read_entry(vm, table, (gva >> shift) & 511, true, &e) || !(e & GPTE_P))
				return -EFAULT;
			if (shift < 39 && shift > 12 && (e & GPTE_PS)) {
				*gpa = (e & GPTE_ADDR & ~((1ULL << shift) - 1)) | (gva & ((1ULL << shift) - 1));
				return 0;
			}
			table = e & GPTE_ADDR;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}
	if (cr4 & CR4_PAE) {
		gpa_t table = cr3 & 0xffffffe0;

		if (read_entry(vm, table, (gva >> 30) & 3, true, &e) || !(e & GPTE_P))
			return -EFAULT;
		if (read_entry(vm, e & GPTE_ADDR, (gva >> 21) & 511, true, &e) || !(e & GPTE_P))
			return -EFAULT;
		if (e & GPTE_PS) {
			*gpa = (e & GPTE_ADDR & ~(MiB(2) - 1)) | (gva & (MiB(2) - 1));
			return 0;
		}
		if (read_entry(vm, e & GPTE_ADDR, (gva >> 12) & 511, true, &e) || !(e & GPTE_P))
			return -EFAULT;
		*gpa = (e & GPTE_ADDR) | (gva & 0xfff);
		return 0;
	}
	if (read_entry(vm, cr3 & 0xfffff000, (gva >> 22) & 1023, false, &e) || !(e & GPTE_P))
		return -EFAULT;
	if ((e & GPTE_PS) && (cr4 & CR4_PSE)) {
		*gpa = (e & 0xffc00000) | ((e & 0x1fe000) << 19) | (gva & 0x3fffff);
		return 0;
	}
	if (read_entry(vm, e & 0xfffff000, (gva >> 12) & 1023, false, &e) || !(e & GPTE_P))
		return -EFAULT;
	*gpa = (e & 0xfffff000) | (gva & 0xfff);
	return 0;
}

int guest_fetch(struct vcpu *v, u8 *buf, unsigned len)
{
	u64 lin = vcpu_ops->get(v, VREG_CS_BASE) + vcpu_ops->get(v, VREG_RIP);

	unsigned got = 0;

	/* One translation per page: the instruction may cross into the next one. */
	while (got < len) {
		u64 chunk = MIN((u64)(len - got), PAGE_SIZE - ((lin + got) & (PAGE_SIZE - 1)));
		gpa_t gpa;

		if (gva_to_gpa(v, lin + got, &gpa) || gpa_read(v->vm, gpa, buf + got, chunk))
			break;
		got += (unsigned)chunk;
	}
	return (int)got;
}

int insn_length(struct vcpu *v, const u8 *opcode, unsigned oplen)
{
	u8 b[15];
	int got = guest_fetch(v, b, sizeof(b));
	bool long_mode = vcpu_ops->get(v, VREG_EFER) & EFER_LMA;
	int i = 0;

	while (i < got) {
		u8 c = b[i];
		bool legacy = c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 ||
			      c == 0x64 || c == 0x65 || c == 0x66 || c == 0x67;

		if (!legacy && !(long_mode && (c & 0xf0) == 0x40))
			break;
		i++;
	}
	if (i + (int)oplen > got || memcmp(b + i, opcode, oplen))
		return -EINVAL;
	return i + (int)oplen;
}
