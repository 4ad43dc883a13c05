/* SPDX-License-Identifier: MIT */
/*
 * keel.ko's checks for the memory window (guests/mgmt/keel/keel_abi_win.c), compiled here from
 * the file the module builds: the map and unmap requests, where a window goes in BAR2, and which
 * mmap() requests it accepts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keel_abi.h"

#define GIB (1ull << 30)

static void test_requests(void **state)
{
	struct keel_win_map m = { .vm_id = 7 };
	struct keel_win_unmap u = { .vm_id = 7 };

	(void)state;
	assert_int_equal(keel_check_win_map(&m), 0);
	m.flags = 1;
	assert_int_equal(keel_check_win_map(&m), -EINVAL);
	m = (struct keel_win_map){ .vm_id = 7, .mmap_offset = 4096 }; /* out fields set on the way in */
	assert_int_equal(keel_check_win_map(&m), -EINVAL);
	m = (struct keel_win_map){ .vm_id = 7, .size = 1 };
	assert_int_equal(keel_check_win_map(&m), -EINVAL);
	assert_int_equal(keel_check_win_unmap(&u), 0);
	u.reserved = 1;
	assert_int_equal(keel_check_win_unmap(&u), -EINVAL);
}

static void test_slots(void **state)
{
	(void)state;
	assert_int_equal(keel_win_pick_slot(0, 16, 16 << 20), 0);
	assert_int_equal(keel_win_pick_slot(1, 16, 16 << 20), 1);
	assert_int_equal(keel_win_pick_slot(0x5, 16, GIB + 1), 3); /* two slots: 1 and 3 are apart */
	assert_int_equal(keel_win_pick_slot(0, 16, 16 * GIB), 0);
	assert_int_equal(keel_win_pick_slot(0, 16, 16 * GIB + 1), -ENOSPC); /* more than BAR2 */
	assert_int_equal(keel_win_pick_slot(0x8000, 16, 16 * GIB), -ENOSPC);
	assert_int_equal(keel_win_pick_slot(0xffff, 16, 1), -ENOSPC); /* full */
	assert_int_equal(keel_win_pick_slot(0x7fff, 16, 1), 15);
	assert_int_equal(keel_win_pick_slot(0, 16, 0), -ENOSPC);
	assert_int_equal(keel_win_pick_slot(0, 65, 1), -ENOSPC);
	assert_int_equal(keel_win_pick_slot(0, 64, 64 * GIB), 0);
	assert_true(keel_win_slot_mask(0, 64 * GIB) == ~0ull);
	assert_true(keel_win_slot_mask(3, GIB + 1) == 0x18);
	assert_true(keel_win_slot_mask(63, 2 * GIB) == 0); /* past 64 slots */
	assert_true(keel_win_slot_mask(-1, GIB) == 0);
	assert_true(keel_win_slot_mask(0, 0) == 0);
}

static void test_mmap_ranges(void **state)
{
	uint64_t size = 16 << 20;

	(void)state;
	assert_int_equal(keel_check_win_mmap(0, size, size), 0);
	assert_int_equal(keel_check_win_mmap(4096, size - 4096, size), 0);
	assert_int_equal(keel_check_win_mmap(0, size + 4096, size), -EINVAL); /* past the window */
	assert_int_equal(keel_check_win_mmap(size, 4096, size), -EINVAL);
	assert_int_equal(keel_check_win_mmap(0, 0, size), -EINVAL);
	assert_int_equal(keel_check_win_mmap(100, 4096, size), -EINVAL);	  /* not page aligned */
	assert_int_equal(keel_check_win_mmap(4096, ~0ull - 4095, size), -EINVAL); /* wraps */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_mmap_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
