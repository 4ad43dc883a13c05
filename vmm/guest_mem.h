/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_GUEST_MEM_H
#define KEEL_VMM_GUEST_MEM_H

#include "vmm/vm.h"

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
