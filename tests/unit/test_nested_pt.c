/* SPDX-License-Identifier: MIT */
/*
 * Unmapping from nested page tables (arch/x86/nested_pt.c) on tables built in host memory:
 * entries cleared, page directories detached (never freed here), a PDPT detached only when
 * nothing is left in it, tables shared with other mappings kept, bad ranges refused untouched.
 * "Physical" addresses are host pointers seen through phys_to_virt's direct map.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/memlayout.h"
#include "arch/x86/nested_pt.h"

#define P     1ull /* present, as NPT's P bit */
#define LARGE NESTED_PT_LARGE

static u64 *table(void)
{
	u64 *t = aligned_alloc(4096, 4096);

	assert_non_null(t);
	memset(t, 0, 4096);
	return t;
}

static u64 entry(const u64 *t)
{
	return virt_to_phys(t) | P;
}

static void test_unmap_keeps_shared_pdpt(void **state)
{
	u64 *pml4 = table(), *pdpt = table(), *ram_pd = table(), *win_pd = table();
	struct nested_stale st;

	pml4[0] = entry(pdpt);
	pdpt[0] = entry(ram_pd); /* the VM's own RAM */
	ram_pd[0] = 0x200000 | P | LARGE;
	pdpt[16] = entry(win_pd); /* a window: 2 MiB pages at 16 GiB, a 1 GiB page at 17 GiB */
	win_pd[0] = 0x40000000 | P | LARGE;
	pdpt[17] = 0x80000000 | P | LARGE;
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(16), GiB(2), &st), 0);
	assert_int_equal(pdpt[16], 0);
	assert_int_equal(pdpt[17], 0);
	assert_int_equal(st.nr, 1);
	assert_true(st.t[0].table == virt_to_phys(win_pd) && st.t[0].level == 2);
	assert_true(win_pd[0] == (0x40000000 | P | LARGE)); /* detached, untouched: CPUs may still walk it */
	assert_true(pml4[0] == entry(pdpt) && pdpt[0] == entry(ram_pd));
	/* Unmapping what is not mapped changes nothing and detaches nothing. */
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(20), GiB(1), &st), 0);
	assert_int_equal(st.nr, 0);
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(600), GiB(1), &st), 0);
	assert_int_equal(st.nr, 0);
	free(pml4), free(pdpt), free(ram_pd), free(win_pd);
}

static void test_unmap_detaches_empty_pdpt(void **state)
{
	u64 *pml4 = table(), *pdpt = table(), *pd = table();
	struct nested_stale st;

	pml4[1] = entry(pdpt); /* 512 GiB..1 TiB: only the window */
	pdpt[0] = entry(pd);
	pd[5] = 0x40000000 | P | LARGE;
	pdpt[1] = 0x80000000 | P | LARGE;
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(512), GiB(2), &st), 0);
	assert_int_equal(st.nr, 2);
	assert_true(st.t[0].table == virt_to_phys(pd) && st.t[0].level == 2);
	assert_true(st.t[1].table == virt_to_phys(pdpt) && st.t[1].level == 3);
	assert_int_equal(pml4[1], 0);
	free(pml4), free(pdpt), free(pd);
}

static void test_bad_ranges_change_nothing(void **state)
{
	u64 *pml4 = table(), *pdpt = table();
	struct nested_stale st = { .nr = 7 };

	pml4[0] = entry(pdpt);
	pdpt[1] = 0x40000000 | P | LARGE;
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(1) + MiB(2), GiB(1), &st), -EINVAL);
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(1), MiB(2), &st), -EINVAL);
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(1), 0, &st), -EINVAL);
	assert_int_equal(nested_pt_unmap(pml4, P, GiB(1), NESTED_UNMAP_MAX + GiB(1), &st), -EINVAL);
	assert_int_equal(nested_pt_unmap(pml4, P, (1ull << 48) - GiB(1), GiB(2), &st), -EINVAL);
	assert_int_equal(nested_pt_unmap(pml4, P, ~0ull << 30, GiB(2), &st), -EINVAL); /* wraps */
	assert_int_equal(st.nr, 7);
	assert_true(pdpt[1] == (0x40000000 | P | LARGE));
	/* The largest range: every slot of the list may be needed. */
	assert_int_equal(nested_pt_unmap(pml4, P, 0, NESTED_UNMAP_MAX, &st), 0);
	assert_int_equal(pdpt[1], 0);
	assert_int_equal(st.nr, 1); /* the PDPT, now empty */
	free(pml4), free(pdpt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmap_keeps_shared_pdpt),
		cmocka_unit_test(test_unmap_detaches_empty_pdpt),
		cmocka_unit_test(test_bad_ranges_change_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
