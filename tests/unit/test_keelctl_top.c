// SPDX-License-Identifier: MIT
/*
 * keelctl top (guests/mgmt/tools/keelctl_top.c): CPU percentages and exits per second from two
 * samples matched by id (VMs that come, go and move in the list), the table's text, and batch
 * mode's plain tables over a fake keel_vm_list whose counters grow each call.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keelctl.h"

static int list_calls, list_err;

/* Two VMs; each call adds 10 ms of CPU and 50 exits to the first, nothing to the second. */
int keel_vm_list(struct keel *k, struct keel_vm_info *out, uint32_t max)
{
	if (list_err)
		return list_err;
	list_calls++;
	memset(out, 0, 2 * sizeof(*out));
	out[0] = (struct keel_vm_info){ .id = 0,
					.state = KEEL_VM_RUNNING,
					.vcpus = 2,
					.mem_bytes = 256ull << 20,
					.exits = 50ull * list_calls,
					.run_ns = 10000000ull * list_calls };
	strcpy(out[0].name, "mgmt");
	out[1] = (struct keel_vm_info){ .id = 9, .state = KEEL_VM_PAUSED, .vcpus = 1, .mem_bytes = 8ull << 20 };
	strcpy(out[1].name, "idle");
	return 2;
}

const char *keel_vm_state_name(uint32_t state)
{
	static const char *const names[] = { "created", "running", "paused", "dead" };

	return state < 4 ? names[state] : "?";
}

static struct keel_vm_info vm(uint32_t id, const char *name, uint64_t run_ns, uint64_t exits)
{
	struct keel_vm_info v = { .id = id,
				  .state = KEEL_VM_RUNNING,
				  .vcpus = 2,
				  .mem_bytes = 64ull << 20,
				  .run_ns = run_ns,
				  .exits = exits };

	snprintf(v.name, sizeof(v.name), "%s", name);
	return v;
}

/* Matched by id, whatever their order; a new VM has no rate; a counter that went back counts 0. */
static void test_rows(void **state)
{
	static struct top_sample prev, cur;
	struct top_row rows[KEEL_VM_LIST_MAX];

	prev.t_ns = 1000000000ull;
	prev.n = 3;
	prev.vms[0] = vm(1, "a", 0, 100);
	prev.vms[1] = vm(2, "b", 500000000ull, 0);
	prev.vms[2] = vm(4, "c", 900, 900);
	cur.t_ns = prev.t_ns + 2000000000ull; /* 2 s */
	cur.n = 4;
	cur.vms[0] = vm(2, "b", 500000000ull + 3000000000ull, 10); /* 3 s of CPU in 2 s: 2 vCPUs busy */
	cur.vms[1] = vm(3, "new", 123, 5);
	cur.vms[2] = vm(1, "a", 500000000ull, 2100); /* 0.5 s in 2 s */
	cur.vms[3] = vm(4, "c", 100, 100);
	assert_int_equal(top_rows(&prev, &cur, rows), 4);
	assert_ptr_equal(rows[0].vm, &cur.vms[0]);
	assert_true(rows[0].cpu_pct > 149.99 && rows[0].cpu_pct < 150.01);
	assert_true(rows[0].exits_per_s > 4.99 && rows[0].exits_per_s < 5.01);
	assert_true(rows[1].cpu_pct < 0 && rows[1].exits_per_s < 0);
	assert_true(rows[2].cpu_pct > 24.99 && rows[2].cpu_pct < 25.01);
	assert_true(rows[2].exits_per_s > 999.99 && rows[2].exits_per_s < 1000.01);
	assert_true(rows[3].cpu_pct == 0 && rows[3].exits_per_s == 0);
	/* No earlier sample, or none older than this one: no rates. */
	assert_int_equal(top_rows(NULL, &cur, rows), 4);
	assert_true(rows[0].cpu_pct < 0 && rows[2].cpu_pct < 0);
	assert_int_equal(top_rows(&cur, &cur, rows), 4);
	assert_true(rows[0].cpu_pct < 0);
}

static void test_print(void **state)
{
	static struct top_sample cur;
	struct top_row rows[2];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cur.n = 2;
	cur.vms[0] = vm(1, "web", 1500000000ull, 0);
	cur.vms[1] = vm(12, "a-name-of-31-characters-long-xx", 0, 0);
	cur.vms[1].state = KEEL_VM_DEAD;
	rows[0] = (struct top_row){ .vm = &cur.vms[0], .cpu_pct = 12.345, .exits_per_s = 1234.4 };
	rows[1] = (struct top_row){ .vm = &cur.vms[1], .cpu_pct = -1, .exits_per_s = -1 };
	top_print(f, rows, 2);
	fclose(f);
	assert_string_equal(
	    text, "keelctl top: 2 VMs, 1 running, 12.3% CPU in all\n"
		  "  ID  Name             State    vCPUs Mem(MiB)  CPU(%)    Exits/s     CPU(s)\n"
		  "   1  web              running      2       64    12.3       1234        1.5\n"
		  "  12  a-name-of-31-characters-long-xx dead         2       64       -          -        0.0\n");
	free(text);
}

static int top(const char *a, const char *b, const char *c, const char *d)
{
	char *argv[] = { "keelctl", "top", (char *)a, (char *)b, (char *)c, (char *)d, NULL };
	int argc = 2 + !!a + !!b + !!c + !!d;

	return keelctl_top_command(NULL, argc, argv);
}

/* Batch: -n tables, each over a whole interval, no screen control; usage errors are 2. */
static void test_batch(void **state)
{
	char path[] = "/tmp/keelctl-top-XXXXXX", text[4096];
	int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	list_calls = 0;
	assert_int_equal(top("-d", "0.01", "-n", "2"), 0);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(list_calls, 3); /* the first look, then one per table */
	n = pread(fd, text, sizeof(text) - 1, 0);
	assert_true(n > 0);
	text[n] = '\0';
	close(fd);
	unlink(path);
	assert_null(strchr(text, '\033'));
	assert_non_null(strstr(text, "keelctl top: 2 VMs, 1 running, "));
	assert_non_null(strstr(strstr(text, "\n\nkeelctl top: 2 VMs") + 1, "   0  mgmt "));
	assert_null(strstr(strstr(text, "\n\nkeelctl top: 2 VMs") + 2, "\n\n"));
	assert_non_null(strstr(text, "   9  idle             paused       1        8     0.0          0        0.0\n"));
	assert_null(strstr(text, " - ")); /* every table has rates */

	assert_int_equal(top("-d", "0", NULL, NULL), 2);
	assert_int_equal(top("-d", "x", NULL, NULL), 2);
	assert_int_equal(top("-n", "0", NULL, NULL), 2);
	assert_int_equal(top("-n", NULL, NULL, NULL), 2);
	assert_int_equal(top("-q", NULL, NULL, NULL), 2);
	list_err = -EIO;
	assert_int_equal(top("-n", "1", NULL, NULL), 1);
	list_err = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
