/* SPDX-License-Identifier: MIT */
#include "vmm/insn.h"

/* Length of ModRM + SIB + displacement starting at b[0] (the ModRM byte); -1 if cut short. */
static int modrm_length(const u8 *b, unsigned n, bool addr16)
{
	u8 modrm, mod, rm;
	int len = 1;

	if (n < 1)
		return -1;
	modrm = b[0];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return -1; /* a register operand: not a memory access */
	if (addr16) {
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 6))
			len += 2;
	} else {
		if (rm == 4) {
			if (n < 2)
				return -1;
			len += 1; /* SIB */
			if (mod == 0 && (b[1] & 7) == 5)
				len += 4;
		}
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			len += 4;
	}
	return (unsigned)len <= n ? len : -1;
}

int insn_decode(const u8 *b, unsigned n, enum insn_mode mode, struct insn *out)
{
	bool opsize16 = false, addr_override = false;
	u8 rex = 0, op;
	unsigned i = 0;
	u8 size;
	int m;

	*out = (struct insn){ .reg = -1 };
	for (; i < n && i < 15; i++) {
		u8 c = b[i];

		if (c == 0x66)
			opsize16 = true;
		else if (c == 0x67)
			addr_override = true;
		else if (c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 ||
			 c == 0x64 || c == 0x65)
			continue;
		else
			break;
	}
	/* REX must come right before the opcode, and only in 64-bit code. */
	if (mode == MODE_64 && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return -EINVAL;
	op = b[i++];

	/* Operand size of the non-byte forms. */
	if (rex & 8)
		size = 8;
	else if (mode == MODE_16)
		size = opsize16 ? 4 : 2;
	else
		size = opsize16 ? 2 : 4;
	bool addr16 = (mode == MODE_16) != addr_override && mode != MODE_64;

	switch (op) {
	case 0x88: /* MOV r/m8, r8 */
	case 0x89: /* MOV r/m, r */
	case 0x8a: /* MOV r8, r/m8 */
	case 0x8b: /* MOV r, r/m */
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		out->kind = (op & 2) ? INSN_LOAD : INSN_STORE;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->reg = (s8)(((b[i] >> 3) & 7) | ((rex & 4) << 1));
		out->high8 = out->mem_size == 1 && !rex && out->reg >= 4;
		i += (unsigned)m;
		break;
	case 0xc6: /* MOV r/m8, imm8 */
	case 0xc7: /* MOV r/m, imm16/32 (sign-extended to 64 with REX.W) */
		if (i >= n || ((b[i] >> 3) & 7) != 0)
			return -EINVAL;
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		i += (unsigned)m;
		out->kind = INSN_STORE;
		out->mem_size = op == 0xc6 ? 1 : size;
		{
			unsigned isz = out->mem_size == 8 ? 4 : out->mem_size;

			if (i + isz > n)
				return -EINVAL;
			for (unsigned k = 0; k < isz; k++)
				out->imm |= (u64)b[i + k] << (8 * k);
			if (out->mem_size == 8 && (out->imm & 0x80000000u))
				out->imm |= 0xffffffff00000000ull;
			i += isz;
		}
		break;
	case 0xa0: /* MOV AL, moffs */
	case 0xa1: /* MOV eAX, moffs */
	case 0xa2: /* MOV moffs, AL */
	case 0xa3: /* MOV moffs, eAX */
	{
		unsigned asz = mode == MODE_64 ? (addr_override ? 4 : 8) : (addr16 ? 2 : 4);

		if (i + asz > n)
			return -EINVAL;
		i += asz;
		out->kind = (op & 2) ? INSN_STORE : INSN_LOAD;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->reg = 0;
		break;
	}
	case 0x0f: /* MOVZX / MOVSX r, r/m8 or r/m16 */
		if (i >= n)
			return -EINVAL;
		op = b[i++];
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return -EINVAL;
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		out->kind = (op & 8) ? INSN_LOAD_SX : INSN_LOAD_ZX;
		out->mem_size = (op & 1) ? 2 : 1;
		out->reg_size = size;
		out->reg = (s8)(((b[i] >> 3) & 7) | ((rex & 4) << 1));
		i += (unsigned)m;
		break;
	default:
		return -EINVAL;
	}
	if (i > 15)
		return -EINVAL;
	out->len = (u8)i;
	return 0;
}
