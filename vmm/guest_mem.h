/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_GUEST_MEM_H
#define KEEL_VMM_GUEST_MEM_H

#include "vmm/vm.h"

/* Guest paging-structure entry bits (SDM vol. 3A §4.5, table 4-15 and on). */
#define GPTE_P	  (1ULL << 0)
#define GPTE_RW	  (1ULL << 1)
#define GPTE_A	  (1ULL << 5)
#define GPTE_D	  (1ULL << 6)
#define GPTE_PS	  (1ULL << 7)
#define GPTE_ADDR 0x000ffffffffff000ULL

/* What a walk went through: each entry's guest-physical address and value, top level first, and
 * whether every level allows writes. PAE's PDPTE (pae: entry 0) has neither R/W nor A. */
struct walk_trace {
	gpa_t ea[4];
	u64 e[4];
	u8 n;
	bool pae, rw;
};

/* The one guest page walker: 0 and *gpa; 1 if an entry on the way is not present; -EFAULT if a
 * paging structure lies outside RAM. *t records the entries for permission checks and A/D bits
 * (the MMIO emulator's data accesses). */
int guest_walk(struct vcpu *v, const struct vcpu_code_state *pg, u64 gva, gpa_t *gpa, struct walk_trace *t);
/* Translates through the guest's paging mode; -EFAULT if not mapped or outside its RAM. */
int gva_to_gpa(struct vcpu *v, u64 gva, gpa_t *gpa);
/* Reads up to len instruction bytes at CS:RIP, each once; returns how many could be read. */
int guest_fetch(struct vcpu *v, u8 *buf, unsigned len);
/*
 * Length of the instruction at CS:RIP, which must be `opcode` after any prefixes (CPUs without
 * NRIPS do not report it). -EINVAL if the bytes there are not that instruction.
 */
int insn_length(struct vcpu *v, const u8 *opcode, unsigned oplen);
/* The same, and where the instruction ends (RIP + length) in *next_rip. */
int insn_end(struct vcpu *v, const u8 *opcode, unsigned oplen, u64 *next_rip);
/* The registers a fetch needs (RIP, CS base, paging, EFER, CPL), read at once; and insn_end with
 * them already read, for a handler that needs them too. */
void vcpu_code_state(struct vcpu *v, struct vcpu_code_state *s);
int insn_end_at(struct vcpu *v, const struct vcpu_code_state *cs, const u8 *opcode, unsigned oplen, u64 *next_rip);

#endif
