/* SPDX-License-Identifier: MIT */
/*
 * Memory operands of emulated string instructions. The page walk is the VMM's one walker
 * (guest_walk, vmm/guest_mem.c); what it leaves to its caller is here (SDM vol. 3A §4.6): the
 * write check (every level's R/W; CR0.WP for supervisor writes), the user check at CPL 3 (every
 * level's U/S), SMAP for supervisor accesses to user pages (CR4.SMAP without RFLAGS.AC), and the
 * accessed and dirty bits the CPU would set. Not checked: protection keys and reserved bits (no
 * RSVD faults).
 */
#include "vmm/emul_mem.h"

#include "arch/x86/desc.h"
#include "arch/x86/regs.h"
#include "kernel/panic.h"
#include "vmm/guest_mem.h"
#include "vmm/ioreq.h"

/* #PF error code bits (SDM vol. 3A §4.7) and the U/S bit of a paging-structure entry. */
#define PFEC_P	BIT(0)
#define PFEC_W	BIT(1)
#define PFEC_U	BIT(2)
#define GPTE_US BIT(2)

#define EXC_SS 12

enum insn_mode emul_code_mode(struct vcpu *v)
{
	u64 attr = vcpu_ops->get(v, VREG_CS_ATTR);

	if ((vcpu_ops->get(v, VREG_EFER) & EFER_LMA) && (attr & CS_ATTR_L))
		return MODE_64;
	return (attr & CS_ATTR_DB) ? MODE_32 : MODE_16;
}

void emul_seg_load(struct vcpu *v, enum insn_mode mode, enum insn_seg seg, struct emul_seg *s)
{
	static const enum vcpu_reg base_reg[] = {
		[SEG_ES] = VREG_ES_BASE, [SEG_CS] = VREG_CS_BASE, [SEG_SS] = VREG_SS_BASE,
		[SEG_DS] = VREG_DS_BASE, [SEG_FS] = VREG_FS_BASE, [SEG_GS] = VREG_GS_BASE
	};
	static const enum vcpu_reg limit_reg[] = {
		[SEG_ES] = VREG_ES_LIMIT, [SEG_CS] = VREG_CS_LIMIT, [SEG_SS] = VREG_SS_LIMIT,
		[SEG_DS] = VREG_DS_LIMIT, [SEG_FS] = VREG_FS_LIMIT, [SEG_GS] = VREG_GS_LIMIT
	};

	ASSERT(seg >= SEG_ES && seg <= SEG_GS);
	s->vector = seg == SEG_SS ? EXC_SS : EXC_GP;
	s->limit = mode == MODE_64 ? ~0ull : vcpu_ops->get(v, limit_reg[seg]) & 0xffffffffu;
	s->base = mode == MODE_64 && seg < SEG_FS ? 0 : vcpu_ops->get(v, base_reg[seg]);
}

int emul_seg_check(const struct emul_seg *s, enum insn_mode mode, u64 off, unsigned size, u64 *lin)
{
	if (mode == MODE_64) {
		u64 a = s->base + off, last = a + size - 1;

		/* Both ends canonical (SDM vol. 3A §3.3.7.1). */
		if ((u64)((s64)(a << 16) >> 16) != a || (u64)((s64)(last << 16) >> 16) != last)
			return s->vector;
		*lin = a;
		return 0;
	}
	if (off + size - 1 > s->limit)
		return s->vector;
	*lin = (u32)(s->base + off);
	return 0;
}

int emul_seg_linear(struct vcpu *v, enum insn_mode mode, enum insn_seg seg, u64 off, unsigned size, u64 *lin)
{
	struct emul_seg s;
	int vector;

	emul_seg_load(v, mode, seg, &s);
	vector = emul_seg_check(&s, mode, off, size, lin);
	if (vector)
		vcpu_ops->inject(v, (u8)vector, true, 0);
	return vector ? 1 : 0;
}

static void inject_pf(struct vcpu *v, u64 lin, u32 err)
{
	vcpu_ops->set(v, VREG_CR2, lin);
	vcpu_ops->inject(v, EXC_PF, true, err);
}

/* Sets A/D bits in the guest paging entry at ea, which the walk read as e: with a locked
 * compare-exchange, as the CPU's own walker does (SDM vol. 3A §4.8, APM vol. 2 §5.4.2), so an
 * update by another vCPU in between (Linux clears and replaces entries with no lock Keel knows
 * of) is never written over with the stale value. 0: done; 1: the entry changed (walk again);
 * -EFAULT outside RAM. Entries are naturally aligned inside one RAM chunk. */
static int pte_mark(struct vcpu *v, gpa_t ea, bool wide, u64 e, u64 bits)
{
	void *p;

	if ((e & bits) == bits)
		return 0;
	p = vm_ram_ptr(v->vm, ea);
	if (!p)
		return -EFAULT;
	if (wide) {
		u64 old = e;

		return __atomic_compare_exchange_n((u64 *)p, &old, e | bits, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
			   ? 0
			   : 1;
	} else {
		u32 old = (u32)e;

		return __atomic_compare_exchange_n((u32 *)p, &old, (u32)(e | bits), false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST)
			   ? 0
			   : 1;
	}
}

/* One walk: as walk(), or 2 if an entry changed before its A/D bits were set. */
static int walk_once(struct vcpu *v, const struct vcpu_code_state *pgs, u64 lin, bool write, gpa_t *gpa, u32 *pfec)
{
	const struct vcpu_code_state pg = *pgs;
	struct walk_trace t;
	bool user = true;
	int r;

	r = guest_walk(v, &pg, lin, gpa, &t);
	if (r < 0)
		return -EFAULT;
	if (r) {
		*pfec = (write ? PFEC_W : 0) | (pg.cpl == 3 ? PFEC_U : 0);
		return 1;
	}
	/* A user page: every level's U/S set (the PAE PDPTE has none); nothing is one unpaged. */
	for (int d = t.pae ? 1 : 0; d < t.n; d++)
		user &= (t.e[d] & GPTE_US) != 0;
	user &= t.n > 0;
	if (pg.cpl == 3) {
		if (t.n && (!user || (write && !t.rw))) {
			*pfec = PFEC_P | PFEC_U | (write ? PFEC_W : 0);
			return 1;
		}
	} else if (write && !t.rw && (pg.cr0 & CR0_WP)) {
		*pfec = PFEC_P | PFEC_W;
		return 1;
	} else if (user && (pg.cr4 & CR4_SMAP) && !(vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_AC)) {
		*pfec = PFEC_P | (write ? PFEC_W : 0);
		return 1;
	}
	/* Accessed bits on the way down (PAE PDPTEs have none), dirty on a written leaf. */
	for (int d = 0; d < t.n; d++) {
		u64 bits = (t.pae && d == 0) ? 0 : GPTE_A;

		if (d == t.n - 1 && write)
			bits |= GPTE_D;
		if (bits && (r = pte_mark(v, t.ea[d], (pg.efer & EFER_LMA) || t.pae, t.e[d], bits)))
			return r < 0 ? -EFAULT : 2;
	}
	return 0;
}

/* Linear to guest-physical for a data access. Returns 0; 1 with *pfec set when the access faults
 * (#PF); -EFAULT if a paging structure lies outside RAM; -EBUSY if another vCPU rewrote an entry
 * between the read and the A/D update 64 times running (Keel does not spin on a guest's writes:
 * the instruction is restarted instead, as after an interrupt). */
static int walk(struct vcpu *v, u64 lin, bool write, gpa_t *gpa, u32 *pfec)
{
	struct vcpu_code_state pg;
	int r = 2;

	vcpu_code_state(v, &pg);
	for (int tries = 0; r == 2 && tries < 64; tries++)
		r = walk_once(v, &pg, lin, write, gpa, pfec);
	return r == 2 ? -EBUSY : r;
}

int emul_translate(struct vcpu *v, u64 lin, unsigned size, bool write, bool wrap32, struct emul_span *s)
{
	unsigned done = 0;

	s->lin = lin;
	s->n = 0;
	while (done < size) {
		u64 a = lin + done;
		unsigned chunk;
		u32 pfec = 0;
		int r;

		if (wrap32)
			a = (u32)a;
		chunk = (unsigned)MIN((u64)(size - done), PAGE_SIZE - (a & (PAGE_SIZE - 1)));
		r = walk(v, a, write, &s->gpa[s->n], &pfec);
		if (r > 0) {
			inject_pf(v, a, pfec);
			return 1;
		}
		if (r == -EBUSY)
			return 2; /* nothing done: the guest runs the instruction again */
		if (r < 0) {
			vm_crash(v->vm, "string op: guest page tables for %#llx are outside its RAM",
				 (unsigned long long)a);
			return -1;
		}
		s->len[s->n++] = chunk;
		done += chunk;
	}
	return 0;
}

int emul_translate_tlb(struct vcpu *v, struct emul_tlb *tlb, u64 lin, unsigned size, bool write, bool wrap32,
		       struct emul_span *s)
{
	u64 a = wrap32 ? (u32)lin : lin;
	int r;

	if (tlb->valid && tlb->write == write && (a & ~(u64)(PAGE_SIZE - 1)) == tlb->page &&
	    (a & (PAGE_SIZE - 1)) + size <= PAGE_SIZE) {
		*s = (struct emul_span){ .lin = lin, .n = 1 };
		s->gpa[0] = tlb->gpa + (a & (PAGE_SIZE - 1));
		s->len[0] = size;
		return 0;
	}
	r = emul_translate(v, lin, size, write, wrap32, s);
	if (!r && s->n == 1)
		*tlb = (struct emul_tlb){ .page = a & ~(u64)(PAGE_SIZE - 1),
					  .gpa = s->gpa[0] & ~(u64)(PAGE_SIZE - 1),
					  .valid = true,
					  .write = write };
	return r;
}

/* The MMIO region holding gpa: the one that exited first, else any registered one. */
static const struct vm_mmio_handler *region_of(struct vcpu *v, const struct vm_mmio_handler *h, u64 gpa)
{
	if (h && gpa - h->base < h->size)
		return h;
	return mmio_find(v->vm, gpa);
}

int emul_access(struct vcpu *v, const struct vm_mmio_handler *h, const struct emul_span *s, unsigned size, bool write,
		u64 *val)
{
	unsigned off = 0;

	for (unsigned k = 0; k < s->n; k++) {
		const struct vm_mmio_handler *r = region_of(v, h, s->gpa[k]);
		int err;

		if (r) {
			if (s->n != 1) {
				vm_crash(v->vm, "string op at linear %#llx (%u bytes) crosses a page into MMIO",
					 (unsigned long long)s->lin, size);
				return -1;
			}
			if (s->gpa[0] - r->base > r->size - size) {
				vm_crash(v->vm, "string op at %#llx (%u bytes) runs past its region",
					 (unsigned long long)s->gpa[0], size);
				return -1;
			}
			if (!write)
				*val = 0;
			r->fn(v, s->gpa[0], size, write, val);
			*val &= emul_mask(size);
			return ioreq_waiting(v) ? 1 : 0; /* waits for the device model: stop here */
		}
		err = write ? gpa_write(v->vm, s->gpa[k], (u8 *)val + off, s->len[k])
			    : gpa_read(v->vm, s->gpa[k], (u8 *)val + off, s->len[k]);
		if (err) {
			vm_crash(v->vm, "string op touches %#llx, neither RAM nor MMIO", (unsigned long long)s->gpa[k]);
			return -1;
		}
		off += s->len[k];
	}
	return 0;
}
