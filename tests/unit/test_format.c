/* SPDX-License-Identifier: MIT */
/* kvsnprintf/ksnprintf against the host C library's snprintf, which is the specification. */
#include "shim.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernel/lib/format.h"

/*
 * The tables below hold odd-but-valid formats (flags the standard says are ignored, empty
 * formats) and, in test_keel_specific, invalid ones on purpose: the compiler's format checks
 * would reject them, so they are off for this file.
 */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-overflow"

#define CANARY	0x5a
#define BUF_MAX 600

static unsigned long cases;

/* Every size from 0 to just past the full length: same return value, same bytes, no overrun. */
static void check_all_sizes(const char *ref, int ref_len, const char *fmt, va_list ap)
{
	char buf[BUF_MAX + 16];

	for (size_t size = 0; size <= (size_t)ref_len + 2 && size <= BUF_MAX; size++) {
		va_list aq;
		int n;

		memset(buf, CANARY, sizeof(buf));
		va_copy(aq, ap);
		n = kvsnprintf(size ? buf : NULL, size, fmt, aq);
		va_end(aq);
		if (n != ref_len)
			fail_msg("fmt \"%s\" size %zu: returned %d, libc %d", fmt, size, n, ref_len);
		if (size) {
			size_t keep = MIN((size_t)ref_len, size - 1);

			if (memcmp(buf, ref, keep) != 0 || buf[keep] != '\0')
				fail_msg("fmt \"%s\" size %zu: got \"%.*s\", libc \"%.*s\"", fmt, size, (int)keep, buf,
					 (int)keep, ref);
		}
		for (size_t i = size; i < sizeof(buf); i++)
			if ((unsigned char)buf[i] != CANARY)
				fail_msg("fmt \"%s\" size %zu: wrote byte %zu", fmt, size, i);
		cases++;
	}
}

/* Compares with vsnprintf; all sizes when `sizes`, otherwise the full size and half of it. */
static void __attribute__((format(printf, 2, 3))) compare(bool sizes, const char *fmt, ...)
{
	char ref[BUF_MAX], buf[BUF_MAX];
	va_list ap, aq;
	int ref_len, n;

	va_start(ap, fmt);
	va_copy(aq, ap);
	ref_len = vsnprintf(ref, sizeof(ref), fmt, aq);
	va_end(aq);
	assert_true(ref_len >= 0 && ref_len < BUF_MAX);
	if (sizes) {
		check_all_sizes(ref, ref_len, fmt, ap);
	} else {
		size_t half = (size_t)ref_len / 2 + 1;

		va_copy(aq, ap);
		n = kvsnprintf(buf, sizeof(buf), fmt, aq);
		va_end(aq);
		if (n != ref_len || strcmp(buf, ref) != 0)
			fail_msg("fmt \"%s\": got %d \"%s\", libc %d \"%s\"", fmt, n, buf, ref_len, ref);
		va_copy(aq, ap);
		n = kvsnprintf(buf, half, fmt, aq);
		va_end(aq);
		if (n != ref_len || strncmp(buf, ref, half - 1) != 0 || buf[half - 1] != '\0')
			fail_msg("fmt \"%s\" truncated to %zu: got \"%s\"", fmt, half, buf);
		cases += 2;
	}
	va_end(ap);
}

#define CHECK(...) compare(true, __VA_ARGS__)

static void test_literal_table(void **state)
{
	static const char big[] = "The quick brown fox jumps over the lazy dog, twice over again.";
	const char unterminated[3] = { 'a', 'b', 'c' };

	CHECK("");
	CHECK("plain text");
	CHECK("%%");
	CHECK("100%% sure %d%%", 5);
	CHECK("%d", 0);
	CHECK("%d %d %d", 1, -1, 42);
	CHECK("%i", INT_MIN);
	CHECK("%d", INT_MAX);
	CHECK("%lld", (long long)INT64_MIN);
	CHECK("%lld", (long long)INT64_MAX);
	CHECK("%ld", (long)INT64_MIN);
	CHECK("%jd", (intmax_t)INT64_MIN);
	CHECK("%llu", (unsigned long long)UINT64_MAX);
	CHECK("%llx", (unsigned long long)UINT64_MAX);
	CHECK("%#llo", (unsigned long long)UINT64_MAX);
	CHECK("%lu %lx %lX", 123456789UL, 0xdeadbeefUL, 0xcafebabeUL);
	CHECK("%zu %zx %zd", (size_t)4096, (size_t)0x1000, (long)-5);
	CHECK("%td %tx", (ptrdiff_t)-77, (ptrdiff_t)0x77);
	CHECK("%hhd %hhu %hhx", 200, 300, 0x1ff);
	CHECK("%hd %hu %hx", 40000, 70000, 0x12345);
	CHECK("%5d|%-5d|%05d|%+d|% d|%+5d|%-+5d|% 05d", 42, 42, 42, 42, 42, 42, 42, 42);
	CHECK("%05d|%-05d|%+05d|% 5d", -42, -42, -42, -42);
	CHECK("%.0d|%.0x|%.0o|%#.0o|%#.0x|%5.0d|", 0, 0, 0, 0, 0, 0);
	CHECK("%.5d|%8.5d|%-8.5d|%08.5d|%.5x|%#.5x|%#.5o", 42, -42, 42, 42, 0xab, 0xab, 8);
	CHECK("%#x %#X %#o %#o %#x", 255, 255, 8, 0, 0);
	CHECK("%#010x|%#-10x|%#10X", 0x1f, 0x1f, 0x1f);
	CHECK("%020llu|%-20lld|%+.3lld", 12345ULL, -12345LL, 7LL);
	CHECK("%*d|%-*d|%*d", 6, 1, 6, 2, -6, 3);
	CHECK("%.*d|%.*d|%*.*d", 4, 5, -1, 6, 8, 3, 7);
	CHECK("%.*s|%.*s", 2, "hello", -3, "world");
	CHECK("%s", "");
	CHECK("%s|%10s|%-10s|%.2s|%10.3s|%-10.3s|", "abc", "abc", "abc", "abc", "abcdef", "abcdef");
	CHECK("%s", big);
	CHECK("%.60s|%70s", big, big);
	CHECK("%.3s", unterminated);
	CHECK("%c%c%c", 'a', 'b', 'c');
	CHECK("%3c|%-3c|", 'x', 'y');
	CHECK("[%c]", 0);
	CHECK("%c", 0xe9);
	CHECK("%s=%d (%#x) %s", "irq", 11, 11, "ok");
	CHECK("%u%%%s%c%d", 1U, "two", '3', 4);
	CHECK("%300d|%-250u|", 7, 9U);
	CHECK("%d %s %d", 1, "mid", 2);
}

/* One value through one integer format, passed as the type its length modifier expects. */
static void compare_int(const char *fmt, const char *len, bool sgn, s64 x)
{
	if (!strcmp(len, "") || !strcmp(len, "hh") || !strcmp(len, "h")) {
		if (sgn)
			compare(false, fmt, (int)x);
		else
			compare(false, fmt, (unsigned int)x);
	} else if (!strcmp(len, "t")) {
		compare(false, fmt, (ptrdiff_t)x);
	} else if (sgn) {
		compare(false, fmt, (long long)x); /* l, ll, z, j: all 64 bits here */
	} else {
		compare(false, fmt, (unsigned long long)x);
	}
}

/* Every combination of flags, width, precision, length modifier and conversion. */
static void test_integer_combinations(void **state)
{
	static const char flagchars[] = "-0+ #";
	static const char *const widths[] = { "", "1", "6", "23" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".4", ".25" };
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z", "t", "j" };
	static const char convs[] = "diuxXo";
	static const s64 values[] = {
		0,
		1,
		-1,
		7,
		8,
		42,
		127,
		128,
		255,
		256,
		-128,
		-129,
		32767,
		-32768,
		65535,
		65536,
		INT32_MAX,
		INT32_MIN,
		(s64)UINT32_MAX,
		0x123456789abcdefLL,
		INT64_MAX,
		INT64_MIN,
		(s64)UINT64_MAX - 1,
	};
	char fmt[64];

	for (unsigned int fl = 0; fl < 1u << (sizeof(flagchars) - 1); fl++) {
		char flags[8];
		size_t nf = 0;

		for (size_t f = 0; flagchars[f]; f++)
			if (fl & (1u << f))
				flags[nf++] = flagchars[f];
		flags[nf] = '\0';
		const size_t nw = ARRAY_SIZE(widths), np = ARRAY_SIZE(precs);

		for (size_t i = 0; i < nw * np * ARRAY_SIZE(lens); i++) {
			const char *w = widths[i % nw], *p = precs[i / nw % np];
			const char *l = lens[i / nw / np];

			for (size_t c = 0; convs[c]; c++) {
				snprintf(fmt, sizeof(fmt), "<%%%s%s%s%s%c>", flags, w, p, l, convs[c]);
				for (size_t v = 0; v < ARRAY_SIZE(values); v++)
					compare_int(fmt, l, convs[c] == 'd' || convs[c] == 'i', values[v]);
			}
		}
	}
}

static void test_string_char_combinations(void **state)
{
	static const char *const strs[] = { "", "a", "hello", "a longer string of text" };
	static const char *const specs[] = { "%s",   "%-s",  "%1s",  "%7s",   "%-7s",	"%30s", "%-30s",
					     "%.0s", "%.1s", "%.4s", "%7.2s", "%-7.2s", "%.40s" };
	static const char *const cspecs[] = { "%c", "%1c", "%4c", "%-4c" };

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		for (size_t s = 0; s < ARRAY_SIZE(strs); s++)
			compare(true, specs[i], strs[s]);
	for (size_t i = 0; i < ARRAY_SIZE(cspecs); i++)
		for (int ch = 1; ch < 256; ch += 37)
			compare(true, cspecs[i], ch);
}

/* The parts where Keel deliberately differs from glibc or glibc has no answer. */
static void test_keel_specific(void **state)
{
	char buf[64];
	int n;

	n = ksnprintf(buf, sizeof(buf), "%p", (void *)0);
	assert_int_equal(n, 18);
	assert_string_equal(buf, "0x0000000000000000");
	n = ksnprintf(buf, sizeof(buf), "%p", (void *)0xffff800000001000ULL);
	assert_string_equal(buf, "0xffff800000001000");
	ksnprintf(buf, sizeof(buf), "[%20p]", (void *)0x1234);
	assert_string_equal(buf, "[  0x0000000000001234]");
	ksnprintf(buf, sizeof(buf), "[%-20p]", (void *)0x1234);
	assert_string_equal(buf, "[0x0000000000001234  ]");
	ksnprintf(buf, sizeof(buf), "[%5p]", (void *)0xab);
	assert_string_equal(buf, "[0x00000000000000ab]");
	n = ksnprintf(buf, 5, "%p", (void *)0x1);
	assert_int_equal(n, 18);
	assert_string_equal(buf, "0x00");

	ksnprintf(buf, sizeof(buf), "%s|%.2s|%8s", (char *)NULL, (char *)NULL, (char *)NULL);
	assert_string_equal(buf, "(null)|(n|  (null)");

	/* No %n, no floating point: the directive is shown and no argument is consumed. */
	n = ksnprintf(buf, sizeof(buf), "a%nb%fc%d", 5);
	assert_string_equal(buf, "a%nb%fc5");
	assert_int_equal(n, 8);
	ksnprintf(buf, sizeof(buf), "%-5y|%");
	assert_string_equal(buf, "%-5y|%");
	ksnprintf(buf, sizeof(buf), "end%");
	assert_string_equal(buf, "end%");

	/* Size 0 with a NULL buffer only counts. */
	assert_int_equal(ksnprintf(NULL, 0, "%d-%s", 12345, "abc"), 9);
	/* Enormous widths: counted without being written or looped over byte by byte. */
	n = ksnprintf(buf, sizeof(buf), "%100000000d", 1);
	assert_int_equal(n, 100000000);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	n = ksnprintf(buf, sizeof(buf), "%*d", INT_MIN, 1);
	assert_true(n > 1000);
	assert_int_equal(buf[0], '1');
	n = ksnprintf(buf, sizeof(buf), "%99999999999999999999d", 1);
	assert_true(n > 1000);
	n = ksnprintf(buf, sizeof(buf), "%.99999999999999999999d", 1);
	assert_true(n > 1000);
	assert_int_equal(buf[0], '0');
}

static int report(void **state)
{
	printf("format: %lu comparisons with the host snprintf\n", cases);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_table),
		cmocka_unit_test(test_integer_combinations),
		cmocka_unit_test(test_string_char_combinations),
		cmocka_unit_test(test_keel_specific),
	};

	return cmocka_run_group_tests_name("format", tests, NULL, report);
}
