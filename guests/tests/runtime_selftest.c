// SPDX-License-Identifier: MIT
/*
 * The runtime itself: printf formatting, command-line parsing and, with `crash=1` on the command
 * line, the report for an exception nobody expected (status GUEST_FAIL_EXCEPTION).
 * Bare QEMU: PASSES (and with crash=1 ends with "unexpected exception #UD", exit code 5).
 */
#include "guest.h"

GUEST_TEST("runtime_selftest");

static void expect_format(const char *want, const char *fmt, ...) __printf(2, 3);

static void expect_format(const char *want, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	CHECK(!strncmp(buf, want, sizeof(buf)) && n == (int)strlen(want),
	      "format \"%s\" gave \"%s\" (%d), expected \"%s\"", fmt, buf, n, want);
}

void test_main(void)
{
	expect_format("-42 42 2a 2A", "%d %u %x %X", -42, 42u, 42u, 42u);
	expect_format("[0000beef] [   7] [7   ] [-0007]", "[%08x] [%4d] [%-4d] [%05d]", 0xbeefu, 7, 7, -7);
	expect_format("18446744073709551615 ffffffffffffffff", "%llu %llx", ~0ull, ~0ull);
	expect_format("-9223372036854775808", "%lld", (long long)(1ull << 63));
	expect_format("[ab ] [  ab] c %", "[%-3s] [%4s] %c %%", "ab", "ab", 'c');
	expect_format("0x1000", "%p", (void *)0x1000);
	expect_format("4294967295 -1", "%lu %ld", (unsigned long)0xffffffffu, -1l);
	char small[4];
	int n = snprintf(small, sizeof(small), "%s", "truncated");
	CHECK(n == 9 && !strncmp(small, "tru", 4), "snprintf into 4 bytes gave \"%s\" (%d)", small, n);

	CHECK(cmdline_ulong("no_such_key", 77) == 77, "cmdline_ulong default");
	unsigned long dec = cmdline_ulong("dec", 0), hex = cmdline_ulong("hex", 0);
	printf("cmdline dec=%lu hex=0x%lx\n", dec, hex);
	if (cmdline_ulong("crash", 0)) {
		printf("executing ud2 with no exception expected\n");
		__asm__ volatile("ud2");
		fail_now(GUEST_FAIL_SURVIVED, "ud2 returned");
	}
}
