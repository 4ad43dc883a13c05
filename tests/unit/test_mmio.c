/* SPDX-License-Identifier: MIT */
/* MMIO instruction decoding (a table of encodings in 16/32/64-bit code) and emulation against a
 * device handler, on a fake vCPU. */
#include "shim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/regs.h"
#include "vmm/emul_mem.h"
#include "vmm/exit.h"
#include "vmm/insn.h"
#include "vmm/mmio.h"

struct dec_case {
	const char *bytes;
	unsigned n;
	enum insn_mode mode;
	int ok;
	enum insn_kind kind;
	u8 len, mem_size, reg_size;
	s8 reg;
	bool high8;
	u64 imm;
};

#define B(s) s, sizeof(s) - 1

static const struct dec_case cases[] = {
	/* mov [rax], ecx / mov ecx, [rax] */
	{ B("\x89\x08"), MODE_64, 0, INSN_STORE, 2, 4, 4, 1, false, 0 },
	{ B("\x8b\x08"), MODE_64, 0, INSN_LOAD, 2, 4, 4, 1, false, 0 },
	/* REX.W + REX.R: mov [rax+0x10], r9 */
	{ B("\x4c\x89\x48\x10"), MODE_64, 0, INSN_STORE, 4, 8, 8, 9, false, 0 },
	/* 16-bit operand: mov [rbx], dx */
	{ B("\x66\x89\x13"), MODE_64, 0, INSN_STORE, 3, 2, 2, 2, false, 0 },
	/* byte forms: mov [rdi], ah (no REX) and mov [rdi], spl (REX) */
	{ B("\x88\x27"), MODE_64, 0, INSN_STORE, 2, 1, 1, 4, true, 0 },
	{ B("\x40\x88\x27"), MODE_64, 0, INSN_STORE, 3, 1, 1, 4, false, 0 },
	/* SIB + disp32: mov eax, [rsp+rcx*4+0x12345678] */
	{ B("\x8b\x84\x8c\x78\x56\x34\x12"), MODE_64, 0, INSN_LOAD, 7, 4, 4, 0, false, 0 },
	/* RIP-relative: mov [rip+0x100], eax */
	{ B("\x89\x05\x00\x01\x00\x00"), MODE_64, 0, INSN_STORE, 6, 4, 4, 0, false, 0 },
	/* immediates: mov dword [rax], 0xdeadbeef; mov qword [rax], -1 (sign-extended); mov byte */
	{ B("\xc7\x00\xef\xbe\xad\xde"), MODE_64, 0, INSN_STORE, 6, 4, 0, -1, false, 0xdeadbeef },
	{ B("\x48\xc7\x00\xff\xff\xff\xff"), MODE_64, 0, INSN_STORE, 7, 8, 0, -1, false, ~0ull },
	{ B("\xc6\x40\x04\x5a"), MODE_64, 0, INSN_STORE, 4, 1, 0, -1, false, 0x5a },
	/* moffs: mov eax, [0xfee000f0] in 32-bit code; 64-bit code has an 8-byte offset */
	{ B("\xa1\xf0\x00\xe0\xfe"), MODE_32, 0, INSN_LOAD, 5, 4, 4, 0, false, 0 },
	{ B("\xa3\x00\x00\x00\x00\x00\x00\x00\x00"), MODE_64, 0, INSN_STORE, 9, 4, 4, 0, false, 0 },
	/* movzx/movsx */
	{ B("\x0f\xb6\x01"), MODE_32, 0, INSN_LOAD_ZX, 3, 1, 4, 0, false, 0 },
	{ B("\x48\x0f\xbf\x0a"), MODE_64, 0, INSN_LOAD_SX, 4, 2, 8, 1, false, 0 },
	/* 16-bit code, 16-bit addressing: mov ax, [bp+si+0x1234] is 8b 82 34 12 */
	{ B("\x8b\x82\x34\x12"), MODE_16, 0, INSN_LOAD, 4, 2, 2, 0, false, 0 },
	/* 16-bit code with 66 67: mov eax, [eax] */
	{ B("\x66\x67\x8b\x00"), MODE_16, 0, INSN_LOAD, 4, 4, 4, 0, false, 0 },
	/* INS/OUTS: the element is 1, 2 or 4 bytes (REX.W does not widen it); LOCK is #UD. */
	{ B("\x6c"), MODE_64, 0, INSN_INS, 1, 1, 1, -1, false, 0 },
	{ B("\xf3\x66\x6d"), MODE_64, 0, INSN_INS, 3, 2, 2, -1, false, 0 },
	{ B("\x48\x6f"), MODE_64, 0, INSN_OUTS, 2, 4, 4, -1, false, 0 },
	{ B("\x67\xf3\x26\x6e"), MODE_32, 0, INSN_OUTS, 4, 1, 1, -1, false, 0 },
	{ B("\x6d"), MODE_16, 0, INSN_INS, 1, 2, 2, -1, false, 0 },
	{ B("\xf0\x6c"), MODE_64, -EPERM, INSN_INS, 0, 0, 0, 0, false, 0 },
	/* In 32-bit code 0x48 is DEC, not REX. */
	{ B("\x48\x89\x08"), MODE_32, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	/* Register operands, other instructions, truncation, 15+ bytes of prefixes, /1 of C7. */
	{ B("\x89\xc8"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B("\xf7\x18"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B("\x8b\x84\x8c\x78\x56"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B("\xc7\x00\xef\xbe"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x89\x08"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0,
	  0, false, 0 },
	{ B("\xc7\x08\x01\x00\x00\x00"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B(""), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
};

static void test_decode_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dec_case *c = &cases[i];
		struct insn in;
		int ret = insn_decode((const u8 *)c->bytes, c->n, c->mode, &in);

		assert_int_equal(ret, c->ok);
		if (ret)
			continue;
		assert_int_equal(in.kind, c->kind);
		assert_int_equal(in.len, c->len);
		assert_int_equal(in.mem_size, c->mem_size);
		if (c->kind != INSN_STORE)
			assert_int_equal(in.reg_size, c->reg_size);
		assert_int_equal(in.reg, c->reg);
		assert_int_equal(in.high8, c->high8);
		assert_int_equal(in.imm, c->imm);
	}
}

/* Random bytes never make the decoder read past n (ASan) or claim more than n bytes. */
static void test_decode_random(void **state)
{
	u8 buf[15];

	srand(1);
	for (int round = 0; round < 200000; round++) {
		unsigned n = (unsigned)rand() % 16;
		struct insn in;

		for (unsigned i = 0; i < n; i++)
			buf[i] = (u8)rand();
		u8 *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		if (insn_decode(copy, n, (enum insn_mode)(round % 3), &in) == 0)
			assert_true(in.len <= n && in.len >= 1);
		free(copy);
	}
}

/* --- emulation ------------------------------------------------------------------------------ */

/* Guest RAM: gpa [0, sizeof(ram)); code at gpa 0 (RIP 0, CS base 0). */
static u8 ram[0x20000] __attribute__((aligned(4096)));
static u64 regs[VREG_NR];
static u64 dev_reg = 0x1122334455667788ull, last_write, last_gpa;
static unsigned last_size;

/* Every device access, in order. */
struct dev_access {
	u64 gpa, val;
	unsigned size;
	bool write;
};
static struct dev_access dev_log[64];
static unsigned dev_n;

static int injected, inj_vector, inj_has_error;
static u32 inj_error;

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

int gpa_write(struct vm *vm, gpa_t gpa, const void *buf, u64 len)
{
	if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
		return -EFAULT;
	memcpy(ram + gpa, buf, len);
	return 0;
}

#define FAKE_GPA_RAM  ram
#define FAKE_GPA_SIZE sizeof(ram)
#include "fake_gpa.h"

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	return regs[r];
}

static void fake_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	regs[r] = val;
}

static void fake_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	injected++;
	inj_vector = vector;
	inj_has_error = has_error;
	inj_error = error;
}

static const struct vcpu_ops fake_ops = { .name = "fake", .get = fake_get, .set = fake_set, .inject = fake_inject };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static char crash[128];
void vm_crash(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(crash, sizeof(crash), fmt, ap);
	va_end(ap);
}

static void dev(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	last_gpa = gpa;
	last_size = size;
	if (write)
		last_write = *val;
	else
		*val = dev_reg + dev_n; /* successive reads differ, so string tests see each element */
	if (dev_n < 64)
		dev_log[dev_n++] = (struct dev_access){ gpa, *val, size, write };
}

static struct vm vm;
static struct vcpu vcpu = { .vm = &vm };
static const struct vm_mmio_handler region = { .base = 0xfee00000, .size = 0x1000, .fn = dev };

static void set_mode(enum insn_mode mode)
{
	regs[VREG_EFER] = mode == MODE_64 ? EFER_LMA : 0;
	regs[VREG_CS_ATTR] = mode == MODE_64 ? CS_ATTR_L : mode == MODE_32 ? CS_ATTR_DB : 0;
	regs[VREG_CR0] = CR0_PE | (mode == MODE_64 ? CR0_PG : 0);
	/* Flat 4 GiB data segments (bases stay as the test set them). */
	regs[VREG_ES_LIMIT] = regs[VREG_DS_LIMIT] = regs[VREG_SS_LIMIT] = 0xffffffff;
	regs[VREG_CS_LIMIT] = regs[VREG_FS_LIMIT] = regs[VREG_GS_LIMIT] = 0xffffffff;
}

static void run_at(const char *bytes, size_t n, u64 gpa)
{
	memcpy(ram, bytes, n);
	regs[VREG_RIP] = 0;
	crash[0] = '\0';
	dev_n = 0;
	injected = 0;
	mmio_emulate(&vcpu, &region, gpa);
}

static void run(const char *bytes, size_t n)
{
	run_at(bytes, n, 0xfee00030);
}

static void test_emulate(void **state)
{
	regs[VREG_CR3] = 0x1000; /* paging is off in this test: CR3 is not used */
	set_mode(MODE_64);
	regs[VREG_CR0] = 0; /* the fetch translation is flat without CR0.PG */
	/* Loads: a 32-bit destination zeroes the upper half; 8/16-bit ones merge. */
	vcpu.gprs.rcx = ~0ull;
	run(B("\x8b\x08"));
	assert_int_equal(vcpu.gprs.rcx, 0x55667788);
	assert_int_equal(regs[VREG_RIP], 2);
	assert_int_equal(last_size, 4);
	assert_int_equal(last_gpa, 0xfee00030);
	vcpu.gprs.rax = 0xaaaaaaaaaaaaaaaaull;
	run(B("\x8a\x20")); /* mov ah, [rax] */
	assert_int_equal(vcpu.gprs.rax, 0xaaaaaaaaaaaa88aaull);
	run(B("\x48\x0f\xbe\x08")); /* movsx rcx, byte [rax]: 0x88 is negative */
	assert_int_equal(vcpu.gprs.rcx, 0xffffffffffffff88ull);
	run(B("\x0f\xb7\x08")); /* movzx ecx, word [rax] */
	assert_int_equal(vcpu.gprs.rcx, 0x7788);
	/* Stores: from a register (RSP comes from the vendor state) and immediates. */
	regs[VREG_RSP] = 0x123456789abcdef0ull;
	run(B("\x48\x89\x20")); /* mov [rax], rsp */
	assert_int_equal(last_write, 0x123456789abcdef0ull);
	assert_int_equal(last_size, 8);
	run(B("\xc6\x00\x7f"));
	assert_int_equal(last_write, 0x7f);
	assert_int_equal(last_size, 1);
	/* 32-bit code: 0x48 is not REX, so this is not an MMIO instruction Keel knows. */
	regs[VREG_CS_ATTR] = CS_ATTR_DB;
	regs[VREG_EFER] = 0;
	run(B("\x48\x89\x08"));
	assert_non_null(strstr(crash, "does not emulate"));
	/* An 8-byte access 4 bytes before the end of the region. */
	regs[VREG_CS_ATTR] = CS_ATTR_L;
	regs[VREG_EFER] = EFER_LMA;
	run_at(B("\x48\x89\x08"), 0xfee00ffc);
	assert_non_null(strstr(crash, "runs past its region"));
	assert_int_equal(dev_n, 0);
}

/* --- ALU / TEST / XCHG / BT: a table of encodings ---------------------------------------------- */

#define FL_CF	 0x1ull
#define FL_PF	 0x4ull
#define FL_AF	 0x10ull
#define FL_ZF	 0x40ull
#define FL_SF	 0x80ull
#define FL_OF	 0x800ull
#define FL_1	 0x2ull /* reserved, always 1 */
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

struct emu_case {
	const char *bytes;
	unsigned n;
	enum insn_mode mode;
	u64 rax, rcx, flags, dev; /* initial state; dev: what the device returns */
	bool writes;		  /* one device write expected, of wsize bytes */
	u64 wval;
	unsigned wsize;
	u64 rax_out, rcx_out, flags_out;
	u8 rip;
};

static const struct emu_case emu_cases[] = {
	/* add [rbx], ecx: -1 + 1 = 0 with CF, PF, AF, ZF */
	{ B("\x01\x0b"), MODE_64, 0, 1, FL_1, 0xffffffff, true, 0, 4, 0, 1, FL_1 | FL_CF | FL_PF | FL_AF | FL_ZF, 2 },
	/* lock add: the same, LOCK is legal on a memory destination */
	{ B("\xf0\x01\x0b"), MODE_64, 0, 1, FL_1, 0xffffffff, true, 0, 4, 0, 1, FL_1 | FL_CF | FL_PF | FL_AF | FL_ZF,
	  3 },
	/* sub ecx, [rbx]: register destination, 32-bit write zero-extends; memory not written */
	{ B("\x2b\x0b"), MODE_64, 0, 0x100000005ull, FL_1, 7, false, 0, 0, 0, 0xfffffffe, FL_1 | FL_CF | FL_AF | FL_SF,
	  2 },
	/* cmp byte [rbx], 0x80: 0x7f - 0x80 overflows */
	{ B("\x80\x3b\x80"), MODE_64, 0, 0, FL_1, 0x7f, false, 0, 0, 0, 0, FL_1 | FL_CF | FL_PF | FL_SF | FL_OF, 3 },
	/* or qword [rbx], -2 (83: imm8 sign-extended); logic ops clear CF, OF (and AF) */
	{ B("\x48\x83\x0b\xfe"), MODE_64, 0, 0, FL_1 | FL_ARITH, 1, true, ~0ull, 8, 0, 0, FL_1 | FL_PF | FL_SF, 4 },
	/* 16-bit code: adc word [bx], 0x1234 with CF in */
	{ B("\x81\x17\x34\x12"), MODE_16, 0, 0, FL_1 | FL_CF, 0xedcb, true, 0, 2, 0, 0,
	  FL_1 | FL_CF | FL_PF | FL_AF | FL_ZF, 4 },
	/* xor [rbx], ah (no REX: register 4 is AH) */
	{ B("\x30\x23"), MODE_64, 0x5500, 0, FL_1, 0xff, true, 0xaa, 1, 0x5500, 0, FL_1 | FL_PF | FL_SF, 2 },
	/* sbb eax, [rbx]: 0 - 0 - 1 */
	{ B("\x1b\x03"), MODE_64, 0, 0, FL_1 | FL_CF, 0, false, 0, 0, 0xffffffff, 0,
	  FL_1 | FL_CF | FL_PF | FL_AF | FL_SF, 2 },
	/* and [rbx], cl */
	{ B("\x20\x0b"), MODE_64, 0, 0x3c, FL_1 | FL_CF | FL_OF, 0x0f, true, 0x0c, 1, 0, 0x3c, FL_1 | FL_PF, 2 },
	/* 32-bit code, 66: add word [ebx], cx: 0x7fff + 1 overflows */
	{ B("\x66\x01\x0b"), MODE_32, 0, 1, FL_1, 0x7fff, true, 0x8000, 2, 0, 1, FL_1 | FL_PF | FL_AF | FL_SF | FL_OF,
	  3 },
	/* 82 is 80's alias outside 64-bit code: add byte [ebx], 1 */
	{ B("\x82\x03\x01"), MODE_32, 0, 0, FL_1, 0x0f, true, 0x10, 1, 0, 0, FL_1 | FL_AF, 3 },
	/* test dword [rbx], 0x80000000: flags only */
	{ B("\xf7\x03\x00\x00\x00\x80"), MODE_64, 0, 0, FL_1 | FL_ARITH, 0x80000001, false, 0, 0, 0, 0,
	  FL_1 | FL_PF | FL_SF, 6 },
	/* test [rbx], cl */
	{ B("\x84\x0b"), MODE_64, 0, 0x0f, FL_1, 0xf0, false, 0, 0, 0, 0x0f, FL_1 | FL_PF | FL_ZF, 2 },
	/* xchg [rbx], rcx: no flags change */
	{ B("\x48\x87\x0b"), MODE_64, 0, 0xaaaa, FL_1 | FL_ARITH, 0x1234567890ull, true, 0xaaaa, 8, 0, 0x1234567890ull,
	  FL_1 | FL_ARITH, 3 },
	/* xchg [rbx], cl merges the byte */
	{ B("\x86\x0b"), MODE_64, 0, 0x1111, FL_1, 0x22, true, 0x11, 1, 0, 0x1122, FL_1, 2 },
	/* bts dword [rbx], ecx with ecx = 35: bit 3 of the word; ZF unaffected */
	{ B("\x0f\xab\x0b"), MODE_64, 0, 35, FL_1 | FL_CF | FL_ZF, 0, true, 8, 4, 0, 35, FL_1 | FL_ZF, 3 },
	/* btr qword [rbx], 63 */
	{ B("\x48\x0f\xba\x33\x3f"), MODE_64, 0, 0, FL_1, 0x8000000000000001ull, true, 1, 8, 0, 0, FL_1 | FL_CF, 5 },
	/* bt word [rbx], 0x11: bit 1 (modulo 16); read only */
	{ B("\x66\x0f\xba\x23\x11"), MODE_64, 0, 0, FL_1, 2, false, 0, 0, 0, 0, FL_1 | FL_CF, 5 },
	/* 32-bit code: btc dword [ebx], 5 */
	{ B("\x0f\xba\x3b\x05"), MODE_32, 0, 0, FL_1, 0x20, true, 0, 4, 0, 0, FL_1 | FL_CF, 4 },
	/* lock btc: legal */
	{ B("\xf0\x0f\xbb\x0b"), MODE_64, 0, 0, FL_1 | FL_CF, 0, true, 1, 4, 0, 0, FL_1, 4 },
};

static void test_emulate_table(void **state)
{
	for (size_t i = 0; i < sizeof(emu_cases) / sizeof(emu_cases[0]); i++) {
		const struct emu_case *c = &emu_cases[i];
		u64 saved = dev_reg;

		print_message("case %zu\n", i);
		set_mode(c->mode);
		regs[VREG_CR0] = CR0_PE;
		vcpu.gprs.rax = c->rax;
		vcpu.gprs.rcx = c->rcx;
		regs[VREG_RFLAGS] = c->flags;
		dev_reg = c->dev;
		run(c->bytes, c->n);
		dev_reg = saved;
		assert_string_equal(crash, "");
		assert_int_equal(injected, 0);
		assert_int_equal(regs[VREG_RIP], c->rip);
		assert_int_equal(vcpu.gprs.rax, c->rax_out);
		assert_int_equal(vcpu.gprs.rcx, c->rcx_out);
		assert_int_equal(regs[VREG_RFLAGS], c->flags_out);
		/* Always a read first; then the write, if any. */
		assert_int_equal(dev_n, c->writes ? 2 : 1);
		assert_false(dev_log[0].write);
		assert_int_equal(dev_log[0].gpa, 0xfee00030);
		if (c->writes) {
			assert_true(dev_log[1].write);
			assert_int_equal(dev_log[1].val, c->wval);
			assert_int_equal(dev_log[1].size, c->wsize);
		}
	}
}

/* Encodings the CPU rejects with #UD (and instructions Keel does not emulate end the VM). */
static void test_emulate_faults(void **state)
{
	static const struct {
		const char *bytes;
		unsigned n;
		enum insn_mode mode;
	} ud[] = {
		{ B("\xf0\x39\x0b"), MODE_64 },	    /* lock cmp */
		{ B("\xf0\x89\x0b"), MODE_64 },	    /* lock mov */
		{ B("\xf0\x0f\xa3\x0b"), MODE_64 }, /* lock bt */
		{ B("\xf0\x85\x0b"), MODE_64 },	    /* lock test */
		{ B("\xf0\x03\x0b"), MODE_64 },	    /* lock add with a register destination */
		{ B("\xf0\xa5"), MODE_64 },	    /* lock movs */
		{ B("\x82\x03\x01"), MODE_64 },	    /* 82 in 64-bit code */
		{ B("\x0f\xba\x1b\x01"), MODE_64 }, /* 0f ba /3 */
	};

	for (size_t i = 0; i < sizeof(ud) / sizeof(ud[0]); i++) {
		set_mode(ud[i].mode);
		regs[VREG_CR0] = CR0_PE;
		run(ud[i].bytes, ud[i].n);
		assert_int_equal(injected, 1);
		assert_int_equal(inj_vector, 6); /* #UD */
		assert_false(inj_has_error);
		assert_int_equal(regs[VREG_RIP], 0);
		assert_int_equal(dev_n, 0);
		assert_string_equal(crash, "");
	}
	/* neg dword [rax]: not emulated */
	run(B("\xf7\x18"));
	assert_non_null(strstr(crash, "does not emulate"));
	assert_int_equal(injected, 0);
	assert_int_equal(dev_n, 0);
}

/* ALU flags against the host CPU itself, for random operands of every size. */
#define HOST_OP(name, insn, type)                                                                             \
	static u64 host_##name(u64 a, u64 b, u64 fin, u64 *fout)                                              \
	{                                                                                                     \
		type x = (type)a, y = (type)b;                                                                \
		u64 f;                                                                                        \
		__asm__ volatile("sub $128, %%rsp\n\tpush %[fin]\n\tpopf\n\t" insn " %[y], %[x]\n\tpushf\n\t" \
				 "pop %[f]\n\tadd $128, %%rsp"                                                \
				 : [x] "+r"(x), [f] "=&r"(f)                                                  \
				 : [y] "r"(y), [fin] "r"(fin)                                                 \
				 : "cc", "memory");                                                           \
		*fout = f;                                                                                    \
		return (u64)x;                                                                                \
	}
#define HOST_SIZES(op)               \
	HOST_OP(op##b, #op "b", u8)  \
	HOST_OP(op##w, #op "w", u16) \
	HOST_OP(op##l, #op "l", u32) \
	HOST_OP(op##q, #op "q", u64)
HOST_SIZES(add)
HOST_SIZES(or)
HOST_SIZES(adc)
HOST_SIZES(sbb)
HOST_SIZES(and)
HOST_SIZES(sub)
HOST_SIZES(xor)
HOST_SIZES(cmp)

typedef u64 host_fn(u64, u64, u64, u64 *);
static host_fn *const host_ops[8][4] = {
	{ host_addb, host_addw, host_addl, host_addq }, { host_orb, host_orw, host_orl, host_orq },
	{ host_adcb, host_adcw, host_adcl, host_adcq }, { host_sbbb, host_sbbw, host_sbbl, host_sbbq },
	{ host_andb, host_andw, host_andl, host_andq }, { host_subb, host_subw, host_subl, host_subq },
	{ host_xorb, host_xorw, host_xorl, host_xorq }, { host_cmpb, host_cmpw, host_cmpl, host_cmpq },
};

static void test_alu_vs_host(void **state)
{
	set_mode(MODE_64);
	regs[VREG_CR0] = CR0_PE;
	srand(7);
	for (int round = 0; round < 20000; round++) {
		unsigned op = (unsigned)rand() % 8, sz = (unsigned)rand() % 4, size = 1u << sz;
		u64 a = ((u64)rand() << 40) ^ ((u64)rand() << 20) ^ (u64)rand();
		u64 b = ((u64)rand() << 40) ^ ((u64)rand() << 20) ^ (u64)rand();
		u64 fin = FL_1 | ((u64)rand() & FL_ARITH), fout, want, saved = dev_reg;
		/* op [rbx], ecx (01-form, memory destination), with 66 / REX.W as needed; rcx = b */
		u8 code[4];
		unsigned n = 0;

		if (round % 5 == 0) /* small values reach the carry/overflow edges */
			a = (u64)(rand() % 3) - 1, b = (u64)(rand() % 3) - 1;
		if (size == 2)
			code[n++] = 0x66;
		if (size == 8)
			code[n++] = 0x48;
		code[n++] = (u8)(op << 3 | (size == 1 ? 0 : 1));
		code[n++] = 0x0b;
		want = host_ops[op][sz](a, b, fin, &fout);
		vcpu.gprs.rcx = b;
		regs[VREG_RFLAGS] = fin;
		dev_reg = a;
		run((const char *)code, n);
		dev_reg = saved;
		assert_string_equal(crash, "");
		/* AF is undefined after logic ops (Keel clears it): compare it for arithmetic only. */
		u64 cmp_mask = (op == 1 || op == 4 || op == 6) ? FL_ARITH & ~FL_AF : FL_ARITH;

		if ((regs[VREG_RFLAGS] & cmp_mask) != (fout & cmp_mask))
			fail_msg("op %u size %u a %#llx b %#llx fin %#llx: flags %#llx, CPU %#llx", op, size,
				 (unsigned long long)a, (unsigned long long)b, (unsigned long long)fin,
				 (unsigned long long)regs[VREG_RFLAGS], (unsigned long long)fout);
		if (op == 7) {
			assert_int_equal(dev_n, 1);
		} else {
			assert_int_equal(dev_n, 2);
			assert_int_equal(dev_log[1].val, want & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1));
		}
	}
}

/* --- MOVS / STOS ------------------------------------------------------------------------------- */

/*
 * 4-level paging: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000 maps linear 0x400000 + n * 4K.
 * Pages: 0x400000 -> RAM 0x8000, 0x401000 -> MMIO 0xfee00000, 0x402000 -> RAM 0x9000 (read-only),
 * 0x403000 not present, 0x404000 -> RAM 0xa000, 0x405000 -> RAM 0 (the code: CS base 0x405000).
 */
#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_A  0x20ull
#define PTE_D  0x40ull
static u64 *pte(u64 gpa)
{
	return (u64 *)(ram + gpa);
}

static void paging_setup(void)
{
	memset(ram, 0, sizeof(ram));
	*pte(0x1000) = 0x2000 | PTE_P | PTE_RW;
	*pte(0x2000) = 0x3000 | PTE_P | PTE_RW;
	*pte(0x3000 + 2 * 8) = 0x4000 | PTE_P | PTE_RW; /* 0x400000 is PD index 2 */
	*pte(0x4000 + 0 * 8) = 0x8000 | PTE_P | PTE_RW;
	*pte(0x4000 + 1 * 8) = 0xfee00000 | PTE_P | PTE_RW;
	*pte(0x4000 + 2 * 8) = 0x9000 | PTE_P;
	*pte(0x4000 + 4 * 8) = 0xa000 | PTE_P | PTE_RW;
	*pte(0x4000 + 5 * 8) = 0x0000 | PTE_P | PTE_RW;
	set_mode(MODE_64);
	regs[VREG_CR0] = CR0_PE | CR0_PG | CR0_WP;
	regs[VREG_CR3] = 0x1000;
	regs[VREG_CR4] = 0x20; /* PAE */
	regs[VREG_CS_BASE] = 0x405000;
	regs[VREG_RFLAGS] = FL_1;
}

static void run_string(const char *bytes, size_t n)
{
	memcpy(ram, bytes, n);
	regs[VREG_RIP] = 0;
	crash[0] = '\0';
	dev_n = 0;
	injected = 0;
	mmio_emulate(&vcpu, &region, 0xfee00000);
}

static void test_string(void **state)
{
	struct vcpu_gprs *g = &vcpu.gprs;

	/* rep movsd: RAM -> MMIO, three elements, DF = 0 */
	paging_setup();
	memcpy(ram + 0x8000, "\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00", 12);
	g->rsi = 0x400000, g->rdi = 0x401010, g->rcx = 3;
	run_string(B("\xf3\xa5"));
	assert_string_equal(crash, "");
	assert_int_equal(injected, 0);
	assert_int_equal(regs[VREG_RIP], 2);
	assert_int_equal(dev_n, 3);
	for (unsigned k = 0; k < 3; k++) {
		assert_true(dev_log[k].write);
		assert_int_equal(dev_log[k].gpa, 0xfee00010 + 4 * k);
		assert_int_equal(dev_log[k].size, 4);
		assert_int_equal(dev_log[k].val, k + 1);
	}
	assert_int_equal(g->rsi, 0x40000c);
	assert_int_equal(g->rdi, 0x40101c);
	assert_int_equal(g->rcx, 0);
	/* The written (MMIO) page's PTE got A and D, the source's A only. */
	assert_int_equal(*pte(0x4008) & (PTE_A | PTE_D), PTE_A | PTE_D);
	assert_int_equal(*pte(0x4000) & (PTE_A | PTE_D), PTE_A);

	/* rep movsq MMIO -> RAM backwards (DF = 1), with REX.W */
	paging_setup();
	regs[VREG_RFLAGS] = FL_1 | 0x400;
	g->rsi = 0x401008, g->rdi = 0x404008, g->rcx = 2;
	run_string(B("\xf3\x48\xa5"));
	assert_string_equal(crash, "");
	assert_int_equal(regs[VREG_RIP], 3);
	assert_int_equal(dev_n, 2);
	assert_false(dev_log[0].write);
	assert_int_equal(dev_log[0].gpa, 0xfee00008);
	assert_int_equal(dev_log[1].gpa, 0xfee00000);
	assert_memory_equal(ram + 0xa008, &dev_log[0].val, 8);
	assert_memory_equal(ram + 0xa000, &dev_log[1].val, 8);
	assert_int_equal(g->rsi, 0x400ff8);
	assert_int_equal(g->rdi, 0x403ff8);

	/* stosw without REP: one element, RCX untouched */
	paging_setup();
	g->rax = 0xbeef, g->rdi = 0x401002, g->rcx = 77;
	run_string(B("\x66\xab"));
	assert_int_equal(dev_n, 1);
	assert_int_equal(dev_log[0].val, 0xbeef);
	assert_int_equal(dev_log[0].size, 2);
	assert_int_equal(g->rdi, 0x401004);
	assert_int_equal(g->rcx, 77);
	assert_int_equal(regs[VREG_RIP], 2);

	/* rep stosb with RCX = 0: nothing happens, RIP advances */
	paging_setup();
	g->rdi = 0x401000, g->rcx = 0;
	run_string(B("\xf3\xaa"));
	assert_int_equal(dev_n, 0);
	assert_int_equal(regs[VREG_RIP], 2);

	/* 67: 32-bit address size; ECX counts and the upper halves are cleared */
	paging_setup();
	g->rax = 0x5a, g->rdi = 0xffffffff00401000ull, g->rcx = 0xffffffff00000002ull;
	run_string(B("\x67\xf3\xaa"));
	assert_string_equal(crash, "");
	assert_int_equal(dev_n, 2);
	assert_int_equal(g->rdi, 0x401002);
	assert_int_equal(g->rcx, 0);

	/* #PF: destination not present. Error code W, CR2 the address; no device access, RIP stays. */
	paging_setup();
	g->rsi = 0x401000, g->rdi = 0x403010, g->rcx = 1;
	run_string(B("\xf3\xa4"));
	assert_int_equal(injected, 1);
	assert_int_equal(inj_vector, 14);
	assert_true(inj_has_error);
	assert_int_equal(inj_error, 2);
	assert_int_equal(regs[VREG_CR2], 0x403010);
	assert_int_equal(dev_n, 0);
	assert_int_equal(regs[VREG_RIP], 0);
	assert_int_equal(g->rcx, 1);

	/* #PF: destination read-only with CR0.WP: error code P|W */
	paging_setup();
	g->rsi = 0x401000, g->rdi = 0x402000, g->rcx = 1;
	run_string(B("\xa4"));
	assert_int_equal(injected, 1);
	assert_int_equal(inj_error, 3);
	assert_int_equal(regs[VREG_CR2], 0x402000);
	assert_int_equal(dev_n, 0);
	/* ... the same without CR0.WP is allowed for supervisor code */
	paging_setup();
	regs[VREG_CR0] &= ~(u64)CR0_WP;
	g->rsi = 0x401000, g->rdi = 0x402000;
	run_string(B("\xa4"));
	assert_int_equal(injected, 0);
	assert_int_equal(ram[0x9000], (u8)dev_log[0].val);

	/* #PF on the source (read, not present): error code 0, after a partial REP the counts hold */
	paging_setup();
	g->rsi = 0x402ffc, g->rdi = 0x401000, g->rcx = 3;
	run_string(B("\xf3\xa5"));
	assert_int_equal(injected, 1);
	assert_int_equal(inj_error, 0);
	assert_int_equal(regs[VREG_CR2], 0x403000);
	assert_int_equal(dev_n, 1); /* the first element went through */
	assert_int_equal(g->rcx, 2);
	assert_int_equal(g->rsi, 0x403000);
	assert_int_equal(regs[VREG_RIP], 0);

	/* An element crossing pages on the RAM side is split; on the MMIO side it ends the VM. */
	paging_setup();
	memcpy(ram + 0x8ffe, "\x11\x22", 2);
	g->rsi = 0x400ffe, g->rdi = 0x401000;
	run_string(B("\xa5")); /* source 0x400ffe..0x401001: RAM then the MMIO page */
	assert_non_null(strstr(crash, "crosses a page"));
	assert_int_equal(dev_n, 0);
	/* A RAM-side element crossing pages is split: linear 0x404ffe..0x405001 is RAM 0xaffe..0xafff
	 * then 0xa000..0xa001 once 0x405000 maps 0xa000. */
	paging_setup();
	*pte(0x4000 + 5 * 8) = 0xa000 | PTE_P | PTE_RW; /* 0x405000 -> 0xa000; code moves to 0x406000 */
	*pte(0x4000 + 6 * 8) = 0x0000 | PTE_P | PTE_RW;
	regs[VREG_CS_BASE] = 0x406000;
	memcpy(ram + 0xaffe, "\x11\x22", 2);
	memcpy(ram + 0xa000, "\x33\x44", 2);
	g->rsi = 0x404ffe, g->rdi = 0x401000;
	run_string(B("\xa5"));
	assert_string_equal(crash, "");
	assert_int_equal(dev_n, 1);
	assert_int_equal(dev_log[0].val, 0x44332211);
	/* An MMIO destination crossing from one MMIO page into the next ends the VM too. */
	paging_setup();
	*pte(0x4000 + 2 * 8) = 0xfee01000 | PTE_P | PTE_RW; /* 0x402000 -> MMIO as well */
	g->rdi = 0x401ffe, g->rax = 0;
	run_string(B("\xab"));
	assert_non_null(strstr(crash, "crosses a page"));

	/* An element past the end of a small region registered with the VM (not the one that exited). */
	paging_setup();
	vm.mmio[0] = (struct vm_mmio_handler){ .base = 0xfee01000, .size = 0x10, .fn = dev };
	vm.nr_mmio = 1;
	*pte(0x4000 + 2 * 8) = 0xfee01000 | PTE_P | PTE_RW;
	g->rdi = 0x40200c, g->rax = 0x99;
	run_string(B("\xab"));
	assert_string_equal(crash, "");
	assert_int_equal(dev_n, 1);
	assert_int_equal(dev_log[0].gpa, 0xfee0100c);
	run_string(B("\xab")); /* RDI is now 0x402010: 0xfee01010 is outside both regions and RAM */
	assert_non_null(strstr(crash, "neither RAM nor MMIO"));
	g->rdi = 0x40200e;
	run_string(B("\xab"));
	assert_non_null(strstr(crash, "runs past its region"));
	assert_int_equal(dev_n, 0);
	vm.nr_mmio = 0;

	/* non-canonical destination: #GP(0) */
	paging_setup();
	g->rdi = 0x0000800000000000ull, g->rcx = 1;
	run_string(B("\xaa"));
	assert_int_equal(injected, 1);
	assert_int_equal(inj_vector, 13);
	assert_int_equal(inj_error, 0);

	/* FS override on MOVS in 64-bit code: FS's base applies to the source */
	paging_setup();
	regs[VREG_FS_BASE] = 0x400000;
	g->rsi = 0, g->rdi = 0x401000, g->rcx = 1;
	run_string(B("\x64\xa4"));
	assert_string_equal(crash, "");
	assert_int_equal(injected, 0);
	assert_int_equal(g->rsi, 1);
	assert_int_equal(dev_n, 1);
	assert_int_equal(dev_log[0].gpa, 0xfee00000);
	regs[VREG_FS_BASE] = 0;

	/* long REP: 1024 elements per exit, then RIP stays for the guest to re-execute */
	paging_setup();
	g->rax = 0, g->rdi = 0x401000, g->rcx = 1500;
	run_string(B("\xf3\xaa"));
	assert_int_equal(g->rcx, 1500 - 1024);
	assert_int_equal(g->rdi, 0x401000 + 1024);
	assert_int_equal(regs[VREG_RIP], 0);

	/* a page table outside RAM (PD entry 3, linear 0x600000): the VM ends, nothing is accessed */
	paging_setup();
	*pte(0x3000 + 3 * 8) = 0x7fff0000 | PTE_P | PTE_RW;
	g->rdi = 0x600000, g->rsi = 0x401000;
	run_string(B("\xa4"));
	assert_non_null(strstr(crash, "outside its RAM"));
	assert_int_equal(dev_n, 0);
	assert_int_equal(injected, 0);

	/* 32-bit code, no paging, 16-bit addressing (67): DI wraps at 64K and merges */
	memset(ram, 0, sizeof(ram));
	set_mode(MODE_32);
	regs[VREG_CS_BASE] = 0;
	regs[VREG_RFLAGS] = FL_1;
	g->rax = 0x77, g->rdi = 0x12340000ffffull, g->rcx = 2;
	run_string(B("\x67\xf3\xaa"));
	assert_string_equal(crash, "");
	assert_int_equal(ram[0xffff], 0x77);
	assert_int_equal(ram[0], 0x77); /* overwrote the code at 0 after it was fetched */
	assert_int_equal(g->rdi, 0x123400000001ull);
	assert_int_equal(g->rcx, 0);

	/* FS override on MOVS in 32-bit code as well; past FS's limit it is #GP(0) */
	regs[VREG_FS_BASE] = 0x100;
	ram[0x100] = 0x5c;
	g->rsi = 0, g->rdi = 0x200;
	run_string(B("\x64\xa4"));
	assert_string_equal(crash, "");
	assert_int_equal(ram[0x200], 0x5c);
	regs[VREG_FS_LIMIT] = 0xff;
	g->rsi = 0x100;
	run_string(B("\x64\xa4"));
	assert_int_equal(injected, 1);
	assert_int_equal(inj_vector, 13);
	assert_int_equal(g->rsi, 0x100);
	regs[VREG_FS_BASE] = 0;

	/* real mode: ES's base (selector << 4) applies */
	set_mode(MODE_16);
	regs[VREG_CR0] = 0;
	regs[VREG_ES_BASE] = 0x1000, regs[VREG_ES_LIMIT] = 0xffff;
	g->rdi = 0x10, g->rax = 0x66;
	run_string(B("\xaa"));
	assert_string_equal(crash, "");
	assert_int_equal(ram[0x1010], 0x66);
	assert_int_equal(g->rdi, 0x11);
	regs[VREG_ES_BASE] = 0;
	regs[VREG_CS_BASE] = 0;
	regs[VREG_CR4] = 0;
}

/* INS/OUTS prefixes: address size, REP and the override the port I/O path needs. */
static void test_decode_string_io(void **state)
{
	struct insn in;

	assert_int_equal(insn_decode((const u8 *)"\x67\xf3\x64\x6e", 4, MODE_32, &in), 0);
	assert_int_equal(in.addr_size, 2);
	assert_true(in.rep);
	assert_int_equal(in.seg, SEG_FS);
	assert_int_equal(insn_decode((const u8 *)"\x67\x6d", 2, MODE_64, &in), 0);
	assert_int_equal(in.addr_size, 4);
	assert_false(in.rep);
	assert_int_equal(in.seg, SEG_NONE);
	assert_int_equal(insn_decode((const u8 *)"\x67\x6c", 2, MODE_16, &in), 0);
	assert_int_equal(in.addr_size, 4);
}

/* Segment to linear for string operands: bases, limits, canonical checks, #GP/#SS. */
static void test_seg_linear(void **state)
{
	u64 lin = 0;

	memset(regs, 0, sizeof(regs));
	injected = 0;
	regs[VREG_FS_BASE] = 0x10000;
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_DS, 0x1000, 4, &lin), 0);
	assert_int_equal(lin, 0x1000);
	regs[VREG_DS_BASE] = 0x5000; /* ignored in 64-bit code */
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_DS, 0x1000, 4, &lin), 0);
	assert_int_equal(lin, 0x1000);
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_FS, 0x1000, 4, &lin), 0);
	assert_int_equal(lin, 0x11000);
	/* Non-canonical, or running off the canonical half: #GP(0); through SS, #SS(0). */
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_ES, 0x0000800000000000ull, 1, &lin), 1);
	assert_int_equal(inj_vector, 13); /* #GP */
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_ES, 0x00007ffffffffffeull, 4, &lin), 1);
	assert_int_equal(emul_seg_linear(&vcpu, MODE_64, SEG_SS, 0x0000800000000000ull, 1, &lin), 1);
	assert_int_equal(inj_vector, 12); /* #SS */
	assert_int_equal(injected, 3);
	/* Outside 64-bit code: base + offset, wrapping at 4 GiB; the limit covers the last byte. */
	regs[VREG_DS_BASE] = 0x100;
	regs[VREG_DS_LIMIT] = 0xffff;
	assert_int_equal(emul_seg_linear(&vcpu, MODE_16, SEG_DS, 0xfffe, 2, &lin), 0);
	assert_int_equal(lin, 0x100 + 0xfffe);
	assert_int_equal(emul_seg_linear(&vcpu, MODE_16, SEG_DS, 0xffff, 2, &lin), 1);
	assert_int_equal(inj_vector, 13); /* #GP */
	regs[VREG_ES_BASE] = 0xfffff000;
	regs[VREG_ES_LIMIT] = 0xffffffff;
	assert_int_equal(emul_seg_linear(&vcpu, MODE_32, SEG_ES, 0x2000, 4, &lin), 0);
	assert_int_equal(lin, 0x1000);
	regs[VREG_SS_LIMIT] = 0xfff;
	assert_int_equal(emul_seg_linear(&vcpu, MODE_32, SEG_SS, 0x1000, 1, &lin), 1);
	assert_int_equal(inj_vector, 12); /* #SS */
	/* Address-size register updates: 16 merges, 32 zero-extends, 64 as is. */
	assert_int_equal(emul_addr_update(0x1234567812345678ull, 0x1234567812340000ull - 1, 2), 0x123456781234ffffull);
	assert_int_equal(emul_addr_update(0x1234567812345678ull, 0x1234567800000000ull - 1, 4), 0x00000000ffffffffull);
	assert_int_equal(emul_addr_update(1, 0xffffffffffffffffull, 8), 0xffffffffffffffffull);
}

/* --- string port I/O (vmm/exit_io.c) ----------------------------------------------------------- */

static unsigned port_n;
static u32 port_last;

/* A claimed port: reads give a counter, writes are remembered. */
static void fake_port(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	if (in)
		*val = (0x5a + port_n) & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
	else
		port_last = *val;
	port_n++;
}

static void string_io(const char *bytes, size_t n, u16 port, unsigned size, bool in, bool rep)
{
	struct vm_exit e = { .reason = EXIT_IO,
			     .io = { .port = port, .size = (u8)size, .in = in, .string = true, .rep = rep } };

	memcpy(ram, bytes, n);
	crash[0] = '\0';
	injected = 0;
	handle_io(&vcpu, &e);
}

static void test_string_io(void **state)
{
	static u8 map[VM_IO_PORTS];
	static hpa_t chunks[1];
	struct vcpu_gprs *g = &vcpu.gprs;

	fake_gpa_chunks(&vm, chunks, ram, sizeof(ram)); /* test_find clears vm */
	memset(regs, 0, sizeof(regs));
	memset(ram, 0, sizeof(ram));
	vm.io_map = map;
	vm.io[0].fn = fake_port;
	map[0x60] = 1;
	vm.state = VM_RUNNING;
	set_mode(MODE_64);
	regs[VREG_CR0] = 0; /* flat: linear = guest-physical */

	/* REP INSB of 5000 bytes: one page per exit, RIP stays until the count is done. */
	g->rdi = 0x1000, g->rcx = 5000, port_n = 0;
	string_io(B("\xf3\x6c"), 0x60, 1, true, true);
	assert_string_equal(crash, "");
	assert_int_equal(injected, 0);
	assert_int_equal(g->rcx, 5000 - 4096);
	assert_int_equal(g->rdi, 0x1000 + 4096);
	assert_int_equal(regs[VREG_RIP], 0);
	assert_int_equal(port_n, 4096);
	assert_int_equal(ram[0x1000], 0x5a);
	assert_int_equal(ram[0x1000 + 1], 0x5b);
	string_io(B("\xf3\x6c"), 0x60, 1, true, true);
	assert_int_equal(g->rcx, 0);
	assert_int_equal(g->rdi, 0x1000 + 5000);
	assert_int_equal(regs[VREG_RIP], 2);
	assert_int_equal(port_n, 5000);
	assert_int_equal(ram[0x1000 + 5000], 0);
	assert_int_equal(crash[0], '\0');

	/* A zero count does nothing but move RIP; without REP RCX is left alone. */
	regs[VREG_RIP] = 0, g->rcx = 0, port_n = 0;
	string_io(B("\xf3\x6c"), 0x60, 1, true, true);
	assert_int_equal(port_n, 0);
	assert_int_equal(regs[VREG_RIP], 2);
	regs[VREG_RIP] = 0, g->rcx = 7, g->rsi = 0x2000;
	ram[0x2000] = 0x99;
	memcpy(ram, "\x6e", 1);
	string_io(B("\x6e"), 0x60, 1, false, false);
	assert_int_equal(port_last, 0x99);
	assert_int_equal(g->rcx, 7);
	assert_int_equal(g->rsi, 0x2001);
	assert_int_equal(regs[VREG_RIP], 1);

	/* Unclaimed port: INSD stores all-ones; 67 makes the address size 32 bits (ECX, EDI). */
	regs[VREG_RIP] = 0, g->rdi = 0xabcd00003000ull, g->rcx = 0x100000002ull;
	string_io(B("\x67\xf3\x6d"), 0x1234, 4, true, true);
	assert_int_equal(g->rcx, 0);
	assert_int_equal(g->rdi, 0x3008);
	assert_int_equal(*(u32 *)&ram[0x3004], 0xffffffffu);
	assert_int_equal(regs[VREG_RIP], 3);

	/* 16-bit code, DF=1, REP OUTSW: SI wraps within the segment, the upper bits stay. */
	set_mode(MODE_16);
	regs[VREG_RIP] = 0, regs[VREG_RFLAGS] = RFLAGS_DF;
	regs[VREG_DS_BASE] = 0x4000, regs[VREG_DS_LIMIT] = 0xffff;
	g->rsi = 0x100000002ull, g->rcx = 0x700000003ull, port_n = 0;
	*(u16 *)&ram[0x4000 + 0xfffe] = 0x1234;
	string_io(B("\xf3\x6f"), 0x60, 2, false, true);
	assert_int_equal(g->rsi, 0x10000fffcull);
	assert_int_equal(g->rcx, 0x700000000ull);
	assert_int_equal(port_last, 0x1234);
	assert_int_equal(port_n, 3);
	assert_int_equal(regs[VREG_RIP], 2);

	/* An element past the limit: #GP(0), registers and RIP unmoved. */
	regs[VREG_RIP] = 0, regs[VREG_RFLAGS] = 0, regs[VREG_DS_LIMIT] = 0x0fff;
	g->rsi = 0x0fff, g->rcx = 2;
	string_io(B("\xf3\x6f"), 0x60, 2, false, true);
	assert_int_equal(injected, 1);
	assert_int_equal(inj_vector, 13);
	assert_int_equal(g->rsi, 0x0fff);
	assert_int_equal(g->rcx, 2);
	assert_int_equal(regs[VREG_RIP], 0);

	/* Bytes that are not the INS/OUTS that exited end the VM. */
	string_io(B("\x90"), 0x60, 1, true, false);
	assert_non_null(strstr(crash, "cannot decode"));
	vm.io_map = NULL;
}

/* --- accesses that wait for the device model (vmm/ioreq.c) -------------------------------------- */

static int wait_at = -1;
static bool serve_all;
static unsigned calls;

/* As dev(), but call number wait_at waits (ioreq_access marks the vCPU so); with serve_all every
 * access counts as one the device model served. */
static void waiting_dev(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	if ((int)calls++ == wait_at) {
		v->ioreq.waiting = true;
		v->ioreq.used++;
		if (!write)
			*val = ~0ull;
		return;
	}
	if (serve_all)
		v->ioreq.used++;
	dev(v, gpa, size, write, val);
}

static void test_wait_commits_nothing(void **state)
{
	static const struct {
		const char *bytes;
		unsigned len, calls;
	} forms[] = {
		{ "\x48\x03\x08", 3, 1 }, /* add rcx, [rax]: a read into a register */
		{ "\x8b\x08", 2, 1 },	  /* mov ecx, [rax] */
		{ "\x01\x08", 2, 2 },	  /* add [rax], ecx: read, then write */
		{ "\x87\x08", 2, 2 },	  /* xchg [rax], ecx */
		{ "\x0f\xab\x08", 3, 2 }, /* bts [rax], ecx */
	};
	const struct vm_mmio_handler h = { .base = 0xfee00000, .size = 0x1000, .fn = waiting_dev };

	regs[VREG_CR3] = 0x1000;
	set_mode(MODE_64);
	regs[VREG_CR0] = 0;
	for (unsigned f = 0; f < ARRAY_SIZE(forms); f++) {
		for (int w = 0; w < (int)forms[f].calls; w++) {
			struct vcpu_gprs before;

			vcpu.gprs.rcx = 0x0123456789abcdefull;
			vcpu.gprs.rax = 0xfee00030;
			regs[VREG_RFLAGS] = FL_1 | 0x8d5; /* every arithmetic flag set */
			before = vcpu.gprs;
			memcpy(ram, forms[f].bytes, forms[f].len);
			regs[VREG_RIP] = 0;
			crash[0] = '\0';
			calls = 0;
			wait_at = w;
			vcpu.ioreq = (struct vcpu_ioreq){ 0 };
			mmio_emulate(&vcpu, &h, 0xfee00030);
			/* The pass that waits changes no register, flag or RIP... */
			assert_string_equal(crash, "");
			assert_true(vcpu.ioreq.waiting);
			assert_memory_equal(&vcpu.gprs, &before, sizeof(before));
			assert_int_equal(regs[VREG_RFLAGS], FL_1 | 0x8d5);
			assert_int_equal(regs[VREG_RIP], 0);
			assert_int_equal(calls, w + 1); /* ...and calls the handler no more */
			/* The pass with every answer completes the instruction. */
			calls = 0;
			wait_at = -1;
			vcpu.ioreq = (struct vcpu_ioreq){ 0 };
			mmio_emulate(&vcpu, &h, 0xfee00030);
			assert_false(vcpu.ioreq.waiting);
			assert_int_equal(regs[VREG_RIP], forms[f].len);
			assert_int_equal(calls, forms[f].calls);
		}
	}
	/* rep movsd RAM -> MMIO, the second element waits: the first one's registers moved, the
	 * second's did not, RIP stays. */
	struct vcpu_gprs *g = &vcpu.gprs;
	const struct vm_mmio_handler hs = { .base = 0xfee00000, .size = 0x1000, .fn = waiting_dev };

	paging_setup();
	g->rsi = 0x400000, g->rdi = 0x401010, g->rcx = 3;
	memcpy(ram, "\xf3\xa5", 2);
	regs[VREG_RIP] = 0;
	calls = 0;
	wait_at = 1;
	vcpu.ioreq = (struct vcpu_ioreq){ 0 };
	mmio_emulate(&vcpu, &hs, 0xfee00010);
	assert_true(vcpu.ioreq.waiting);
	assert_int_equal(g->rsi, 0x400004);
	assert_int_equal(g->rdi, 0x401014);
	assert_int_equal(g->rcx, 2);
	assert_int_equal(regs[VREG_RIP], 0);
	/* Every element served by the device model: one element per pass, RIP stays until the last. */
	wait_at = -1;
	serve_all = true;
	for (unsigned left = 2; left; left--) {
		calls = 0;
		vcpu.ioreq = (struct vcpu_ioreq){ 0 };
		mmio_emulate(&vcpu, &hs, 0xfee00014);
		assert_int_equal(calls, 1);
		assert_int_equal(g->rcx, left - 1);
		assert_int_equal(regs[VREG_RIP], left == 1 ? 2 : 0);
	}
	serve_all = false;
	vcpu.ioreq = (struct vcpu_ioreq){ 0 };
}

/*
 * The A/D bits of an emulated access are set with a locked compare-exchange, as the CPU's walker
 * does: "Linux on another vCPU" (a thread) rewrites the leaf entry of the MMIO page again and
 * again, with A and D clear and a new value in its software-available bits 52-58 each time; it
 * checks before each rewrite that the entry holds what it last wrote, with at most A and D
 * added. A plain read-modify-write in Keel writes an older value back (seen by the thread).
 */
static volatile int flip_stop;
static volatile unsigned long flip_stale, flip_writes;

static void *flipper(void *arg)
{
	u64 *leaf = pte(0x4000 + 1 * 8), last = __atomic_load_n(leaf, __ATOMIC_SEQ_CST);

	(void)arg;
	for (u64 k = 1; !flip_stop; k++) {
		u64 cur = __atomic_load_n(leaf, __ATOMIC_SEQ_CST), next;

		if ((cur & ~(PTE_A | PTE_D)) != (last & ~(PTE_A | PTE_D)))
			flip_stale++;
		next = 0xfee00000 | PTE_P | PTE_RW | ((k & 0x7f) << 52);
		__atomic_store_n(leaf, next, __ATOMIC_SEQ_CST);
		last = next;
		flip_writes++;
	}
	return NULL;
}

static void test_ad_bits_atomic(void **state)
{
	pthread_t t;
	unsigned long done = 0, completed = 0;

	paging_setup();
	flip_stop = 0;
	flip_stale = flip_writes = 0;
	assert_int_equal(pthread_create(&t, NULL, flipper, NULL), 0);
	/* movsd RAM -> MMIO: Keel walks both operands' pages (a string op's addresses come from
	 * RSI and RDI, not the exit), setting A on the way and D on the flipped, written leaf. */
	for (; done < 1000000 && !flip_stale; done++) {
		vcpu.gprs.rsi = 0x400000;
		vcpu.gprs.rdi = 0x401030;
		run_string(B("\xa5"));
		assert_string_equal(crash, "");
		assert_int_equal(injected, 0);
		/* Done (RIP past it, the device written), or not started (the walk lost its race with
		 * the rewrites too often: the guest runs it again). */
		if (regs[VREG_RIP] == 1) {
			assert_int_equal(dev_n, 1);
			assert_int_equal(dev_log[0].gpa, 0xfee00030);
			completed++;
		} else {
			assert_int_equal(regs[VREG_RIP], 0);
			assert_int_equal(dev_n, 0);
			assert_int_equal(vcpu.gprs.rdi, 0x401030);
		}
	}
	flip_stop = 1;
	pthread_join(t, NULL);
	assert_true(flip_writes > 0);
	assert_true(completed > 0);
	if (getenv("KEEL_TEST_VERBOSE"))
		printf("%lu emulations (%lu completed), %lu rewrites, %lu stale\n", done, completed, flip_writes,
		       flip_stale);
	if (flip_stale)
		fail_msg("an A/D update wrote a stale entry back (%lu times in %lu emulations)", flip_stale, done);
}

static void test_find(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.mmio[0] = region;
	vm.nr_mmio = 1;
	assert_ptr_equal(mmio_find(&vm, 0xfee00000), &vm.mmio[0]);
	assert_ptr_equal(mmio_find(&vm, 0xfee00fff), &vm.mmio[0]);
	assert_null(mmio_find(&vm, 0xfee01000));
	assert_null(mmio_find(&vm, 0xfedfffff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),	 cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_emulate),		 cmocka_unit_test(test_emulate_table),
		cmocka_unit_test(test_emulate_faults),	 cmocka_unit_test(test_alu_vs_host),
		cmocka_unit_test(test_string),		 cmocka_unit_test(test_find),
		cmocka_unit_test(test_decode_string_io), cmocka_unit_test(test_seg_linear),
		cmocka_unit_test(test_string_io),	 cmocka_unit_test(test_wait_commits_nothing),
		cmocka_unit_test(test_ad_bits_atomic),
	};

	static hpa_t chunks[1];

	fake_gpa_chunks(&vm, chunks, ram, sizeof(ram));
	return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}
