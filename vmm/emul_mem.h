/* SPDX-License-Identifier: MIT */
/*
 * Memory operands of emulated string instructions (MMIO's MOVS/STOS in vmm/mmio.c, INS/OUTS in
 * vmm/exit_io.c): segment to linear, linear to guest-physical through the guest's paging, and the
 * element access itself, with the faults the CPU would raise injected into the guest.
 */
#ifndef KEEL_VMM_EMUL_MEM_H
#define KEEL_VMM_EMUL_MEM_H

#include "vmm/insn.h"
#include "vmm/mmio.h"

/* One translated element: up to two pieces when it crosses a page. */
struct emul_span {
	u64 lin;
	gpa_t gpa[2];
	unsigned len[2], n;
};

/* The code segment's default size (64-bit needs EFER.LMA and CS.L). */
enum insn_mode emul_code_mode(struct vcpu *v);

/* All-ones in the low `size` bytes (1, 2, 4, 8). */
static inline u64 emul_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Writes an address-size register (SI, DI, CX) as the CPU does: 16 merges, 32 zero-extends. */
static inline u64 emul_addr_update(u64 old, u64 val, unsigned asz)
{
	if (asz == 2)
		return (old & ~0xffffull) | (val & 0xffff);
	return val & emul_mask(asz);
}

/*
 * The linear address of seg:off for a `size`-byte data access (SDM vol. 3A §3.4.2-3.4.5, §5.3).
 * 64-bit code: base 0 but FS and GS, and a non-canonical address raises #GP(0) (#SS(0) through
 * SS). Elsewhere: the segment's base (real mode included: the CPU keeps it as selector << 4) and an
 * expand-up limit check, #GP(0) (#SS(0) through SS) past the limit; the result wraps at 4 GiB.
 * Expand-down data segments and null selectors are not modelled (the attributes are not read).
 * Returns 0 and *lin, or 1 when a fault was injected.
 */
int emul_seg_linear(struct vcpu *v, enum insn_mode mode, enum insn_seg seg, u64 off, unsigned size, u64 *lin);

/* The same in two steps, for an instruction that touches one segment many times: the segment's
 * base and limit read once, then a check per access that returns 0 and *lin or the vector to
 * raise (#GP or #SS, error code 0) and injects nothing. */
struct emul_seg {
	u64 base, limit;
	u8 vector;
};
void emul_seg_load(struct vcpu *v, enum insn_mode mode, enum insn_seg seg, struct emul_seg *s);
int emul_seg_check(const struct emul_seg *s, enum insn_mode mode, u64 off, unsigned size, u64 *lin);

/* Translates [lin, lin+size) for a read or a write; 0, 1 if a #PF was injected (CR2 set), 2 if
 * the guest kept rewriting a paging entry under the walk (nothing injected: the caller does nothing
 * more and the guest runs the instruction again), -1 if the VM was ended (its page tables lie
 * outside its RAM). wrap32: linear addresses wrap at 4 GiB. */
int emul_translate(struct vcpu *v, u64 lin, unsigned size, bool write, bool wrap32, struct emul_span *s);

/* The last translation of one emulated instruction, kept for its next elements as the CPU's TLB
 * would keep it (A/D bits were set by the walk that filled it); start with valid = false. */
struct emul_tlb {
	u64 page;
	gpa_t gpa;
	bool valid, write;
};
/* emul_translate() through *tlb: an element inside the page it holds is not walked again. */
int emul_translate_tlb(struct vcpu *v, struct emul_tlb *tlb, u64 lin, unsigned size, bool write, bool wrap32,
		       struct emul_span *s);

/* Reads or writes a translated element: RAM directly, MMIO through its handler (h: the region
 * that exited, checked first, or NULL). 0, -1 after ending the VM (neither RAM nor MMIO, or an
 * element split between a page of RAM and MMIO), or 1 when the access waits for the device model
 * (vmm/ioreq.c: the instruction stops and commits nothing). */
int emul_access(struct vcpu *v, const struct vm_mmio_handler *h, const struct emul_span *s, unsigned size, bool write,
		u64 *val);

#endif
