/* SPDX-License-Identifier: MIT */
/*
 * Decoding the instructions that touch MMIO (Intel SDM vol. 2 ch. 2-4), with legacy prefixes and
 * REX, in 16-, 32- and 64-bit code:
 *   - the MOV family (88, 89, 8A, 8B, C6, C7, A0-A3) and MOVZX/MOVSX (0F B6/B7/BE/BF);
 *   - ALU ops with a memory operand: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP (00-3B), group 1 with an
 *     immediate (80, 81, 82, 83), TEST (84, 85, F6/F7 /0), XCHG (86, 87);
 *   - BT/BTS/BTR/BTC (0F A3/AB/B3/BB with a register, 0F BA /4-/7 with imm8);
 *   - MOVS/STOS (A4, A5, AA, AB) with REP;
 *   - INS/OUTS (6C-6F) with REP, for string port I/O (vmm/exit_io.c), which needs their address
 *     size and segment override.
 * The faulting guest-physical address comes from the exit, so only the operand sizes, the register
 * or immediate and the instruction length are needed (string ops also need the address size).
 */
#ifndef KEEL_VMM_INSN_H
#define KEEL_VMM_INSN_H

#include "kernel/types.h"

enum insn_kind {
	INSN_STORE,
	INSN_LOAD,
	INSN_LOAD_ZX,
	INSN_LOAD_SX,
	INSN_ALU,  /* op: enum alu_op; mem_dst says which operand is the destination */
	INSN_TEST, /* AND without a result: flags only */
	INSN_XCHG,
	INSN_BT, /* op: enum bt_op; the bit offset is reg or imm */
	INSN_MOVS,
	INSN_STOS,
	INSN_INS,  /* port to ES:[rDI]; mem_size is the element (1, 2, 4) */
	INSN_OUTS, /* seg:[rSI] to port (seg: DS unless overridden) */
};

/* In the order of the opcode's bits 5:3 and group 1's ModRM.reg. */
enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* In the order of 0F BA's ModRM.reg - 4. */
enum bt_op { BT_BT, BT_BTS, BT_BTR, BT_BTC };

enum insn_mode { MODE_16, MODE_32, MODE_64 }; /* the code segment's default size */

/* Segment override prefixes, in the order of the segment-register encoding. */
enum insn_seg { SEG_NONE = -1, SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

struct insn {
	enum insn_kind kind;
	u8 len;	      /* bytes, prefixes included */
	u8 mem_size;  /* bytes read or written in memory: 1, 2, 4, 8 (string ops: one element) */
	u8 reg_size;  /* register operand size (loads, ALU, XCHG, BT) */
	s8 reg;	      /* GPR number 0-15 (x86 order: RAX RCX RDX RBX RSP RBP RSI RDI R8..), -1: immediate */
	bool high8;   /* AH, CH, DH, BH (reg 4-7 with an 8-bit operand and no REX) */
	u64 imm;      /* already sign-extended to mem_size where the encoding says so */
	u8 op;	      /* enum alu_op or enum bt_op */
	bool mem_dst; /* INSN_ALU: memory is the destination (else the register is) */
	bool rep;     /* F3 or F2 on a string op (both mean REP for MOVS/STOS/INS/OUTS) */
	u8 addr_size; /* 2, 4, 8 */
	s8 seg;	      /* enum insn_seg: the last segment override prefix */
};

/*
 * Decodes bytes[0..n); returns 0, -EPERM for an encoding the CPU rejects with #UD (LOCK on an
 * instruction or form that cannot be locked, 82 in 64-bit code, 0F BA /0-/3), or -EINVAL for
 * anything else (not emulated or cut short: the caller ends the VM).
 */
int insn_decode(const u8 *bytes, unsigned n, enum insn_mode mode, struct insn *out);

#endif
