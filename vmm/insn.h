/* SPDX-License-Identifier: MIT */
/*
 * Decoding the instructions that touch MMIO: the MOV family (88, 89, 8A, 8B, C6, C7, A0-A3) and
 * MOVZX/MOVSX (0F B6/B7/BE/BF), with legacy prefixes and REX, in 16-, 32- and 64-bit code
 * (Intel SDM vol. 2 ch. 2). The faulting guest-physical address comes from the exit, so only the
 * operand size, the register or immediate and the instruction length are needed.
 */
#ifndef KEEL_VMM_INSN_H
#define KEEL_VMM_INSN_H

#include "kernel/types.h"

enum insn_kind { INSN_STORE, INSN_LOAD, INSN_LOAD_ZX, INSN_LOAD_SX };

enum insn_mode { MODE_16, MODE_32, MODE_64 }; /* the code segment's default size */

struct insn {
	enum insn_kind kind;
	u8 len;	     /* bytes, prefixes included */
	u8 mem_size; /* bytes read or written in memory: 1, 2, 4, 8 */
	u8 reg_size; /* destination register size for loads */
	s8 reg;	     /* GPR number 0-15 (x86 order: RAX RCX RDX RBX RSP RBP RSI RDI R8..), -1: immediate */
	bool high8;  /* AH, CH, DH, BH (reg 4-7 with an 8-bit operand and no REX) */
	u64 imm;
};

/* Decodes bytes[0..n); returns 0, or -EINVAL for anything else (the caller ends the VM). */
int insn_decode(const u8 *bytes, unsigned n, enum insn_mode mode, struct insn *out);

#endif
