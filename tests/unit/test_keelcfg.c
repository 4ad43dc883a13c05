// SPDX-License-Identifier: MIT
/* keelctl create FILE's parser (guests/mgmt/tools/keelcfg.c): every key, every value form, every
 * error with its line and key, and hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keelcfg.h"

static struct keelcfg cfg;
static struct keelcfg_error err;

#define BASE "name = \"vm1\"\nmemory = 64\nkernel = \"/k\"\n"

static int parse(const char *text)
{
	return keelcfg_parse(text, strlen(text), &cfg, &err);
}

static void ok(const char *text)
{
	int rc = parse(text);

	if (rc)
		fail_msg("refused: %u: %s\n%s", err.line, err.msg, text);
}

/* Refused, at `line`, with exactly `msg`. */
static void bad(const char *text, uint32_t line, const char *msg)
{
	assert_int_equal(parse(text), -1);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.line, line);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct bad_case {
	const char *text;
	uint32_t line;
	const char *msg;
};

static void test_minimal(void **state)
{
	ok(BASE);
	assert_string_equal(cfg.name, "vm1");
	assert_int_equal(cfg.mem_bytes, 64ull << 20);
	assert_string_equal(cfg.kernel, "/k");
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(cfg.weight, 0);
	assert_int_equal(cfg.cap_pct, 0);
	assert_int_equal(cfg.affinity[0], 0);
	assert_string_equal(cfg.ramdisk, "");
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.kernel_type, KEELCFG_KERNEL_DETECT);
	assert_int_equal(cfg.on_poweroff, KEELCFG_PRESERVE);
	assert_int_equal(cfg.on_reboot, KEELCFG_PRESERVE);
	assert_int_equal(cfg.on_crash, KEELCFG_PRESERVE);
	assert_int_equal(cfg.nr_disks, 0);
	assert_int_equal(cfg.nr_vifs, 0);
	assert_int_equal(cfg.line[KEELCFG_NAME], 1);
	assert_int_equal(cfg.line[KEELCFG_MEMORY], 2);
	assert_int_equal(cfg.line[KEELCFG_KERNEL], 3);
	assert_int_equal(cfg.line[KEELCFG_VCPUS], 0);
}

static void test_every_key(void **state)
{
	ok("# a full config\n"
	   "name='web-1.a_b'\n"
	   "memory=  4096 # MiB\n"
	   "vcpus = 4;\n"
	   "weight = 512\n"
	   "cap = 350\n"
	   "cpus = \"0-1/2,5/all\"\n"
	   "kernel = '/boot/vmlinuz'\n"
	   "ramdisk = \"/boot/initrd.gz\"\n"
	   "extra = 'console=ttyS0 root=/dev/ram0'\n"
	   "kernel_type = \"linux\"\n"
	   "on_poweroff = \"destroy\"\n"
	   "on_reboot = \"restart\"\n"
	   "on_crash = \"preserve\"\n"
	   "disk = [ '/img/a.raw,raw,xvda,rw', \"target=/img/b.raw,format=raw,vdev=vdb,access=ro\" ]\n"
	   "vif = [ 'bridge=br0,mac=00:16:3e:01:02:0A', '' ]\n");
	assert_string_equal(cfg.name, "web-1.a_b");
	assert_int_equal(cfg.mem_bytes, 4096ull << 20);
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(cfg.weight, 512);
	assert_int_equal(cfg.cap_pct, 350);
	assert_int_equal(cfg.affinity[0], 0x3);
	assert_int_equal(cfg.affinity[1], 0x24);
	assert_int_equal(cfg.affinity[2], ~0ull);
	assert_int_equal(cfg.affinity[3], ~0ull);
	assert_int_equal(cfg.affinity[4], 0);
	assert_string_equal(cfg.kernel, "/boot/vmlinuz");
	assert_string_equal(cfg.ramdisk, "/boot/initrd.gz");
	assert_string_equal(cfg.cmdline, "console=ttyS0 root=/dev/ram0");
	assert_int_equal(cfg.line[KEELCFG_CMDLINE], 10);
	assert_int_equal(cfg.kernel_type, KEELCFG_KERNEL_LINUX);
	assert_int_equal(cfg.on_poweroff, KEELCFG_DESTROY);
	assert_int_equal(cfg.on_reboot, KEELCFG_RESTART);
	assert_int_equal(cfg.on_crash, KEELCFG_PRESERVE);
	assert_int_equal(cfg.nr_disks, 2);
	assert_string_equal(cfg.disks[0].path, "/img/a.raw");
	assert_string_equal(cfg.disks[0].vdev, "xvda");
	assert_int_equal(cfg.disks[0].readonly, 0);
	assert_string_equal(cfg.disks[1].path, "/img/b.raw");
	assert_string_equal(cfg.disks[1].vdev, "vdb");
	assert_int_equal(cfg.disks[1].readonly, 1);
	assert_int_equal(cfg.line[KEELCFG_DISK], 15);
	assert_int_equal(cfg.nr_vifs, 2);
	assert_string_equal(cfg.vifs[0].bridge, "br0");
	assert_int_equal(cfg.vifs[0].has_mac, 1);
	assert_memory_equal(cfg.vifs[0].mac, "\x00\x16\x3e\x01\x02\x0a", 6);
	assert_string_equal(cfg.vifs[1].bridge, "");
	assert_int_equal(cfg.vifs[1].has_mac, 0);
	assert_int_equal(cfg.line[KEELCFG_VIF], 16);
}

static void test_cmdline_and_multiboot(void **state)
{
	ok(BASE "cmdline = \"a b\"\nkernel_type = 'multiboot'\n");
	assert_string_equal(cfg.cmdline, "a b");
	assert_int_equal(cfg.kernel_type, KEELCFG_KERNEL_MULTIBOOT);
	ok(BASE "cmdline = ''\n");
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.line[KEELCFG_CMDLINE], 4);
}

/* Lists over several lines, with comments, blank lines, trailing commas; CRLF line ends. */
static void test_lists(void **state)
{
	ok(BASE "disk = [\n"
		"  # the root disk\n"
		"  '/a',\n"
		"\n"
		"  '/b,,hdc',   # positional, format left out\n"
		"  '/c,raw,,ro',\n"
		"]\n"
		"vcpus = 2\n");
	assert_int_equal(cfg.line[KEELCFG_DISK], 4);
	assert_int_equal(cfg.line[KEELCFG_VCPUS], 11);
	assert_int_equal(cfg.nr_disks, 3);
	assert_string_equal(cfg.disks[0].vdev, "xvda");
	assert_string_equal(cfg.disks[1].path, "/b");
	assert_string_equal(cfg.disks[1].vdev, "hdc");
	assert_string_equal(cfg.disks[2].vdev, "xvdc");
	assert_int_equal(cfg.disks[2].readonly, 1);
	ok(BASE "disk = []\nvif=[ ]\n");
	assert_int_equal(cfg.nr_disks, 0);
	assert_int_equal(cfg.line[KEELCFG_DISK], 4);
	ok("name = \"x\"\r\nmemory = 8\r\n\r\nkernel = \"/k\"\r\nvcpus = 3\r\n");
	assert_int_equal(cfg.vcpus, 3);
	assert_int_equal(cfg.line[KEELCFG_VCPUS], 5);
	/* no newline at the end, a comment on the last line */
	ok("name=\"x\"\n\tmemory=1\n kernel=\"k\" # end");
}

static void test_value_errors(void **state)
{
	ok(BASE "cap = 150\nvcpus = 2\n");
	assert_int_equal(cfg.cap_pct, 150);
	ok("name = 'abcdefghijabcdefghijabcdefghij1'\nmemory = 1\nkernel = '/k'\n");
	assert_string_equal(cfg.name, "abcdefghijabcdefghijabcdefghij1");
}

static void test_cpus(void **state)
{
	ok(BASE "cpus = '63'\n");
	assert_int_equal(cfg.affinity[0], 1ull << 63);
	ok(BASE "vcpus = 8\ncpus = '1'\n");
	for (int i = 0; i < 8; i++)
		assert_int_equal(cfg.affinity[i], 2);
}

static void test_disk_errors(void **state)
{
	ok(BASE "disk = [ 'access=r,target=/x,vdev=sdz' ]\n");
	assert_string_equal(cfg.disks[0].path, "/x");
	assert_string_equal(cfg.disks[0].vdev, "sdz");
	assert_int_equal(cfg.disks[0].readonly, 1);
}

static void test_list_bound(void **state)
{
	ok(BASE "vif = [ '', '', '', '', '', '', '', '' ]\n");
	assert_int_equal(cfg.nr_vifs, KEELCFG_LIST_MAX);
	bad(BASE "vif = [ '', '', '', '', '', '', '', '', '' ]\n", 4, "key 'vif': more than 8 entries");
}

/* Every refusal: the file, the line and the message a script can rely on. */
static const struct bad_case bad_files[] = {
	/* syntax errors */
	{ BASE "= 5\n", 4, "expected 'key = value'" },
	{ BASE "memory\n", 4, "key 'memory': given twice (first on line 2)" },
	{ BASE "vcpus 4\n", 4, "key 'vcpus': expected '=' after the key" },
	{ BASE "vcpus =\n", 4, "key 'vcpus': no value" },
	{ BASE "vcpus = # none\n", 4, "key 'vcpus': no value" },
	{ BASE "vcpus = 2 3\n", 4, "key 'vcpus': unexpected text after the value" },
	{ BASE "vcpus = 2x\n", 4, "key 'vcpus': not a number" },
	{ BASE "vcpus = -1\n", 4, "key 'vcpus': not a number, a quoted string or a list" },
	{ BASE "vcpus = 0x2\n", 4, "key 'vcpus': not a number" },
	{ BASE "cmdline = \"abc\n", 4, "key 'cmdline': string not closed on its line" },
	{ BASE "cmdline = 'abc\"\n", 4, "key 'cmdline': string not closed on its line" },
	{ BASE "cmdline = \"abc", 4, "key 'cmdline': string not closed on its line" },
	{ BASE "disk = [ '/a',\n '/b'\n", 4, "key 'disk': list not closed ('[' on line 4 has no ']')" },
	{ BASE "disk = [ '/a' '/b' ]\n", 4, "key 'disk': expected ',' or ']' after a list entry" },
	{ BASE "disk = [ '/a', , ]\n", 4, "key 'disk': list entries are quoted strings" },
	{ BASE "disk = [ 5 ]\n", 4, "key 'disk': list entries are quoted strings" },
	{ BASE "disk = [ [ '/a' ] ]\n", 4, "key 'disk': lists do not nest" },
	{ BASE "disk = [\n'/a',\n'/b\n]\n", 6, "key 'disk': string not closed on its line" },
	{ BASE "disk = [ '/a' ] x\n", 4, "key 'disk': unexpected text after the value" },
	{ "n@me = 'x'\n", 1, "key 'n': unknown" },
	{ "vcpus@ = 1\n", 1, "key 'vcpus': expected '=' after the key" },
	{ "\n\n  9 = 1\n", 3, "expected 'key = value'" },
	/* key errors */
	{ BASE "\nfoo = 1\n", 5, "key 'foo': unknown" },
	{ BASE "type = \"pvh\"\n", 4, "key 'type': not supported: use kernel_type = \"linux\" or \"multiboot\"" },
	{ BASE "# again\nname = \"b\"\n", 5, "key 'name': given twice (first on line 1)" },
	{ BASE "cmdline = 'a'\nextra = 'b'\n", 5, "key 'extra': given twice (first on line 4)" },
	{ "memory = 64\nkernel = '/k'\n", 2, "key 'name': missing (name, memory and kernel are required)" },
	{ "name = 'a'\nkernel = '/k'\n\n", 3, "key 'memory': missing (name, memory and kernel are required)" },
	{ "name = 'a'\nmemory = 1", 2, "key 'kernel': missing (name, memory and kernel are required)" },
	{ "", 1, "key 'name': missing (name, memory and kernel are required)" },
	{ "# nothing\n", 1, "key 'name': missing (name, memory and kernel are required)" },
	/* value errors */
	{ BASE "vcpus = \"2\"\n", 4, "key 'vcpus': not a number" },
	{ BASE "vcpus = 0\n", 4, "key 'vcpus': out of range (1 to 8)" },
	{ BASE "vcpus = 9\n", 4, "key 'vcpus': out of range (1 to 8)" },
	{ BASE "weight = 0\n", 4, "key 'weight': out of range (1 to 65535)" },
	{ BASE "weight = 65536\n", 4, "key 'weight': out of range (1 to 65535)" },
	{ BASE "cap = 801\n", 4, "key 'cap': out of range (0 to 800)" },
	{ BASE "cap = 150\n", 4, "key 'cap': more than 100 x vcpus (100)" },
	{ "name = 5\nmemory = 1\nkernel = '/k'\n", 1, "key 'name': not a quoted string" },
	{ "name = ''\nmemory = 1\nkernel = '/k'\n", 1, "key 'name': empty" },
	{ "name = 'a b'\nmemory = 1\nkernel = '/k'\n", 1, "key 'name': only letters, digits, '_', '.' and '-'" },
	{ "name = 'a/b'\nmemory = 1\nkernel = '/k'\n", 1, "key 'name': only letters, digits, '_', '.' and '-'" },
	{ "name = 'abcdefghijabcdefghijabcdefghij12'\n", 1, "key 'name': too long (at most 31 bytes)" },
	{ "name = 'a'\nmemory = '64'\n", 2, "key 'memory': not a number" },
	{ "name = 'a'\nmemory = 0\n", 2, "key 'memory': out of range (1 to 17592186044415)" },
	{ "name = 'a'\nmemory = [ '1' ]\n", 2, "key 'memory': not a number" },
	{ BASE "kernel_type = \"bzimage\"\n", 4, "key 'kernel_type': not \"linux\" or \"multiboot\"" },
	{ BASE "kernel_type = \"linuxlinuxlinuxlinux\"\n", 4, "key 'kernel_type': not \"linux\" or \"multiboot\"" },
	{ BASE "on_crash = 'coredump-destroy'\n", 4, "key 'on_crash': not \"preserve\", \"destroy\" or \"restart\"" },
	{ BASE "on_reboot = 1\n", 4, "key 'on_reboot': not \"preserve\", \"destroy\" or \"restart\"" },
	{ BASE "ramdisk = ''\n", 4, "key 'ramdisk': empty" },
	{ BASE "ramdisk = '/i'\nkernel_type = 'multiboot'\n", 4,
	  "key 'ramdisk': goes with a Linux kernel, not kernel_type \"multiboot\"" },
	{ BASE "cmdline = 'a\tb\x01'\n", 4, "key 'cmdline': control character in the string" },
	{ BASE "disk = '/a'\n", 4, "key 'disk': not a list [ \"...\", ... ]" },
	/* cpus */
	{ BASE "cpus = '0/1'\n", 4, "key 'cpus': 2 sets for 1 vCPUs" },
	{ BASE "cpus = '64'\n", 4, "key 'cpus': not a CPU set (\"0-3\", \"0,2\", \"0/1\", \"all\")" },
	{ BASE "cpus = '3-1'\nvcpus = 2\n", 4, "key 'cpus': not a CPU set (\"0-3\", \"0,2\", \"0/1\", \"all\")" },
	{ BASE "cpus = '1,x'\n", 4, "key 'cpus': not a CPU set (\"0-3\", \"0,2\", \"0/1\", \"all\")" },
	{ BASE "cpus = ''\n", 4, "key 'cpus': empty" },
	/* disk errors */
	{ BASE "disk = [ '' ]\n", 4, "key 'disk': entry 1: no path" },
	{ BASE "disk = [ '/a', 'format=raw' ]\n", 4, "key 'disk': entry 2: no path" },
	{ BASE "disk = [ 'target=' ]\n", 4, "key 'disk': entry 1: no path" },
	{ BASE "disk = [ '/a,qcow2' ]\n", 4, "key 'disk': entry 1: format not supported (raw only)" },
	{ BASE "disk = [ '/a,raw,xvd' ]\n", 4, "key 'disk': entry 1: vdev not xvdX, vdX, hdX or sdX" },
	{ BASE "disk = [ '/a,raw,xvdaa' ]\n", 4, "key 'disk': entry 1: vdev not xvdX, vdX, hdX or sdX" },
	{ BASE "disk = [ '/a,vdev=nvme0' ]\n", 4, "key 'disk': entry 1: vdev not xvdX, vdX, hdX or sdX" },
	{ BASE "disk = [ '/a,raw,xvda,rx' ]\n", 4, "key 'disk': entry 1: access not rw or ro" },
	{ BASE "disk = [ '/a,raw,xvda,ro,x' ]\n", 4, "key 'disk': entry 1: more than 4 fields" },
	{ BASE "disk = [ '/a,devtype=cdrom' ]\n", 4,
	  "key 'disk': entry 1: unknown field (target, format, vdev, access)" },
	{ BASE "disk = [ '/a,target=/b' ]\n", 4, "key 'disk': entry 1: target given twice" },
	{ BASE "disk = [ '/a', '/b,raw,xvda' ]\n", 4, "key 'disk': entries 1 and 2 have the same vdev" },
	{ BASE "disk = [ '/a\x01' ]\n", 4, "key 'disk': entry 1: control character in the path" },
	/* vif errors */
	{ BASE "vif = [ 'br0' ]\n", 4, "key 'vif': entry 1: a field is not key=value" },
	{ BASE "vif = [ '', 'model=e1000' ]\n", 4, "key 'vif': entry 2: unknown field (bridge, mac)" },
	{ BASE "vif = [ 'bridge=' ]\n", 4, "key 'vif': entry 1: bridge name empty or longer than 15" },
	{ BASE "vif = [ 'bridge=abcdefghijklmnop' ]\n", 4, "key 'vif': entry 1: bridge name empty or longer than 15" },
	{ BASE "vif = [ 'bridge=a b' ]\n", 4, "key 'vif': entry 1: bridge name not letters, digits, '_', '.', '-'" },
	{ BASE "vif = [ 'bridge=a,bridge=b' ]\n", 4, "key 'vif': entry 1: bridge given twice" },
	{ BASE "vif = [ 'mac=00:16:3e:00:00' ]\n", 4, "key 'vif': entry 1: mac not XX:XX:XX:XX:XX:XX" },
	{ BASE "vif = [ 'mac=00:16:3e:00:00:0g' ]\n", 4, "key 'vif': entry 1: mac not XX:XX:XX:XX:XX:XX" },
	{ BASE "vif = [ 'mac=00-16-3e-00-00-01' ]\n", 4, "key 'vif': entry 1: mac not XX:XX:XX:XX:XX:XX" },
	{ BASE "vif = [ 'mac=01:16:3e:00:00:01' ]\n", 4, "key 'vif': entry 1: mac is a multicast address" },
	{ BASE "vif = [ 'mac=00:16:3e:00:00:01,mac=00:16:3e:00:00:02' ]\n", 4, "key 'vif': entry 1: mac given twice" },
	/* hostile numbers: memory << 20 must not wrap */
	{ "name = 'a'\nmemory = 17592186044416\n", 2, "key 'memory': out of range (1 to 17592186044415)" },
	{ "name = 'a'\nmemory = 18446744073709551615\n", 2, "key 'memory': out of range (1 to 17592186044415)" },
	{ "name = 'a'\nmemory = 18446744073709551616\n", 2, "key 'memory': number too large" },
	{ "name = 'a'\nmemory = 99999999999999999999999999999999999999\n", 2, "key 'memory': number too large" },
	{ BASE "vcpus = 4294967297\n", 4, "key 'vcpus': out of range (1 to 8)" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(bad_files); i++)
		bad(bad_files[i].text, bad_files[i].line, bad_files[i].msg);
}

/* Hostile files: huge numbers, wrapping memory, long strings and lines, NUL bytes, deep brackets. */
static void test_hostile(void **state)
{
	static char big[KEELCFG_FILE_MAX + 2];
	char nul[] = BASE "cmdline = 'a\0b'\n";

	ok("name = 'a'\nmemory = 17592186044415\nkernel = '/k'\n");
	assert_int_equal(cfg.mem_bytes, 17592186044415ull << 20);

	assert_int_equal(keelcfg_parse(nul, sizeof(nul) - 1, &cfg, &err), -1);
	assert_string_equal(err.msg, "NUL byte in the file");
	assert_int_equal(err.line, 4);

	/* a kernel path of 255 bytes fits, 256 does not; a 64 KiB cmdline line is refused */
	memset(big, 'a', sizeof(big));
	memcpy(big, "name='a'\nmemory=1\nkernel='", 26);
	memcpy(big + 26 + 255, "'\n", 3);
	ok(big);
	assert_int_equal(strlen(cfg.kernel), 255);
	big[26 + 255] = 'a';
	memcpy(big + 26 + 256, "'\n", 3);
	bad(big, 3, "key 'kernel': too long (at most 255 bytes)");
	memset(big, 'a', sizeof(big));
	memcpy(big, "name='a'\nmemory=1\ncmdline='", 27);
	memcpy(big + 27 + 65536, "'\n", 3);
	bad(big, 3, "key 'cmdline': too long (at most 255 bytes)");
	/* a key of 31 characters is looked up, one of 32 is refused */
	bad("abcdefghijabcdefghijabcdefghij1 = 1\n", 1, "key 'abcdefghijabcdefghijabcdefghij1': unknown");
	bad("abcdefghijabcdefghijabcdefghij12 = 1\n", 1, "key longer than 31 characters");

	/* deep brackets: refused at the second '[', whatever follows */
	memset(big, '[', sizeof(big) - 1);
	memcpy(big, "disk = ", 7);
	assert_int_equal(keelcfg_parse(big, KEELCFG_FILE_MAX, &cfg, &err), -1);
	assert_string_equal(err.msg, "key 'disk': lists do not nest");
	assert_int_equal(keelcfg_parse(big, KEELCFG_FILE_MAX + 1, &cfg, &err), -1);
	assert_string_equal(err.msg, "file larger than 1048576 bytes");
	/* many lines: the line count follows */
	memset(big, '\n', 100000);
	memcpy(big + 100000, "x\n", 3);
	bad(big, 100001, "key 'x': unknown");
	/* a unterminated list of many lines is reported at its '[' */
	memcpy(big, "disk = [", 8);
	big[100000] = '\0';
	bad(big, 1, "key 'disk': list not closed ('[' on line 1 has no ']')");
}

static void test_bzimage(void **state)
{
	static char head[KEELCFG_BZIMAGE_HEAD];

	assert_int_equal(keelcfg_is_bzimage(head, sizeof(head)), 0);
	memcpy(head + 0x202, "HdrS", 4);
	assert_int_equal(keelcfg_is_bzimage(head, sizeof(head)), 1);
	assert_int_equal(keelcfg_is_bzimage(head, sizeof(head) - 1), 0); /* a file too short to be one */
	assert_string_equal(keelcfg_key_name(KEELCFG_ON_CRASH), "on_crash");
	assert_string_equal(keelcfg_key_name(KEELCFG_NR_KEYS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_cmdline_and_multiboot),
		cmocka_unit_test(test_lists),

		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_disk_errors),

		cmocka_unit_test(test_list_bound),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bzimage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
