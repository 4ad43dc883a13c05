/* SPDX-License-Identifier: MIT */
/* MMIO instruction decoding (a table of encodings in 16/32/64-bit code) and emulation against a
 * device handler, on a fake vCPU. */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/regs.h"
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
	/* In 32-bit code 0x48 is DEC, not REX. */
	{ B("\x48\x89\x08"), MODE_32, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	/* Register operands, other instructions, truncation, 15+ bytes of prefixes, /1 of C7. */
	{ B("\x89\xc8"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
	{ B("\x01\x08"), MODE_64, -EINVAL, INSN_STORE, 0, 0, 0, 0, false, 0 },
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

static u8 code[64];
static u64 regs[VREG_CS_ATTR + 1];
static u64 dev_reg = 0x1122334455667788ull, last_write, last_gpa;
static unsigned last_size;

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	if (gpa >= sizeof(code) || len > sizeof(code) - gpa)
		return -EFAULT;
	memcpy(buf, code + gpa, len);
	return 0;
}

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	return regs[r];
}

static void fake_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	regs[r] = val;
}

static const struct vcpu_ops fake_ops = { .name = "fake", .get = fake_get, .set = fake_set };
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
		*val = dev_reg;
}

static struct vm vm;
static struct vcpu vcpu = { .vm = &vm };
static const struct vm_mmio_handler region = { .base = 0xfee00000, .size = 0x1000, .fn = dev };

static void run(const char *bytes, size_t n)
{
	memcpy(code, bytes, n);
	regs[VREG_RIP] = 0;
	crash[0] = '\0';
	mmio_emulate(&vcpu, &region, 0xfee00030);
}

static void test_emulate(void **state)
{
	regs[VREG_EFER] = EFER_LMA;
	regs[VREG_CS_ATTR] = CS_ATTR_L;

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
	memcpy(code, "\x48\x89\x08", 3);
	regs[VREG_RIP] = 0;
	mmio_emulate(&vcpu, &region, 0xfee00ffc);
	assert_non_null(strstr(crash, "runs past its region"));
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
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_emulate),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}
