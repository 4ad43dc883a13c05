/* SPDX-License-Identifier: MIT */
/*
 * keel.ko's checks of what user space hands /dev/keel (guests/mgmt/keel/keel_abi.c), compiled
 * here from the same file the module builds (issue 14: the validation the module runs is the
 * validation tested).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keel_abi.h"

static void test_vm_list_requests(void **state)
{
	struct keel_vm_list r = { .max = 4, .entries = 0x1000 };

	(void)state;
	assert_int_equal(keel_check_vm_list(&r), 0);
	r.max = KEEL_VM_LIST_MAX;
	assert_int_equal(keel_check_vm_list(&r), 0);
	r.max = KEEL_VM_LIST_MAX + 1; /* more than the module allocates for */
	assert_int_equal(keel_check_vm_list(&r), -EINVAL);
	r.max = 0xffffffffu;
	assert_int_equal(keel_check_vm_list(&r), -EINVAL);
	r = (struct keel_vm_list){ .max = 0 }; /* only the count: no buffer needed */
	assert_int_equal(keel_check_vm_list(&r), 0);
	r = (struct keel_vm_list){ .max = 1 }; /* a buffer of one entry at NULL */
	assert_int_equal(keel_check_vm_list(&r), -EINVAL);
	r = (struct keel_vm_list){ .max = 1, .count = 3, .entries = 0x1000 }; /* out field set */
	assert_int_equal(keel_check_vm_list(&r), -EINVAL);
}

static void test_vm_list_copies_what_fits(void **state)
{
	struct keel_vm_list r = { .max = 4, .entries = 0x1000 };

	(void)state;
	assert_int_equal(keel_vm_list_bytes(&r, 2), 2 * sizeof(struct keel_vm_info));
	assert_int_equal(keel_vm_list_bytes(&r, 4), 4 * sizeof(struct keel_vm_info));
	/* More VMs than room: only max entries are copied out. */
	assert_int_equal(keel_vm_list_bytes(&r, 100), 4 * sizeof(struct keel_vm_info));
	r.max = 0;
	assert_int_equal(keel_vm_list_bytes(&r, 7), 0);
	assert_int_equal(sizeof(struct keel_vm_info), 72);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_list_requests),
		cmocka_unit_test(test_vm_list_copies_what_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
