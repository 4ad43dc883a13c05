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

/* Reads an isz-byte little-endian immediate at b[*i] and sign-extends it to 64 bits if `sx`. */
static int read_imm(const u8 *b, unsigned n, unsigned *i, unsigned isz, bool sx, u64 *imm)
{
	u64 v = 0;

	if (*i + isz > n)
		return -EINVAL;
	for (unsigned k = 0; k < isz; k++)
		v |= (u64)b[*i + k] << (8 * k);
	if (sx && isz < 8 && (v >> (isz * 8 - 1)) & 1)
		v |= ~0ull << (isz * 8);
	*i += isz;
	*imm = v;
	return 0;
}

static u64 size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* ModRM.reg as a GPR number with REX.R. */
static s8 modrm_reg(u8 modrm, u8 rex)
{
	return (s8)(((modrm >> 3) & 7) | ((rex & 4) << 1));
}

/* LOCK is legal only on the read-modify-write forms with a memory destination (SDM vol. 2 "LOCK"). */
static bool lockable(const struct insn *in)
{
	switch (in->kind) {
	case INSN_ALU:
		return in->mem_dst && in->op != ALU_CMP;
	case INSN_XCHG:
		return true;
	case INSN_BT:
		return in->op != BT_BT;
	default:
		return false;
	}
}

int insn_decode(const u8 *b, unsigned n, enum insn_mode mode, struct insn *out)
{
	bool opsize16 = false, addr_override = false, lock = false, rep = false;
	s8 seg = SEG_NONE;
	u8 rex = 0, op;
	unsigned i = 0;
	u8 size;
	int m;

	*out = (struct insn){ .reg = -1, .seg = SEG_NONE };
	for (; i < n && i < 15; i++) {
		u8 c = b[i];

		if (c == 0x66)
			opsize16 = true;
		else if (c == 0x67)
			addr_override = true;
		else if (c == 0xf0)
			lock = true;
		else if (c == 0xf2 || c == 0xf3)
			rep = true;
		else if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e)
			seg = (s8)((c >> 3) & 3); /* ES CS SS DS */
		else if (c == 0x64 || c == 0x65)
			seg = (s8)(SEG_FS + (c & 1));
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
	out->addr_size = mode == MODE_64 ? (addr_override ? 4 : 8) : (addr16 ? 2 : 4);
	out->seg = seg;

	if (op < 0x40 && (op & 7) < 4) {
		/* 00-3B: ALU r/m, r (bit 1 clear) or r, r/m (bit 1 set); bit 0 clear: byte. */
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		out->kind = INSN_ALU;
		out->op = op >> 3;
		out->mem_dst = !(op & 2);
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->reg = modrm_reg(b[i], rex);
		out->high8 = out->mem_size == 1 && !rex && out->reg >= 4;
		i += (unsigned)m;
		goto done;
	}
	switch (op) {
	case 0x88: /* MOV r/m8, r8 */
	case 0x89: /* MOV r/m, r */
	case 0x8a: /* MOV r8, r/m8 */
	case 0x8b: /* MOV r, r/m */
	case 0x84: /* TEST r/m8, r8 */
	case 0x85: /* TEST r/m, r */
	case 0x86: /* XCHG r/m8, r8 */
	case 0x87: /* XCHG r/m, r */
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		if (op >= 0x88)
			out->kind = (op & 2) ? INSN_LOAD : INSN_STORE;
		else
			out->kind = op < 0x86 ? INSN_TEST : INSN_XCHG;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->reg = modrm_reg(b[i], rex);
		out->high8 = out->mem_size == 1 && !rex && out->reg >= 4;
		i += (unsigned)m;
		break;
	case 0x80: /* group 1 r/m8, imm8 */
	case 0x81: /* group 1 r/m, imm16/32 (sign-extended to 64 with REX.W) */
	case 0x82: /* alias of 80, invalid in 64-bit code */
	case 0x83: /* group 1 r/m, imm8 sign-extended */
		if (op == 0x82 && mode == MODE_64)
			return -EPERM;
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		out->kind = INSN_ALU;
		out->op = (b[i] >> 3) & 7;
		out->mem_dst = true;
		out->mem_size = out->reg_size = op == 0x81 || op == 0x83 ? size : 1;
		i += (unsigned)m;
		if (read_imm(b, n, &i, op == 0x81 ? (size == 8 ? 4 : size) : 1, true, &out->imm))
			return -EINVAL;
		out->imm &= size_mask(out->mem_size);
		break;
	case 0xf6: /* TEST r/m8, imm8 (/0); other forms are not emulated */
	case 0xf7: /* TEST r/m, imm16/32 */
	case 0xc6: /* MOV r/m8, imm8 */
	case 0xc7: /* MOV r/m, imm16/32 (sign-extended to 64 with REX.W) */
		if (i >= n || ((b[i] >> 3) & 7) != 0)
			return -EINVAL;
		m = modrm_length(b + i, n - i, addr16);
		if (m < 0)
			return -EINVAL;
		i += (unsigned)m;
		out->kind = op >= 0xf6 ? INSN_TEST : INSN_STORE;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		if (read_imm(b, n, &i, out->mem_size == 8 ? 4 : out->mem_size, true, &out->imm))
			return -EINVAL;
		out->imm &= size_mask(out->mem_size);
		break;
	case 0xa0: /* MOV AL, moffs */
	case 0xa1: /* MOV eAX, moffs */
	case 0xa2: /* MOV moffs, AL */
	case 0xa3: /* MOV moffs, eAX */
		if (i + out->addr_size > n)
			return -EINVAL;
		i += out->addr_size;
		out->kind = (op & 2) ? INSN_STORE : INSN_LOAD;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->reg = 0;
		break;
	case 0xa4: /* MOVSB */
	case 0xa5: /* MOVSW/D/Q */
	case 0xaa: /* STOSB */
	case 0xab: /* STOSW/D/Q */
		out->kind = op < 0xaa ? INSN_MOVS : INSN_STOS;
		out->mem_size = out->reg_size = (op & 1) ? size : 1;
		out->rep = rep;
		out->reg = op < 0xaa ? -1 : 0; /* STOS stores AL/AX/EAX/RAX */
		break;
	case 0x6c: /* INSB */
	case 0x6d: /* INSW/D: REX.W does not make a 64-bit element (SDM vol. 2A INS) */
	case 0x6e: /* OUTSB */
	case 0x6f: /* OUTSW/D */
		out->kind = op < 0x6e ? INSN_INS : INSN_OUTS;
		out->mem_size = out->reg_size = (op & 1) ? (size == 8 ? 4 : size) : 1;
		out->rep = rep;
		break;
	case 0x0f:
		if (i >= n)
			return -EINVAL;
		op = b[i++];
		switch (op) {
		case 0xb6: /* MOVZX / MOVSX r, r/m8 or r/m16 */
		case 0xb7:
		case 0xbe:
		case 0xbf:
			m = modrm_length(b + i, n - i, addr16);
			if (m < 0)
				return -EINVAL;
			out->kind = (op & 8) ? INSN_LOAD_SX : INSN_LOAD_ZX;
			out->mem_size = (op & 1) ? 2 : 1;
			out->reg_size = size;
			out->reg = modrm_reg(b[i], rex);
			i += (unsigned)m;
			break;
		case 0xa3: /* BT r/m, r */
		case 0xab: /* BTS */
		case 0xb3: /* BTR */
		case 0xbb: /* BTC */
			m = modrm_length(b + i, n - i, addr16);
			if (m < 0)
				return -EINVAL;
			out->kind = INSN_BT;
			out->op = (op >> 3) & 3;
			out->mem_size = out->reg_size = size;
			out->reg = modrm_reg(b[i], rex);
			i += (unsigned)m;
			break;
		case 0xba: /* BT/BTS/BTR/BTC r/m, imm8 (/4-/7; /0-/3 are undefined) */
			if (i >= n)
				return -EINVAL;
			if (((b[i] >> 3) & 7) < 4)
				return -EPERM;
			m = modrm_length(b + i, n - i, addr16);
			if (m < 0)
				return -EINVAL;
			out->kind = INSN_BT;
			out->op = ((b[i] >> 3) & 7) - 4;
			out->mem_size = out->reg_size = size;
			i += (unsigned)m;
			if (read_imm(b, n, &i, 1, false, &out->imm))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
done:
	if (i > 15)
		return -EINVAL;
	if (lock && !lockable(out))
		return -EPERM;
	out->len = (u8)i;
	return 0;
}
