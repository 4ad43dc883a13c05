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

/* One load per paging level, straight through the VM's memory map: each entry is read once (the
 * guest may change it at any time) and never cached, since under nested paging Keel sees neither
 * the guest's page-table writes nor its INVLPGs. Entries are naturally aligned, so one never
 * crosses a RAM chunk. -EFAULT outside RAM, 1 if not present, 0 if present; a trace (when asked
 * for) keeps where each entry was and what it held, for the caller's permission and A/D work. */
static inline __attribute__((always_inline)) int load_entry(const struct vm *vm, gpa_t gpa, bool wide, u64 *e,
							    struct walk_trace *t, bool check_rw)
{
	const void *p = vm_ram_ptr(vm, gpa);

	if (!p)
		return -EFAULT;
	*e = wide ? __atomic_load_n((const u64 *)p, __ATOMIC_RELAXED)
		  : __atomic_load_n((const u32 *)p, __ATOMIC_RELAXED);
	if (t) {
		t->ea[t->n] = gpa;
		t->e[t->n] = *e;
		t->n++;
		if (check_rw)
			t->rw &= (*e & GPTE_RW) != 0;
	}
	return *e & GPTE_P ? 0 : 1;
}

/* The registers a translation or an instruction fetch needs, read once: in one backend call
 * (both vendors have it), or one register at a time (the unit tests' fake backend). */
static __attribute__((noinline, cold)) void code_state_by_get(struct vcpu *v, struct vcpu_code_state *s)
{
	*s = (struct vcpu_code_state){ .rip = vcpu_ops->get(v, VREG_RIP),
				       .cs_base = vcpu_ops->get(v, VREG_CS_BASE),
				       .cr0 = vcpu_ops->get(v, VREG_CR0),
				       .cr3 = vcpu_ops->get(v, VREG_CR3),
				       .cr4 = vcpu_ops->get(v, VREG_CR4),
				       .efer = vcpu_ops->get(v, VREG_EFER),
				       .cpl = (u8)vcpu_ops->get(v, VREG_CPL) };
}

static inline void code_state_of(struct vcpu *v, struct vcpu_code_state *s)
{
	if (__builtin_expect(vcpu_ops->code_state != NULL, 1))
		vcpu_ops->code_state(v, s);
	else
		code_state_by_get(v, s);
}

void vcpu_code_state(struct vcpu *v, struct vcpu_code_state *s)
{
	code_state_of(v, s);
}

/*
 * The guest's page walk (SDM vol. 3A §4.3-4.5, AMD APM vol. 2 §5.3), the one walker of the VMM:
 * the instruction fetch of the exit path calls it without a trace (inlined, nothing recorded),
 * the MMIO emulator with one (guest_walk). Returns 0 with *gpa; 1 if an entry is not present;
 * -EFAULT if a paging structure lies outside RAM.
 */
static inline __attribute__((always_inline)) int walk_(const struct vm *vm, const struct vcpu_code_state *pg, u64 gva,
						       gpa_t *gpa, struct walk_trace *t)
{
	u64 cr4 = pg->cr4, e;
	int r;

	if (t)
		*t = (struct walk_trace){ .rw = true };
	if (!(pg->cr0 & CR0_PG)) {
		*gpa = pg->efer & EFER_LMA ? gva : (u32)gva;
		return 0;
	}
	if (pg->efer & EFER_LMA) {
		/* 4-level paging (§4.5): PML4E, PDPTE (1 GiB pages), PDE (2 MiB), PTE. */
		if ((r = load_entry(vm, (pg->cr3 & GPTE_ADDR) + ((gva >> 36) & 0xff8), true, &e, t, true)) ||
		    (r = load_entry(vm, (e & GPTE_ADDR) + ((gva >> 27) & 0xff8), true, &e, t, true)))
			return r;
		if (e & GPTE_PS) {
			*gpa = (e & GPTE_ADDR & ~(GiB(1) - 1)) | (gva & (GiB(1) - 1));
			return 0;
		}
	} else if (cr4 & CR4_PAE) {
		/* PAE paging (§4.4): a 4-entry PDPT (no R/W, no A bit), then PDE and PTE as in 4-level. */
		if (t)
			t->pae = true;
		if ((r = load_entry(vm, (pg->cr3 & 0xffffffe0) + ((gva >> 27) & 0x18), true, &e, t, false)))
			return r;
	} else {
		/* 32-bit paging (§4.3): 4-byte entries; a PSE-36 4 MiB page holds address bits 32-39. */
		if ((r = load_entry(vm, (pg->cr3 & 0xfffff000) + ((gva >> 20) & 0xffc), false, &e, t, true)))
			return r;
		if ((e & GPTE_PS) && (cr4 & CR4_PSE)) {
			*gpa = (e & 0xffc00000) | ((e & 0x1fe000) << 19) | (gva & 0x3fffff);
			return 0;
		}
		if ((r = load_entry(vm, (e & 0xfffff000) + ((gva >> 10) & 0xffc), false, &e, t, true)))
			return r;
		*gpa = (e & 0xfffff000) | (gva & 0xfff);
		return 0;
	}
	if ((r = load_entry(vm, (e & GPTE_ADDR) + ((gva >> 18) & 0xff8), true, &e, t, true)))
		return r;
	if (e & GPTE_PS) {
		*gpa = (e & GPTE_ADDR & ~(MiB(2) - 1)) | (gva & (MiB(2) - 1));
		return 0;
	}
	if ((r = load_entry(vm, (e & GPTE_ADDR) + ((gva >> 9) & 0xff8), true, &e, t, true)))
		return r;
	*gpa = (e & GPTE_ADDR) | (gva & 0xfff);
	return 0;
}

static int walk(const struct vm *vm, const struct vcpu_code_state *pg, u64 gva, gpa_t *gpa)
{
	return walk_(vm, pg, gva, gpa, NULL) ? -EFAULT : 0;
}

int guest_walk(struct vcpu *v, const struct vcpu_code_state *pg, u64 gva, gpa_t *gpa, struct walk_trace *t)
{
	return walk_(v->vm, pg, gva, gpa, t);
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
	gpa_t gpa;

	if (walk(v->vm, pg, lin, &gpa))
		return NULL;
	*left = PAGE_SIZE - (unsigned)(lin & (PAGE_SIZE - 1));
	return vm_ram_ptr(v->vm, gpa); /* RAM ends on a chunk boundary: the rest of the page is RAM too */
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

static inline bool is_prefix(u8 c, bool long_mode)
{
	return ((legacy_prefix[c >> 6] >> (c & 63)) & 1) || (long_mode && (c & 0xf0) == 0x40); /* or REX */
}

/* The instruction's next byte, read once, at most 15 (*i counts them); false past 15 or on an
 * unmapped page. */
static inline bool next_byte(struct vcpu *v, const struct vcpu_code_state *pg, u64 lin, unsigned *i, const u8 **p,
			     unsigned *left, u8 *c)
{
	if (*i == 15)
		return false;
	if (!*left && !(*p = fetch_page(v, pg, lin + *i, left)))
		return false;
	*c = *(const volatile u8 *)(*p)++;
	(*left)--, (*i)++;
	return true;
}

/* Reads the prefixes and the opcode only, a byte at a time and each once, translating a page only
 * when the instruction runs into it (at most 15 bytes, SDM vol. 2A §2.1). No opcode Keel decodes
 * starts with a prefix byte, so the first byte that matches the opcode ends the prefixes. */
static inline __attribute__((always_inline)) int end_of(struct vcpu *v, const struct vcpu_code_state *cs,
							const u8 *opcode, unsigned oplen, u64 *next_rip)
{
	const struct vcpu_code_state *pg = cs;
	u64 lin = pg->cs_base + pg->rip;
	bool long_mode = pg->efer & EFER_LMA;
	unsigned left = 0, i = 0, matched = 0;
	const u8 *p;
	u8 c;

	if (!(p = fetch_page(v, pg, lin, &left)))
		return -EINVAL;
	if (left >= 15) {
		/* The whole instruction is on this page (the common case): no page checks. */
		while ((c = *(const volatile u8 *)(p + i)) != opcode[0]) {
			if (!is_prefix(c, long_mode))
				return -EINVAL;
			if (++i == 15)
				return -EINVAL;
		}
		while (++matched < oplen)
			if (++i == 15 || *(const volatile u8 *)(p + i) != opcode[matched])
				return -EINVAL;
		*next_rip = pg->rip + i + 1;
		return (int)i + 1;
	}
	/* Near the page's end: a byte at a time, translating the next page when the bytes reach it. */
	for (;;) {
		if (!next_byte(v, pg, lin, &i, &p, &left, &c))
			return -EINVAL;
		if (c == opcode[0])
			break;
		if (!is_prefix(c, long_mode))
			return -EINVAL;
	}
	while (++matched < oplen)
		if (!next_byte(v, pg, lin, &i, &p, &left, &c) || c != opcode[matched])
			return -EINVAL;
	*next_rip = pg->rip + i;
	return (int)i;
}

int insn_end(struct vcpu *v, const u8 *opcode, unsigned oplen, u64 *next_rip)
{
	struct vcpu_code_state pg;

	code_state_of(v, &pg);
	return end_of(v, &pg, opcode, oplen, next_rip);
}

int insn_end_at(struct vcpu *v, const struct vcpu_code_state *cs, const u8 *opcode, unsigned oplen, u64 *next_rip)
{
	return end_of(v, cs, opcode, oplen, next_rip);
}

int insn_length(struct vcpu *v, const u8 *opcode, unsigned oplen)
{
	u64 next;

	return insn_end(v, opcode, oplen, &next);
}
