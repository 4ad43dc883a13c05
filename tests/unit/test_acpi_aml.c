/* SPDX-License-Identifier: MIT */
/*
 * acpi_aml_find_s5(): the \_S5_ encodings firmware uses, malformed packages, and every truncation
 * of each valid one (each run on a heap copy of exactly that many bytes, so ASan catches any read
 * past the end).
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "acpi_fake.h"
#include "kernel/log.h"

int acpi_aml_tests(void);

#define NAME 0x08, '_', 'S', '5', '_'
#define PKG  0x12

struct aml_case {
	const char *what;
	u8 aml[24];
	size_t len;
	int ret;
	u8 a, b;
};

#define CASE(w, r, va, vb, ...)                                                                                     \
	{                                                                                                           \
		.what = w, .aml = { __VA_ARGS__ }, .len = sizeof((u8[]){ __VA_ARGS__ }), .ret = r, .a = va, .b = vb \
	}

static const struct aml_case cases[] = {
	CASE("QEMU: four ZeroOps", 0, 0, 0, NAME, PKG, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00),
	CASE("ByteConst", 0, 5, 7, 0x10, NAME, PKG, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x07, 0x00, 0x00),
	CASE("root prefix, OneOps", 0, 1, 1, 0x08, 0x5c, '_', 'S', '5', '_', PKG, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00),
	CASE("WordConst and DWordConst", 0, 6, 3, NAME, PKG, 0x0a, 0x02, 0x0b, 0x06, 0x00, 0x0c, 0x03, 0x00, 0x00,
	     0x00),
	CASE("bare bytes", 0, 5, 5, NAME, PKG, 0x04, 0x02, 0x05, 0x05),
	CASE("two-byte PkgLength", 0, 5, 7, NAME, PKG, 0x4a, 0x00, 0x02, 0x0a, 0x05, 0x0a, 0x07, 0x00, 0x00, 0x00),
	CASE("reference, then the definition", 0, 2, 0, 0x70, '_', 'S', '5', '_', PKG, 0x00, NAME, PKG, 0x05, 0x02,
	     0x0a, 0x02, 0x00),
	CASE("OnesOp", -EINVAL, 0, 0, NAME, PKG, 0x05, 0x02, 0xff, 0x00),
	CASE("SLP_TYP out of range", -ERANGE, 0, 0, NAME, PKG, 0x05, 0x02, 0x0a, 0x08, 0x00),
	CASE("one element", -EINVAL, 0, 0, NAME, PKG, 0x03, 0x01, 0x00),
	CASE("PkgLength reserved bits", -EINVAL, 0, 0, NAME, PKG, 0x7a, 0x00, 0x02, 0x00, 0x00),
	CASE("PkgLength past the end", -EINVAL, 0, 0, NAME, PKG, 0xcf, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00),
	CASE("PkgLength zero", -EINVAL, 0, 0, NAME, PKG, 0x00, 0x02, 0x00, 0x00),
	CASE("elements past the package", -EINVAL, 0, 0, NAME, PKG, 0x04, 0x02, 0x0a, 0x05, 0x0a, 0x07),
	CASE("ByteConst cut by the package", -EINVAL, 0, 0, NAME, PKG, 0x04, 0x02, 0x00, 0x0a, 0x05),
	CASE("name without a package", -ENOENT, 0, 0, NAME, 0x0a, 0x05),
	CASE("name at the very end", -ENOENT, 0, 0, NAME),
	CASE("no NameOp", -ENOENT, 0, 0, '_', 'S', '5', '_', PKG, 0x04, 0x02, 0x00, 0x00),
};

static int run(const u8 *aml, size_t len, u8 *a, u8 *b)
{
	u8 *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, aml, len);
	r = acpi_aml_find_s5(copy, len, a, b);
	free(copy);
	return r;
}

static void test_s5_cases(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct aml_case *c = &cases[i];
		u8 a = 0xee, b = 0xee;
		int r;

		shim_log_reset();
		r = run(c->aml, c->len, &a, &b);
		if (r != c->ret)
			fail_msg("%s: got %d, want %d", c->what, r, c->ret);
		if (r == 0) {
			assert_int_equal(a, c->a);
			assert_int_equal(b, c->b);
		} else {
			/* Failures leave the outputs alone; malformed packages are reported. */
			assert_int_equal(a, 0xee);
			assert_int_equal(b, 0xee);
			assert_int_equal(shim_log_count[LOG_WARN], r != -ENOENT);
		}
	}
	assert_int_equal(acpi_aml_find_s5(NULL, 0, &(u8){ 0 }, &(u8){ 0 }), -ENOENT);
}

/* Every proper prefix of a valid encoding fails cleanly. */
static void test_s5_truncations(void **state)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct aml_case *c = &cases[i];
		u8 a, b;

		if (c->ret != 0)
			continue;
		for (n = 0; n < c->len; n++) {
			if (run(c->aml, n, &a, &b) == 0)
				fail_msg("%s: accepted when cut to %zu of %zu bytes", c->what, n, c->len);
		}
	}
}

int acpi_aml_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s5_cases),
		cmocka_unit_test(test_s5_truncations),
	};

	return cmocka_run_group_tests_name("acpi: \\_S5_ decoding", tests, NULL, NULL);
}
