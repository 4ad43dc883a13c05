/* SPDX-License-Identifier: MIT */
/*
 * Guest-virtual access for instruction fetches: a walk of the guest's own page tables
 * (Intel SDM vol. 3A §4.3-4.5, AMD APM vol. 2 §5.3) with every table entry loaded once through
 * the VM's memory map (gpa_load, bounds-checked), and the length of the instruction that caused an
 * exit.
 */
#include "vmm/guest_mem.h"

#include "arch/x86/regs.h"
#include "kernel/lib/string.h"
#include "vmm/vm.h"

#define GPTE_P	  (1ULL << 0)
#define GPTE_PS	  (1ULL << 7)
#define GPTE_ADDR 0x000ffffffffff000ULL

/* One load per paging level, straight through the VM's memory map: the entry is read once (the
 * guest may change it at any time) and never cached, since under nested paging Keel sees neither
 * the guest's page-table writes nor its INVLPGs. */
static inline __attribute__((always_inline)) int read_entry(struct vm *vm, gpa_t table, u64 index, bool wide, u64 *e)
{
	return gpa_load(vm, table + index * (wide ? 8 : 4), wide ? 8 : 4, e);
}

/* The registers a translation or an instruction fetch needs, read once. */
static void code_state_of(struct vcpu *v, struct vcpu_code_state *s)
{
	if (vcpu_ops->code_state) {
		vcpu_ops->code_state(v, s);
		return;
	}
	*s = (struct vcpu_code_state){ .rip = vcpu_ops->get(v, VREG_RIP),
				       .cs_base = vcpu_ops->get(v, VREG_CS_BASE),
				       .cr0 = vcpu_ops->get(v, VREG_CR0),
				       .cr3 = vcpu_ops->get(v, VREG_CR3),
				       .cr4 = vcpu_ops->get(v, VREG_CR4),
				       .efer = vcpu_ops->get(v, VREG_EFER) };
}

static int walk(struct vm *vm, const struct vcpu_code_state *pg, u64 gva, gpa_t *gpa)
{
	u64 cr0 = pg->cr0, cr3 = pg->cr3, cr4 = pg->cr4, efer = pg->efer, e;

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

int gva_to_gpa(struct vcpu *v, u64 gva, gpa_t *gpa)
{
	struct vcpu_code_state st;

	code_state_of(v, &st);
	return walk(v->vm, &st, gva, gpa);
}

/* The host's view of the rest of the guest-linear page at `lin`; NULL if it is not mapped. */
static const u8 *fetch_page(struct vcpu *v, const struct vcpu_code_state *pg, u64 lin, unsigned *left)
{
	const u8 *page;
	gpa_t gpa;

	if (walk(v->vm, pg, lin, &gpa) || !(page = gpa_map(v->vm, gpa & ~(gpa_t)(PAGE_SIZE - 1), PAGE_SIZE)))
		return NULL;
	*left = PAGE_SIZE - (unsigned)(lin & (PAGE_SIZE - 1));
	return page + (lin & (PAGE_SIZE - 1));
}

int guest_fetch(struct vcpu *v, u8 *buf, unsigned len)
{
	struct vcpu_code_state pg;
	u64 lin = (code_state_of(v, &pg), pg.cs_base + pg.rip);
	unsigned got = 0, left = 0;
	const u8 *p = NULL;

	while (got < len) {
		if (!left && !(p = fetch_page(v, &pg, lin + got, &left)))
			break;
		buf[got++] = *(const volatile u8 *)p++;
		left--;
	}
	return (int)got;
}

/* Legacy prefixes (SDM vol. 2A §2.1.1): F0 F2 F3, 2E 36 3E 26 64 65, 66, 67; a bit per byte. */
static const u64 legacy_prefix[4] = {
	[0] = (1ull << 0x26) | (1ull << 0x2e) | (1ull << 0x36) | (1ull << 0x3e),
	[1] = (1ull << (0x64 - 64)) | (1ull << (0x65 - 64)) | (1ull << (0x66 - 64)) | (1ull << (0x67 - 64)),
	[3] = (1ull << (0xf0 - 192)) | (1ull << (0xf2 - 192)) | (1ull << (0xf3 - 192)),
};

/* Reads the prefixes and the opcode only, a byte at a time and each once, translating a page only
 * when the instruction runs into it (at most 15 bytes, SDM vol. 2A §2.1). */
int insn_end(struct vcpu *v, const u8 *opcode, unsigned oplen, u64 *next_rip)
{
	struct vcpu_code_state pg;
	u64 lin = (code_state_of(v, &pg), pg.cs_base + pg.rip);
	bool long_mode = pg.efer & EFER_LMA;
	unsigned left = 0, i = 0, matched = 0;
	const u8 *p = NULL;

	while (i < 15) {
		u8 c;

		if (!left && !(p = fetch_page(v, &pg, lin + i, &left)))
			return -EINVAL;
		c = *(const volatile u8 *)p;
		p++, left--, i++;
		if (!matched && (((legacy_prefix[c >> 6] >> (c & 63)) & 1) || (long_mode && (c & 0xf0) == 0x40)))
			continue;
		if (c != opcode[matched])
			return -EINVAL;
		if (++matched == oplen) {
			*next_rip = pg.rip + i;
			return (int)i;
		}
	}
	return -EINVAL;
}

int insn_length(struct vcpu *v, const u8 *opcode, unsigned oplen)
{
	u64 next;

	return insn_end(v, opcode, oplen, &next);
}
