/* SPDX-License-Identifier: MIT */
/* cmdline_parse(): every option type, every reported problem, quoting and hostile input. */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cmdline.h"
#include "kernel/log.h"

static bool opt_debug, opt_serial, opt_noreboot;
static u64 opt_baud, opt_port, opt_mem;
static char opt_name[16];
static int opt_level;

static const char *const levels[] = { "err", "warn", "info", "debug", NULL };

static const struct cmdline_option opts[] = {
	{ .name = "debug", .type = CMDLINE_BOOL, .value = &opt_debug },
	{ .name = "serial", .type = CMDLINE_BOOL, .value = &opt_serial },
	/* A real option whose name starts with "no-" wins over the negated form of "reboot". */
	{ .name = "no-reboot", .type = CMDLINE_BOOL, .value = &opt_noreboot },
	{ .name = "baud", .type = CMDLINE_UINT, .value = &opt_baud, .min = 50, .max = 4000000 },
	{ .name = "port", .type = CMDLINE_UINT, .value = &opt_port, .min = 0, .max = 0xffff },
	{ .name = "mem", .type = CMDLINE_SIZE, .value = &opt_mem, .min = MiB(16), .max = UINT64_MAX },
	{ .name = "name", .type = CMDLINE_STR, .value = opt_name, .len = sizeof(opt_name) },
	{ .name = "loglevel", .type = CMDLINE_ENUM, .value = &opt_level, .choices = levels },
};

static int reset(void **state)
{
	opt_debug = false;
	opt_serial = true;
	opt_noreboot = false;
	opt_baud = 115200;
	opt_port = 0x3f8;
	opt_mem = MiB(64);
	strcpy(opt_name, "keel");
	opt_level = 2;
	shim_log_reset();
	return 0;
}

static int parse(const char *line)
{
	int n = cmdline_parse(line, opts, ARRAY_SIZE(opts));

	/* Every problem counted is one warning, and nothing else is logged. */
	assert_int_equal(n, shim_log_count[LOG_WARN]);
	assert_int_equal(shim_log_count[LOG_ERR] + shim_log_count[LOG_INFO], 0);
	return n;
}

/* Parses a line that must be accepted without a warning. */
static void ok(const char *line)
{
	shim_log_reset();
	if (parse(line) != 0)
		fail_msg("\"%s\" was rejected: %s", line, shim_log);
}

/* Parses a line that must give exactly one warning containing each of the given words. */
static void bad(const char *line, const char *w1, const char *w2)
{
	shim_log_reset();
	if (parse(line) != 1)
		fail_msg("\"%s\": expected one problem, log: %s", line, shim_log);
	if (!shim_log_contains(w1) || (w2 && !shim_log_contains(w2)))
		fail_msg("\"%s\": warning lacks '%s'/'%s': %s", line, w1, w2 ? w2 : "", shim_log);
}

static void test_empty(void **state)
{
	assert_int_equal(cmdline_parse(NULL, opts, ARRAY_SIZE(opts)), 0);
	ok("");
	ok("   ");
	ok("\t \t  ");
	ok("\"\"");
	ok(" \"\"  \"\" ");
	ok("\r\n");
	assert_int_equal(cmdline_parse("anything at all", opts, 0), 3);
	assert_int_equal(opt_baud, 115200);
	assert_string_equal(opt_name, "keel");
}

static void test_bool(void **state)
{
	static const char *const on[] = { "1", "on", "yes", "true", "ON", "Yes", "TRUE" };
	static const char *const off[] = { "0", "off", "no", "false", "OFF", "No", "False" };
	char line[32];

	ok("debug");
	assert_true(opt_debug);
	ok("no-serial");
	assert_false(opt_serial);
	ok("serial");
	assert_true(opt_serial);
	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		snprintf(line, sizeof(line), "debug=%s", off[i]);
		ok(line);
		assert_false(opt_debug);
		snprintf(line, sizeof(line), "debug=%s", on[i]);
		ok(line);
		assert_true(opt_debug);
	}
	ok("debug=\"off\"");
	assert_false(opt_debug);

	bad("debug=maybe", "debug", "maybe");
	assert_false(opt_debug); /* kept */
	bad("debug=", "debug", "not a boolean");
	bad("debug=onn", "debug", "not a boolean");
	bad("no-debug=1", "no-debug", "takes no value");
	bad("no-baud", "unknown option", "no-baud");

	ok("no-reboot");
	assert_true(opt_noreboot);
	ok("no-reboot=0");
	assert_false(opt_noreboot);
}

static void test_uint(void **state)
{
	ok("baud=9600");
	assert_int_equal(opt_baud, 9600);
	ok("port=0x2f8");
	assert_int_equal(opt_port, 0x2f8);
	ok("port=0XABCD");
	assert_int_equal(opt_port, 0xabcd);
	ok("baud=50");
	assert_int_equal(opt_baud, 50);
	ok("baud=4000000");
	assert_int_equal(opt_baud, 4000000);
	ok("port=0");
	assert_int_equal(opt_port, 0);
	ok("port=00065535");
	assert_int_equal(opt_port, 65535);

	reset(NULL);
	bad("baud=49", "baud", "out of range [50, 4000000]");
	bad("baud=4000001", "baud", "out of range");
	bad("port=0x10000", "port", "out of range");
	bad("baud=18446744073709551616", "baud", "out of range");
	bad("baud=99999999999999999999999999", "baud", "out of range");
	bad("port=0x10000000000000000", "port", "out of range");
	bad("baud=115200x", "baud", "not a number");
	bad("baud=-1", "baud", "not a number");
	bad("baud=+5", "baud", "not a number");
	bad("port=0x", "port", "not a number");
	bad("port=0xg", "port", "not a number");
	bad("baud=1e6", "baud", "not a number");
	bad("baud=", "baud", "not a number");
	bad("baud", "baud", "needs a value");
	bad("baud=9600K", "baud", "not a number");
	assert_int_equal(opt_baud, 115200);
	assert_int_equal(opt_port, 0x3f8);
	bad("baud=1200 34", "unknown option", "34");
	assert_int_equal(opt_baud, 1200);
}

static void test_size(void **state)
{
	ok("mem=512M");
	assert_int_equal(opt_mem, MiB(512));
	ok("mem=2g");
	assert_int_equal(opt_mem, GiB(2));
	ok("mem=16384K");
	assert_int_equal(opt_mem, MiB(16));
	ok("mem=0x10000k");
	assert_int_equal(opt_mem, MiB(64));
	ok("mem=16777216");
	assert_int_equal(opt_mem, MiB(16));
	ok("mem=17179869183G");
	assert_int_equal(opt_mem, (u64)17179869183 << 30);
	ok("mem=18446744073709551615");
	assert_int_equal(opt_mem, UINT64_MAX);

	reset(NULL);
	bad("mem=1M", "mem", "out of range");
	bad("mem=17179869184G", "mem", "out of range");
	bad("mem=512MB", "mem", "not a size");
	bad("mem=512T", "mem", "not a size");
	bad("mem=M", "mem", "not a size");
	bad("mem=", "mem", "not a size");
	bad("mem", "mem", "needs a value");
	assert_int_equal(opt_mem, MiB(64));
}

static void test_string(void **state)
{
	ok("name=vm0");
	assert_string_equal(opt_name, "vm0");
	ok("name=\"two words\"");
	assert_string_equal(opt_name, "two words");
	ok("\"name=in quotes\"");
	assert_string_equal(opt_name, "in quotes");
	ok("name=ab\"c d\"e");
	assert_string_equal(opt_name, "abc de");
	ok("name=a=b=c");
	assert_string_equal(opt_name, "a=b=c");
	ok("name==");
	assert_string_equal(opt_name, "=");
	ok("name=\"\ttab\t\"");
	assert_string_equal(opt_name, "\ttab\t");
	ok("name=");
	assert_string_equal(opt_name, "");
	ok("name=123456789012345"); /* exactly fills 16 bytes with the NUL */
	assert_string_equal(opt_name, "123456789012345");

	reset(NULL);
	bad("name=1234567890123456", "name", "too long");
	assert_string_equal(opt_name, "keel");
	bad("name", "name", "needs a value");
	bad("name=\"unterminated", "name", "unterminated quote");
	assert_string_equal(opt_name, "keel");
}

static void test_enum(void **state)
{
	ok("loglevel=err");
	assert_int_equal(opt_level, 0);
	ok("loglevel=debug");
	assert_int_equal(opt_level, 3);
	ok("loglevel=\"warn\"");
	assert_int_equal(opt_level, 1);

	bad("loglevel=verbose", "loglevel", "one of: err, warn, info, debug");
	assert_int_equal(opt_level, 1);
	bad("loglevel=DEBUG", "loglevel", "unknown choice 'DEBUG'");
	bad("loglevel=", "loglevel", "unknown choice");
	bad("loglevel", "loglevel", "needs a value");
}

static void test_mixed_and_last_wins(void **state)
{
	shim_log_reset();
	assert_int_equal(parse("baud=9600 bogus debug mem=1T name=x\ty=2 baud=57600 loglevel=err"), 3);
	assert_true(shim_log_contains("unknown option 'bogus'"));
	assert_true(shim_log_contains("mem: '1T'"));
	assert_true(shim_log_contains("unknown option 'y'"));
	assert_int_equal(opt_baud, 57600);
	assert_true(opt_debug);
	assert_string_equal(opt_name, "x");
	assert_int_equal(opt_level, 0);
	assert_int_equal(opt_mem, MiB(64));

	ok("debug no-debug debug=0 debug");
	assert_true(opt_debug);
	bad("=5", "no option name", "=5");
	bad("Debug", "unknown option 'Debug'", NULL);
	bad("baud=9600 debug name=\"open end", "name", "unterminated");
	assert_int_equal(opt_baud, 9600);
}

static void test_hostile(void **state)
{
	char *line;
	size_t n = 200000;

	/* Overlong name and value. */
	line = malloc(n + 64);
	assert_non_null(line);
	memset(line, 'a', 300);
	strcpy(line + 300, "=1");
	bad(line, "too long", "aaaaaaaa...");
	strcpy(line, "name=");
	memset(line + 5, 'v', 2000);
	strcpy(line + 2005, " debug");
	opt_debug = false;
	bad(line, "name", "too long");
	assert_true(opt_debug);
	assert_string_equal(opt_name, "keel");

	/* A very long line of valid words, then one more: all parsed, nothing skipped. */
	for (size_t i = 0; i + 6 < n; i += 6)
		memcpy(line + i, "debug ", 6);
	strcpy(line + (n / 6) * 6, "baud=300");
	opt_debug = false;
	ok(line);
	assert_true(opt_debug);
	assert_int_equal(opt_baud, 300);

	/* Whitespace only, and a huge unterminated quote. */
	memset(line, ' ', n);
	line[n] = '\0';
	ok(line);
	line[n / 2] = '"';
	bad(line, "unterminated quote", NULL);
	free(line);

	/* UTF-8 in a string value is stored as is; in a name it is shown as '?', never raw. */
	ok("name=h\xc3\xa9llo");
	assert_string_equal(opt_name, "h\xc3\xa9llo");
	bad("d\xc3\xa9"
	    "bug",
	    "unknown option 'd??bug'", NULL);
	assert_null(strchr(shim_log, '\xc3'));

	/* Control characters: not separators, not echoed to the console. */
	bad("debug\x01", "unknown option 'debug?'", NULL);
	bad("\x1b[2Jdebug", "unknown option '?[2Jdebug'", NULL);
	assert_null(strchr(shim_log, '\x1b'));
	ok("name=\x01\x02");
	assert_string_equal(opt_name, "\x01\x02");
	bad("loglevel=\x1b", "unknown choice '?'", NULL);
	assert_null(strchr(shim_log, '\x1b'));

	/* CR/LF from a config file do not stick to the last word. */
	ok("debug=off\r\n");
	assert_false(opt_debug);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty, reset),
		cmocka_unit_test_setup(test_bool, reset),
		cmocka_unit_test_setup(test_uint, reset),
		cmocka_unit_test_setup(test_size, reset),
		cmocka_unit_test_setup(test_string, reset),
		cmocka_unit_test_setup(test_enum, reset),
		cmocka_unit_test_setup(test_mixed_and_last_wins, reset),
		cmocka_unit_test_setup(test_hostile, reset),
	};

	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
