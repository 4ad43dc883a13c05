// SPDX-License-Identifier: MIT
/*
 * keelctl's side of keel-dm (guests/mgmt/tools/keelctl_disk.c, keelctl_dm.c): the disk checks
 * on real files (missing, read-only, not whole sectors, shorter than the ext4 file system or the
 * MBR partition it holds), keel-dm's argv, and starting it: a stand-in keel-dm (a shell script,
 * $KEEL_DM) that reports ready, fails with a message, or never answers.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keelctl_dm.h"

static char dir[] = "/tmp/keelctl-dm-XXXXXX";
static char pathbuf[8][512];
static unsigned next_path;

static const char *path(const char *name)
{
	char *p = pathbuf[next_path++ % 8];

	snprintf(p, sizeof(pathbuf[0]), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path(name), mode), 0);
}

static struct keelcfg_disk disk(const char *name, int ro)
{
	struct keelcfg_disk d = { .readonly = (uint8_t)ro };

	snprintf(d.path, sizeof(d.path), "%s", path(name));
	snprintf(d.vdev, sizeof(d.vdev), "xvda");
	return d;
}

/* An image of `size` bytes whose first 4 KiB are head. */
static void write_image(const char *name, const uint8_t *head, size_t size)
{
	uint8_t *buf = calloc(1, size);

	assert_non_null(buf);
	memcpy(buf, head, size < 4096 ? size : 4096);
	write_file(name, buf, size, 0644);
	free(buf);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An ext4 superblock of `blocks` blocks of 1024 << log bytes. */
static void ext4_head(uint8_t *head, uint32_t blocks, uint32_t log)
{
	memset(head, 0, 4096);
	put32(head + 1024 + 4, blocks);
	put32(head + 1024 + 0x18, log);
	head[1024 + 0x38] = 0x53;
	head[1024 + 0x39] = 0xef;
}

static int check(const struct keelcfg_disk *d, char *why)
{
	why[0] = '\0';
	return keelctl_disk_check(d, why, 512);
}

static void test_disk_missing(void **state)
{
	struct keelcfg_disk d = disk("nothing.img", 0);
	char why[512];

	assert_int_equal(check(&d, why), -1);
	assert_non_null(strstr(why, "nothing.img: No such file or directory"));
}

static void test_disk_read_only(void **state)
{
	struct keelcfg_disk rw = disk("ro.img", 0), ro = disk("ro.img", 1);
	static uint8_t img[8192];
	char why[512];

	write_file("ro.img", img, sizeof(img), 0444);
	/* Refused even for root, who could open it for writing: the mode says it is not to be. */
	assert_int_equal(check(&rw, why), -1);
	assert_non_null(strstr(why, "is read-only (mode 0444)"));
	assert_int_equal(check(&ro, why), 0);
	assert_string_equal(why, "");
}

static void test_disk_not_sectors(void **state)
{
	static uint8_t img[1000];
	struct keelcfg_disk d = disk("odd.img", 0), e = disk("empty.img", 0), dd = disk("", 0);
	char why[512];

	write_file("odd.img", img, sizeof(img), 0644);
	assert_int_equal(check(&d, why), -1);
	assert_non_null(strstr(why, "truncated: 1000 bytes, not a whole number of 512-byte sectors"));
	write_file("empty.img", img, 0, 0644);
	assert_int_equal(check(&e, why), -1);
	assert_non_null(strstr(why, "truncated: 0 bytes"));
	/* A directory is neither a file nor a disk. */
	assert_int_equal(check(&dd, why), -1);
	assert_true(strstr(why, "not a regular file") || strstr(why, "Is a directory"));
}

static void test_disk_ext4_truncated(void **state)
{
	static uint8_t head[4096];
	struct keelcfg_disk d = disk("fs.img", 0);
	char why[512];

	/* 64 blocks of 4 KiB: 256 KiB. */
	ext4_head(head, 64, 2);
	assert_int_equal(keelctl_disk_needs(head, sizeof(head)), 64 * 4096);
	write_image("fs.img", head, 64 * 4096);
	assert_int_equal(check(&d, why), 0);
	write_image("fs.img", head, 32 * 4096);
	assert_int_equal(check(&d, why), -1);
	assert_non_null(strstr(why, "truncated: 131072 bytes, and what it holds needs 262144"));
	/* The 64-bit block count's high word counts with INCOMPAT_64BIT only. */
	put32(head + 1024 + 0x150, 1);
	assert_int_equal(keelctl_disk_needs(head, sizeof(head)), 64 * 4096);
	put32(head + 1024 + 0x60, 0x80);
	assert_int_equal(keelctl_disk_needs(head, sizeof(head)), ((1ull << 32) + 64) * 4096);
	/* A short read of the head proves nothing. */
	assert_int_equal(keelctl_disk_needs(head, 1024), 0);
}

static void test_disk_mbr_truncated(void **state)
{
	static uint8_t head[4096];
	struct keelcfg_disk d = disk("mbr.img", 0);
	char why[512];

	memset(head, 0, sizeof(head));
	head[510] = 0x55;
	head[511] = 0xaa;
	/* Partition 2: type 0x83, LBA 2048, 4096 sectors: ends at 3 MiB. */
	head[446 + 16 + 4] = 0x83;
	put32(head + 446 + 16 + 8, 2048);
	put32(head + 446 + 16 + 12, 4096);
	assert_int_equal(keelctl_disk_needs(head, sizeof(head)), 6144 * 512);
	write_image("mbr.img", head, 6144 * 512);
	assert_int_equal(check(&d, why), 0);
	write_image("mbr.img", head, 6000 * 512);
	assert_int_equal(check(&d, why), -1);
	assert_non_null(strstr(why, "truncated"));
	/* A protective GPT entry spans "everything": not a size. */
	head[446 + 16 + 4] = 0xee;
	assert_int_equal(keelctl_disk_needs(head, sizeof(head)), 0);
}

static struct keelcfg two_disks(void)
{
	struct keelcfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "g1");
	cfg.nr_disks = 2;
	snprintf(cfg.disks[0].path, sizeof(cfg.disks[0].path), "/tmp/a.img");
	snprintf(cfg.disks[0].vdev, sizeof(cfg.disks[0].vdev), "xvda");
	snprintf(cfg.disks[1].path, sizeof(cfg.disks[1].path), "/tmp/b.img");
	snprintf(cfg.disks[1].vdev, sizeof(cfg.disks[1].vdev), "xvdb");
	cfg.disks[1].readonly = 1;
	return cfg;
}

/* Network cards: keel-dm's --net options, and the checks before anything is made. */
static void test_vifs(void **state)
{
	struct keelcfg cfg;
	char *argv[40], buf[2048], why[256];
	const char *want[] = { "--net", "mac=02:00:00:00:00:01,bridge=br0",
			       "--net", "bridge=br1",
			       "--net", "mac=02:00:00:00:00:02",
			       "--net", "--rng" };
	int n, at = -1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_vifs = 3;
	memcpy(cfg.vifs[0].mac, "\x02\0\0\0\0\x01", 6);
	cfg.vifs[0].has_mac = 1;
	snprintf(cfg.vifs[0].bridge, sizeof(cfg.vifs[0].bridge), "br0");
	snprintf(cfg.vifs[1].bridge, sizeof(cfg.vifs[1].bridge), "br1");
	memcpy(cfg.vifs[2].mac, "\x02\0\0\0\0\x02", 6);
	cfg.vifs[2].has_mac = 1;
	cfg.nr_vifs = 4; /* the fourth: every default, `--net` alone */
	n = keelctl_dm_argv("g1", 5, &cfg, "/run/keel", 3, argv, 40, buf, sizeof(buf));
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		if (!strcmp(argv[i], "--net")) {
			at = i;
			break;
		}
	assert_true(at > 0 && at + 8 <= n);
	for (int i = 0; i < 8; i++)
		assert_string_equal(argv[at + i], want[i]);

	/* The checks: tun missing; a bridge that is not there; one that is; too many cards. */
	mkdir(path("sys"), 0755);
	setenv("KEEL_SYS_NET", path("sys"), 1);
	setenv("KEEL_DEV_TUN", path("no-tun"), 1);
	assert_int_equal(keelctl_vif_check(&cfg, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no-tun is missing: the management VM needs the tun module"));
	setenv("KEEL_DEV_TUN", "/dev/null", 1); /* a character device, as /dev/net/tun is */
	assert_int_equal(keelctl_vif_check(&cfg, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bridge br0 does not exist in the management VM"));
	mkdir(path("sys/br0"), 0755);
	mkdir(path("sys/br0/bridge"), 0755);
	assert_int_equal(keelctl_vif_check(&cfg, 0, why, sizeof(why)), 0);
	assert_int_equal(keelctl_vif_check(&cfg, 2, why, sizeof(why)), 0); /* no bridge named */
	assert_int_equal(keelctl_vif_check(&cfg, 4, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "at most 4 network cards"));
	unsetenv("KEEL_SYS_NET");
	unsetenv("KEEL_DEV_TUN");
}

static void test_argv(void **state)
{
	struct keelcfg cfg = two_disks();
	char *argv[32], buf[1024], small[40];
	const char *want[] = { "/usr/sbin/keel-dm",
			       "--vm",
			       "5",
			       "--disk",
			       "/tmp/a.img,serial=g1-xvda",
			       "--disk",
			       "/tmp/b.img,ro,serial=g1-xvdb",
			       "--rng",
			       "--console",
			       "--console-log",
			       "/run/keel/g1.hvc",
			       "--console-socket",
			       "/run/keel/g1.hvc.sock",
			       "--ready-fd",
			       "3" };
	int n;

	unsetenv("KEEL_DM");
	n = keelctl_dm_argv("g1", 5, &cfg, "/run/keel", 3, argv, 32, buf, sizeof(buf));
	assert_int_equal(n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < n; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[n]);
	/* Too small a buffer or array: refused, not cut short. */
	assert_int_equal(keelctl_dm_argv("g1", 5, &cfg, "/run/keel", 3, argv, 32, small, sizeof(small)), -1);
	assert_int_equal(keelctl_dm_argv("g1", 5, &cfg, "/run/keel", 3, argv, 5, buf, sizeof(buf)), -1);
}

/* $KEEL_DM: a script of `body`. */
static void fake_dm(const char *body)
{
	char text[512];

	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	write_file("keel-dm", text, strlen(text), 0755);
	setenv("KEEL_DM", path("keel-dm"), 1);
	setenv("KEEL_RUN_DIR", path("run/keel"), 1); /* made with its parent, as /run/keel */
}

static void test_start_ready(void **state)
{
	struct keelcfg cfg = two_disks();
	int pid = -1, status;
	char args[512] = "";
	FILE *f;

	/* It records its arguments, says ready (a 0 byte) and goes on serving (sleeping). */
	fake_dm("echo \"$@\" > \"$KEEL_RUN_DIR/args\"; printf '\\0' >&3; exec sleep 30");
	assert_int_equal(keelctl_dm_start("g1", 9, &cfg, &pid), 0);
	assert_true(pid > 0);
	/* Still running after keelctl returned: it serves the VM. */
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	f = fopen(path("run/keel/args"), "r");
	assert_non_null(f);
	assert_non_null(fgets(args, sizeof(args), f));
	fclose(f);
	assert_non_null(strstr(args, "--vm 9 --disk /tmp/a.img,serial=g1-xvda"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void test_start_fails(void **state)
{
	struct keelcfg cfg = two_disks();
	int pid = -1;

	fake_dm("echo 'keel-dm: VM 9: no such VM' >&2; exit 2");
	assert_int_equal(keelctl_dm_start("g1", 9, &cfg, &pid), -EIO);
	assert_int_equal(pid, -1);
	/* Its log names the reason (keelctl printed its last line). */
	{
		char line[256] = "";
		FILE *f = fopen(path("run/keel/g1.dm.log"), "r");

		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_string_equal(line, "keel-dm: VM 9: no such VM\n");
	}
}

static void test_start_never_ready(void **state)
{
	struct keelcfg cfg = two_disks();
	int pid = -1;

	/* Neither ready nor gone: keelctl gives up at its deadline and kills it. A byte other than
	 * 0 is a failure. */
	keelctl_dm_timeout_s = 1;
	fake_dm("exec sleep 30");
	assert_int_equal(keelctl_dm_start("g1", 9, &cfg, &pid), -EIO);
	fake_dm("echo busy >&3; exec sleep 30");
	assert_int_equal(keelctl_dm_start("g1", 9, &cfg, &pid), -EIO);
	assert_int_equal(pid, -1);
	keelctl_dm_timeout_s = KEELCTL_DM_TIMEOUT_S;
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_missing),	   cmocka_unit_test(test_disk_read_only),
		cmocka_unit_test(test_disk_not_sectors),   cmocka_unit_test(test_disk_ext4_truncated),
		cmocka_unit_test(test_disk_mbr_truncated), cmocka_unit_test(test_argv),
		cmocka_unit_test(test_start_ready),	   cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_start_never_ready),  cmocka_unit_test(test_vifs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
