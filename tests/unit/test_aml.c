/* SPDX-License-Identifier: MIT */
/*
 * The AML emitter (vmm/aml.c) against the encodings of ACPI 6.4 chapter 20 and §6.4, byte for
 * byte: PkgLength at each size boundary, NameStrings, integers, EISA IDs, resource descriptors
 * with their End Tag checksum, nesting and running out of room (on exactly sized heap buffers,
 * so ASan sees any write past the end), and measuring (no buffer) giving the same length.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "vmm/aml.h"

static u8 out[1u << 21];

#define EXPECT(a, ...)                                               \
	do {                                                         \
		static const u8 want_[] = { __VA_ARGS__ };           \
		assert_int_equal(aml_finish(a), sizeof(want_));      \
		assert_memory_equal((a)->buf, want_, sizeof(want_)); \
	} while (0)

static void test_integers(void **state)
{
	static const struct {
		u64 v;
		u8 bytes[9];
		unsigned n;
	} cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 1, { 0x01 }, 1 },
		{ 2, { 0x0a, 0x02 }, 2 },
		{ 0xff, { 0x0a, 0xff }, 2 },
		{ 0x100, { 0x0b, 0x00, 0x01 }, 3 },
		{ 0xffff, { 0x0b, 0xff, 0xff }, 3 },
		{ 0x10000, { 0x0c, 0x00, 0x00, 0x01, 0x00 }, 5 },
		{ 0xffffffff, { 0x0c, 0xff, 0xff, 0xff, 0xff }, 5 },
		{ 0x100000000ull, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 }, 9 },
		{ ~0ull, { 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
	};
	struct aml a;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		aml_init(&a, out, sizeof(out));
		aml_integer(&a, cases[i].v);
		assert_int_equal(aml_finish(&a), cases[i].n);
		assert_memory_equal(out, cases[i].bytes, cases[i].n);
	}
}

static void test_names(void **state)
{
	static const char *const bad[] = { "1ABC", "ABCDE", "A..B", "a", "A.", ".A", "\\\\A", "^\\A", "AB-C" };
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "\\_SB.PCI0");
	EXPECT(&a, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "A.B1.C");
	EXPECT(&a, 0x2f, 3, 'A', '_', '_', '_', 'B', '1', '_', '_', 'C', '_', '_', '_');
	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "^^_S5");
	EXPECT(&a, '^', '^', '_', 'S', '5', '_');
	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "\\");
	EXPECT(&a, '\\', 0x00);
	aml_init(&a, out, sizeof(out));
	aml_name_int(&a, "_UID", 7);
	EXPECT(&a, 0x08, '_', 'U', 'I', 'D', 0x0a, 0x07);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a, out, sizeof(out));
		aml_namestring(&a, bad[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
	}
}

static void test_eisaid(void **state)
{
	static const char *const bad[] = { "pnp0A03", "PNP0a03", "PNP0A0", "PNP0A033", "P1P0A03", "PNP0G03" };
	struct aml a;

	/* ACPI 6.4 §19.6.35 example values; the compressed ID is stored most significant byte first. */
	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "PNP0A03");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "PNP0C0F");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x0c, 0x0f);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a, out, sizeof(out));
		aml_eisaid(&a, bad[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
	}
}

/* PkgLength (§20.2.4) decoded independently: returns its value and sets *n to its size. */
static u32 pkglen(const u8 *p, unsigned *n)
{
	unsigned follow = p[0] >> 6;
	u32 v = follow ? p[0] & 0xf : p[0] & 0x3f;

	if (follow)
		assert_int_equal(p[0] & 0x30, 0);
	for (unsigned i = 0; i < follow; i++)
		v |= (u32)p[1 + i] << (4 + 8 * i);
	*n = 1 + follow;
	return v;
}

/* Scope (X) { body bytes }: PkgLength covers itself, the name and the bytes; its size switches at
 * totals of 64, 4096 and 1 MiB. A measuring run gives the same length. */
static void test_pkglength_boundaries(void **state)
{
	static const struct {
		u32 body;
		unsigned n;
	} cases[] = { { 61, 1 },
		      { 62, 1 },
		      { 63, 2 },
		      { 4093, 2 },
		      { 4094, 3 },
		      { (1u << 20) - 4, 3 },
		      { (1u << 20) - 3, 4 },
		      { (1u << 21) - 16, 4 } };
	struct aml a, m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		u32 body = cases[i].body, val;
		unsigned n;

		aml_init(&a, out, sizeof(out));
		aml_init(&m, NULL, 0);
		aml_scope(&a, "X");
		aml_scope(&m, "X");
		for (u32 k = 0; k < body - 4; k++) {
			aml_bytes(&a, &(u8){ (u8)k }, 1);
			aml_bytes(&m, &(u8){ (u8)k }, 1);
		}
		aml_close(&a);
		aml_close(&m);
		assert_int_equal(aml_finish(&a), aml_finish(&m));
		val = pkglen(out + 1, &n);
		assert_int_equal(n, cases[i].n);
		assert_int_equal(val, body + n);
		assert_int_equal(aml_finish(&a), 1 + val);
		/* The name and the bytes moved intact behind the PkgLength. */
		assert_memory_equal(out + 1 + n, "X___", 4);
		for (u32 k = 0; k < body - 4; k++)
			assert_int_equal(out[5 + n + k], (u8)k);
	}
}

/* A Buffer's size field counts the bytes after it. */
static void test_buffer(void **state)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_buffer(&a);
	aml_bytes(&a, "\x01\x02\x03", 3);
	aml_close(&a);
	EXPECT(&a, 0x11, 0x07, 0x0b, 0x03, 0x00, 0x01, 0x02, 0x03);
	aml_init(&a, out, sizeof(out));
	aml_buffer(&a);
	for (u32 k = 0; k < 0x10000; k++)
		aml_bytes(&a, "", 1);
	aml_close(&a);
	assert_int_equal(aml_finish(&a), -EINVAL); /* more than a WordConst can say */
}

static void test_nesting(void **state)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_scope(&a, "\\_SB");
	aml_device(&a, "DEV");
	aml_package(&a, 2);
	aml_integer(&a, 0);
	aml_integer(&a, 0x1234);
	aml_close(&a);
	aml_close(&a);
	aml_close(&a);
	EXPECT(&a, 0x10, 0x14, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 0x0c, 'D', 'E', 'V', '_', 0x12, 0x06, 0x02, 0x00,
	       0x0b, 0x34, 0x12);
	/* Unbalanced, too deep. */
	aml_init(&a, out, sizeof(out));
	aml_close(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_package(&a, 0);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	for (unsigned i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package(&a, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
}

static void test_resources(void **state)
{
	struct aml a;
	u32 start;
	u8 sum = 0;
	int n;

	aml_init(&a, out, sizeof(out));
	start = a.len;
	aml_res_word_bus(&a, 0, 0xff);
	aml_res_io(&a, 0xcf8, 8);
	aml_res_word_io(&a, 0xc000, 0xffff);
	aml_res_dword_mem(&a, 0xc0000000, 0xfebfffff, AML_MEM_UNCACHED);
	aml_res_qword_mem(&a, 0x100000000ull, 0x8ffffffffull, AML_MEM_CACHEABLE);
	aml_res_end(&a, start);
	n = aml_finish(&a);
	/* Bytes as iasl assembles these macros (ACPI 6.4 §6.4.3.5, §6.4.2.5, §6.4.2.9). */
	static const u8 want[] = {
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00,
		0x00, 0xc0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xc0, 0x3e, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0,    0,    0,	  0,	0,    0,    0,	  0,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x08, 0x00, 0x00, 0x00,
		0,    0,    0,	  0,	0,    0,    0,	  0,	0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
	};
	assert_int_equal(n, sizeof(want) + 2);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(out[sizeof(want)], 0x79);
	for (int i = 0; i < n; i++)
		sum = (u8)(sum + out[i]);
	assert_int_equal(sum, 0);
	aml_init(&a, out, sizeof(out));
	aml_res_end(&a, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
}

/* Every buffer size short of what a DSDT-like object needs fails cleanly, never past the end. */
static void test_enospc(void **state)
{
	struct aml a;
	int full;

	for (u32 cap = 0;; cap++) {
		u8 *b = malloc(cap ? cap : 1);
		int r;

		aml_init(&a, b, cap);
		aml_scope(&a, "\\_SB");
		aml_device(&a, "PCI0");
		aml_name(&a, "_HID");
		aml_eisaid(&a, "PNP0A08");
		aml_name(&a, "_CRS");
		aml_buffer(&a);
		aml_res_end(&a, a.len);
		aml_close(&a);
		aml_close(&a);
		aml_close(&a);
		r = aml_finish(&a);
		free(b);
		if (r > 0) {
			full = r;
			break;
		}
		assert_int_equal(r, -ENOSPC);
	}
	/* Open PkgLengths need up to 3 spare bytes each while the object is written. */
	assert_true(full >= 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers), cmocka_unit_test(test_names),
		cmocka_unit_test(test_eisaid),	 cmocka_unit_test(test_pkglength_boundaries),
		cmocka_unit_test(test_nesting),	 cmocka_unit_test(test_resources),
		cmocka_unit_test(test_enospc),	 cmocka_unit_test(test_buffer),
	};

	return cmocka_run_group_tests_name("AML emitter", tests, NULL, NULL);
}
