/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator on made-up physical addresses (it never touches the memory it manages),
 * then the global page allocator built from a memory map by mm_page_init().
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "kernel/mm/buddy.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/page.h"

#define PG    PAGE_SIZE
#define ZBASE 0x40000000ull /* 1 GiB: aligned for every order */

static struct buddy zb;
static void *zmeta;

static struct buddy *zone_new(hpa_t base, u64 npages)
{
	free(zmeta);
	zmeta = malloc(buddy_meta_size(npages) + 1);
	assert_non_null(zmeta);
	buddy_init(&zb, base, npages, zmeta);
	return &zb;
}

static int teardown(void **state)
{
	free(zmeta);
	zmeta = NULL;
	return 0;
}

static void check(const struct buddy *b)
{
	assert_int_equal(buddy_check(b), 0);
}

static void test_empty_zone(void **state)
{
	struct buddy *b = zone_new(ZBASE, 1024);

	assert_int_equal(buddy_free_pages(b), 0);
	assert_int_equal(buddy_managed_pages(b), 0);
	for (unsigned o = 0; o <= BUDDY_MAX_ORDER; o++)
		assert_int_equal(buddy_alloc(b, o), INVALID_HPA);
	check(b);
}

static void test_every_order(void **state)
{
	u64 n = 1ull << BUDDY_MAX_ORDER;
	struct buddy *b = zone_new(ZBASE, n);

	buddy_add_free(b, ZBASE, n * PG);
	assert_int_equal(buddy_managed_pages(b), n);
	assert_int_equal(buddy_free_pages(b), n);
	assert_int_equal(b->nr_free_blocks[BUDDY_MAX_ORDER], 1);
	check(b);

	for (unsigned o = 0; o <= BUDDY_MAX_ORDER; o++) {
		hpa_t pa = buddy_alloc(b, o);

		assert_int_not_equal(pa, INVALID_HPA);
		assert_true(pa >= ZBASE && pa + (PG << o) <= ZBASE + n * PG);
		assert_int_equal(pa % (PG << o), 0);
		assert_int_equal(buddy_free_pages(b), n - (1ull << o));
		check(b);
		buddy_free(b, pa, o);
		assert_int_equal(buddy_free_pages(b), n);
		assert_int_equal(b->nr_free_blocks[BUDDY_MAX_ORDER], 1);
	}
	assert_int_equal(buddy_alloc(b, BUDDY_MAX_ORDER + 1), INVALID_HPA);
	assert_int_equal(buddy_alloc(b, 1000), INVALID_HPA);

	/* One block of each order 0..MAX-1 at once fills all but one page... */
	hpa_t held[BUDDY_MAX_ORDER];
	for (unsigned o = 0; o < BUDDY_MAX_ORDER; o++)
		held[o] = buddy_alloc(b, o);
	assert_int_equal(buddy_free_pages(b), 1);
	assert_int_equal(buddy_alloc(b, 1), INVALID_HPA);
	hpa_t last = buddy_alloc(b, 0);
	assert_int_not_equal(last, INVALID_HPA);
	assert_int_equal(buddy_alloc(b, 0), INVALID_HPA);
	/* ...and freeing them in any order merges back into the one 1 GiB block. */
	buddy_free(b, last, 0);
	for (int o = BUDDY_MAX_ORDER - 1; o >= 0; o -= 2)
		buddy_free(b, held[o], (unsigned)o);
	for (int o = BUDDY_MAX_ORDER - 2; o >= 0; o -= 2)
		buddy_free(b, held[o], (unsigned)o);
	assert_int_equal(b->nr_free_blocks[BUDDY_MAX_ORDER], 1);
	check(b);
}

static void test_exhaustion_and_recovery(void **state)
{
	struct buddy *b = zone_new(ZBASE, 64);
	hpa_t pages[64];

	buddy_add_free(b, ZBASE, 64 * PG);
	for (int i = 0; i < 64; i++) {
		pages[i] = buddy_alloc(b, 0);
		assert_int_not_equal(pages[i], INVALID_HPA);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(pages[i], pages[j]);
		assert_int_equal(buddy_free_pages(b), 63 - i);
	}
	for (unsigned o = 0; o <= BUDDY_MAX_ORDER; o++)
		assert_int_equal(buddy_alloc(b, o), INVALID_HPA);
	check(b);
	for (int i = 0; i < 64; i++)
		buddy_free(b, pages[i], 0);
	assert_int_equal(buddy_free_pages(b), 64);
	assert_int_equal(buddy_alloc(b, 6), ZBASE);
	assert_int_equal(buddy_alloc(b, 0), INVALID_HPA);
	buddy_free(b, ZBASE, 6);
	check(b);
}

static void test_fragmentation_and_coalescing(void **state)
{
	struct buddy *b = zone_new(ZBASE, 256);
	hpa_t pages[256];

	buddy_add_free(b, ZBASE, 256 * PG);
	for (int i = 0; i < 256; i++)
		pages[i] = buddy_alloc(b, 0);
	/* Free every other page: half the memory is free, but no two free pages are buddies. */
	for (int i = 0; i < 256; i++)
		if ((pages[i] / PG) % 2 == 0)
			buddy_free(b, pages[i], 0);
	assert_int_equal(buddy_free_pages(b), 128);
	assert_int_equal(b->nr_free_blocks[0], 128);
	assert_int_equal(buddy_alloc(b, 1), INVALID_HPA);
	check(b);
	for (int i = 0; i < 256; i++)
		if ((pages[i] / PG) % 2 == 1)
			buddy_free(b, pages[i], 0);
	assert_int_equal(buddy_free_pages(b), 256);
	assert_int_equal(b->nr_free_blocks[8], 1);
	assert_int_equal(buddy_alloc(b, 8), ZBASE);
	check(b);
}

static void test_unaligned_edges_and_clipping(void **state)
{
	struct buddy *b = zone_new(ZBASE, 64);

	/* [base+0x800, base+0xa800): whole pages 1..9 only. */
	buddy_add_free(b, ZBASE + 0x800, 0xa000);
	assert_int_equal(buddy_managed_pages(b), 9);
	assert_int_equal(buddy_free_pages(b), 9);
	/* Parts outside the zone are ignored, as are ranges smaller than a page and empty ones. */
	buddy_add_free(b, ZBASE - 16 * PG, 17 * PG);  /* page 0 only */
	buddy_add_free(b, ZBASE + 60 * PG, 100 * PG); /* pages 60..63 */
	buddy_add_free(b, ZBASE + 20 * PG + 1, PG);
	buddy_add_free(b, ZBASE + 30 * PG, 0);
	buddy_add_free(b, ~0ull - PG, 2 * PG);
	buddy_add_free(b, 0, PG);
	assert_int_equal(buddy_managed_pages(b), 14);
	check(b);
	/* Pages 0..9 form blocks 0-7 (order 3) and 8-9 (order 1). */
	assert_int_equal(buddy_alloc(b, 3), ZBASE);
	assert_int_equal(buddy_alloc(b, 2), ZBASE + 60 * PG);
	assert_int_equal(buddy_alloc(b, 1), ZBASE + 8 * PG);
	assert_int_equal(buddy_alloc(b, 0), INVALID_HPA);

	/* Releasing a page twice is a host bug. */
	expect_assert_failure(buddy_add_free(b, ZBASE + 5 * PG, PG));
}

static void test_holes_and_unaligned_zone(void **state)
{
	/* Zone starts at pfn 3: blocks must still be aligned in physical address terms. */
	hpa_t base = 3 * PG;
	struct buddy *b = zone_new(base, 1021);
	u64 got = 0;
	hpa_t pa;

	buddy_add_free(b, base, 97 * PG);      /* pfn 3..99 */
	buddy_add_free(b, 300 * PG, PG);       /* pfn 300 */
	buddy_add_free(b, 512 * PG, 512 * PG); /* pfn 512..1023 */
	assert_int_equal(buddy_managed_pages(b), 97 + 1 + 512);
	check(b);
	assert_int_equal(buddy_alloc(b, 9), 512 * PG);
	assert_int_equal(buddy_alloc(b, 9), INVALID_HPA);
	/* Pages 3..99 hold no aligned 64-page block, two aligned 32-page ones (32 and 64). */
	assert_int_equal(buddy_alloc(b, 6), INVALID_HPA);
	pa = buddy_alloc(b, 5);
	assert_true(pa == 32 * PG || pa == 64 * PG);
	assert_int_equal(buddy_alloc(b, 5), pa == 32 * PG ? 64 * PG : 32 * PG);
	assert_int_equal(buddy_alloc(b, 5), INVALID_HPA);
	while ((pa = buddy_alloc(b, 0)) != INVALID_HPA) {
		u64 pfn = pa / PG;

		assert_true((pfn >= 3 && pfn < 32) || (pfn >= 96 && pfn < 100) || pfn == 300);
		got++;
	}
	assert_int_equal(got, 29 + 4 + 1);
	assert_int_equal(buddy_free_pages(b), 0);
	check(b);
}

static void test_bad_frees(void **state)
{
	struct buddy *b = zone_new(ZBASE, 64);
	struct buddy_free_report rep;
	hpa_t a, c;

	buddy_add_free(b, ZBASE, 32 * PG); /* pages 32..63 stay reserved */
	a = buddy_alloc(b, 2);
	c = buddy_alloc(b, 0);
	assert_int_equal(a, ZBASE);
	assert_int_equal(c, ZBASE + 4 * PG);

	assert_int_equal(buddy_try_free(b, a, BUDDY_MAX_ORDER + 1, &rep), BUDDY_FREE_BAD_ORDER);
	assert_int_equal(buddy_try_free(b, a + 0x800, 0, &rep), BUDDY_FREE_MISALIGNED);
	assert_int_equal(buddy_try_free(b, a + PG, 1, &rep), BUDDY_FREE_MISALIGNED);
	assert_int_equal(buddy_try_free(b, ZBASE - PG, 0, &rep), BUDDY_FREE_OUTSIDE);
	assert_int_equal(buddy_try_free(b, ZBASE + 64 * PG, 0, &rep), BUDDY_FREE_OUTSIDE);
	assert_int_equal(buddy_try_free(b, ZBASE, 7, &rep), BUDDY_FREE_OUTSIDE);
	assert_int_equal(buddy_try_free(b, ZBASE + 40 * PG, 0, &rep), BUDDY_FREE_RESERVED);
	assert_int_equal(buddy_try_free(b, a, 1, &rep), BUDDY_FREE_WRONG_ORDER);
	assert_int_equal(rep.block, a);
	assert_int_equal(rep.block_order, 2);
	assert_int_equal(buddy_try_free(b, a + 2 * PG, 1, &rep), BUDDY_FREE_INSIDE_BLOCK);
	assert_int_equal(buddy_try_free(b, a + 3 * PG, 0, &rep), BUDDY_FREE_INSIDE_BLOCK);
	assert_int_equal(rep.block, a);
	assert_int_equal(buddy_try_free(b, ZBASE + 5 * PG, 0, &rep), BUDDY_FREE_DOUBLE); /* never allocated */
	assert_int_equal(buddy_try_free(b, ZBASE + 16 * PG, 4, &rep), BUDDY_FREE_DOUBLE);
	assert_int_equal(rep.block, ZBASE + 16 * PG);
	assert_int_equal(rep.block_order, 4);

	/* None of that changed anything. */
	assert_int_equal(buddy_free_pages(b), 32 - 5);
	check(b);

	/* The panicking form, for each kind. */
	expect_assert_failure(buddy_free(b, a, BUDDY_MAX_ORDER + 1));
	expect_assert_failure(buddy_free(b, a + 0x800, 0));
	expect_assert_failure(buddy_free(b, ZBASE + 64 * PG, 0));
	expect_assert_failure(buddy_free(b, ZBASE + 40 * PG, 0));
	expect_assert_failure(buddy_free(b, a, 1));
	expect_assert_failure(buddy_free(b, a + PG, 0));
	assert_int_equal(buddy_free_pages(b), 32 - 5);

	/* Double free right away, and after the block merged into a bigger free one. */
	buddy_free(b, c, 0);
	expect_assert_failure(buddy_free(b, c, 0));
	assert_int_equal(buddy_try_free(b, c, 0, &rep), BUDDY_FREE_DOUBLE);
	assert_int_equal(rep.block, ZBASE + 4 * PG); /* merged with pages 5..7 */
	assert_int_equal(rep.block_order, 2);
	buddy_free(b, a, 2);
	assert_int_equal(b->nr_free_blocks[5], 1);
	expect_assert_failure(buddy_free(b, a, 2));
	expect_assert_failure(buddy_free(b, c, 0));
	assert_int_equal(buddy_try_free(b, c, 0, &rep), BUDDY_FREE_DOUBLE);
	assert_int_equal(rep.block, ZBASE);
	assert_int_equal(rep.block_order, 5);
	assert_int_equal(buddy_free_pages(b), 32);
	check(b);
}

/* ------------------------------------------------------------------------------------------- */
/* Random operations against a shadow model of every page. */

enum { SH_HOLE, SH_FREE, SH_USED };
#define SNPAGES 4096

static u64 rng_state = 0x2545f4914f6cdd1dull;

static u64 rnd(u64 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* Whether some 2^order-aligned run of pages is entirely free: then the buddy must find it. */
static bool shadow_has_block(const u8 *sh, unsigned order)
{
	for (u64 i = 0; i + (1ull << order) <= SNPAGES; i += 1ull << order) {
		u64 j = 0;

		while (j < (1ull << order) && sh[i + j] == SH_FREE)
			j++;
		if (j == (1ull << order))
			return true;
	}
	return false;
}

static void test_random_against_model(void **state)
{
	static u8 sh[SNPAGES];
	static struct {
		hpa_t pa;
		unsigned order;
	} live[SNPAGES];
	u64 initial_blocks[BUDDY_NR_ORDERS];
	struct buddy *b = zone_new(ZBASE, SNPAGES);
	u64 nlive = 0, managed = 0, used = 0;

	memset(sh, SH_HOLE, sizeof(sh));
	for (u64 p = 0; p < SNPAGES;) {
		u64 run = 1 + rnd(300), hole = rnd(40);

		run = MIN(run, SNPAGES - p);
		buddy_add_free(b, ZBASE + p * PG, run * PG);
		memset(&sh[p], SH_FREE, run);
		managed += run;
		p += run + hole;
	}
	assert_int_equal(buddy_managed_pages(b), managed);
	memcpy(initial_blocks, b->nr_free_blocks, sizeof(initial_blocks));
	check(b);

	for (int step = 0; step < 40000; step++) {
		if (nlive == 0 || rnd(100) < 55) {
			unsigned order = rnd(4) ? (unsigned)rnd(3) : (unsigned)rnd(10);
			hpa_t pa = buddy_alloc(b, order);

			if (pa == INVALID_HPA) {
				assert_false(shadow_has_block(sh, order));
				continue;
			}
			u64 idx = (pa - ZBASE) / PG;
			assert_int_equal(pa % (PG << order), 0);
			assert_true(pa >= ZBASE && idx + (1ull << order) <= SNPAGES);
			for (u64 j = 0; j < (1ull << order); j++) {
				assert_int_equal(sh[idx + j], SH_FREE);
				sh[idx + j] = SH_USED;
			}
			live[nlive].pa = pa;
			live[nlive++].order = order;
			used += 1ull << order;
		} else {
			u64 k = rnd(nlive);
			u64 idx = (live[k].pa - ZBASE) / PG;

			buddy_free(b, live[k].pa, live[k].order);
			memset(&sh[idx], SH_FREE, 1ull << live[k].order);
			used -= 1ull << live[k].order;
			live[k] = live[--nlive];
		}
		assert_int_equal(buddy_free_pages(b), managed - used);
		if (step % 1000 == 0)
			check(b);
	}
	while (nlive) {
		nlive--;
		buddy_free(b, live[nlive].pa, live[nlive].order);
	}
	assert_int_equal(buddy_free_pages(b), managed);
	assert_memory_equal(b->nr_free_blocks, initial_blocks, sizeof(initial_blocks));
	check(b);
}

/* ------------------------------------------------------------------------------------------- */
/* The global allocator. These run in order: before, failed and successful initialization. */

static void *fake_storage[4];
static int map_calls, map_fail_first;
static hpa_t mapped_pa;

static void *fake_map(hpa_t pa, size_t len)
{
	void *p;

	if (map_calls++ == 0 && map_fail_first)
		return NULL;
	p = malloc(len);
	for (int i = 0; i < 4; i++)
		if (!fake_storage[i]) {
			fake_storage[i] = p;
			break;
		}
	mapped_pa = pa;
	return p;
}

static void test_page_before_init(void **state)
{
	struct boot_mem_range none[] = { { 0x0, 0x100000, BOOT_MEM_RESERVED, 0 } };
	struct boot_mem_range low[] = { { 0x0, 0x9f000, BOOT_MEM_USABLE, 0 } };
	u32 nr = 1;

	assert_int_equal(page_alloc(0), INVALID_HPA);
	assert_int_equal(page_free_count(), 0);
	assert_int_equal(page_total_count(), 0);
	expect_assert_failure(page_free(0x100000, 0));

	shim_log_reset();
	assert_int_equal(mm_page_init(none, &nr, 1, fake_map), -ENOMEM);
	assert_true(shim_log_contains("no usable memory"));
	/* Usable memory only below 1 MiB: nowhere to put the metadata. */
	assert_int_equal(mm_page_init(low, &nr, 1, fake_map), -ENOMEM);
	assert_int_equal(map_calls, 0);
	assert_int_equal(page_alloc(0), INVALID_HPA);
}

static bool in_usable(const struct boot_mem_range *r, u32 nr, hpa_t pa, u64 len)
{
	for (u32 i = 0; i < nr; i++)
		if (r[i].type == BOOT_MEM_USABLE && pa >= r[i].base && pa + len <= r[i].base + r[i].length)
			return true;
	return false;
}

static void test_page_init_and_use(void **state)
{
	struct boot_mem_range r[16] = {
		{ 0x0, 0x9fc00, BOOT_MEM_USABLE, 0 },
		{ 0x9fc00, 0x400, BOOT_MEM_RESERVED, 0 },
		{ 0xf0000, 0x10000, BOOT_MEM_RESERVED, 0 },
		{ 0x100000, 0x7ee0000, BOOT_MEM_USABLE, 0 },
		{ 0x7fe0000, 0x20000, BOOT_MEM_RESERVED, 0 },
		{ 0xfffc0000, 0x40000, BOOT_MEM_RESERVED, 0 },
		{ 0x100000000, 0x40000000, BOOT_MEM_USABLE, 0 },
	};
	u32 nr = 7;
	u64 zone_pages = (0x140000000ull - 0x100000) / PG, meta_bytes, expect_total;
	u64 npages, allocated = 0;
	u8 *seen;
	hpa_t pa;

	/* What the kernel does first: sanitize, then reserve the first MiB and the image. */
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0, 0x100000, MEMMAP_KERNEL), 0);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x200000, 0x200000, MEMMAP_KERNEL), 0);

	/* The first fitting range (0x400000) cannot be mapped: the next one (4 GiB) is used. */
	map_fail_first = 1;
	shim_log_reset();
	assert_int_equal(mm_page_init(r, &nr, 16, fake_map), 0);
	assert_int_equal(map_calls, 2);
	assert_int_equal(mapped_pa, 0x100000000ull);
	assert_true(shim_log_contains("cannot map page metadata at 0x400000"));

	meta_bytes = ALIGN_UP(buddy_meta_size(zone_pages), PG);
	expect_total = 0x100000 / PG + (0x7fe0000 - 0x400000) / PG + (0x40000000 - meta_bytes) / PG;
	assert_int_equal(page_total_count(), expect_total);
	assert_int_equal(page_free_count(), expect_total);
	assert_int_equal(memmap_total(r, nr, BOOT_MEM_USABLE), expect_total * PG);
	/* Only the usable part of the first MiB became "kernel"; holes and firmware ranges stay. */
	assert_int_equal(memmap_total(r, nr, MEMMAP_KERNEL), 0x9fc00 + 0x200000 + meta_bytes);
	assert_int_equal(mm_page_init(r, &nr, 16, fake_map), -EBUSY);

	/* Every page once, all inside usable memory, then exhaustion. */
	npages = 0x140000000ull / PG;
	seen = calloc(npages, 1);
	while ((pa = page_alloc(0)) != INVALID_HPA) {
		assert_true(in_usable(r, nr, pa, PG));
		assert_int_equal(seen[pa / PG], 0);
		seen[pa / PG] = 1;
		allocated++;
	}
	assert_int_equal(allocated, expect_total);
	assert_int_equal(page_free_count(), 0);
	for (u64 p = 0; p < npages; p++)
		if (seen[p])
			page_free(p * PG, 0);
	free(seen);
	assert_int_equal(page_free_count(), expect_total);

	/* 1 GiB blocks cannot exist (the metadata sits in the only one); 2 MiB ones are aligned. */
	assert_int_equal(page_alloc(BUDDY_MAX_ORDER), INVALID_HPA);
	pa = page_alloc(9);
	assert_int_not_equal(pa, INVALID_HPA);
	assert_int_equal(pa % (PG << 9), 0);
	assert_true(in_usable(r, nr, pa, PG << 9));

	/* A bad free panics after dropping the lock: the allocator still works afterwards. */
	expect_assert_failure(page_free(pa, 0));
	expect_assert_failure(page_free(0x9f000, 0));
	page_free(pa, 9);
	expect_assert_failure(page_free(pa, 9));
	pa = page_alloc(0);
	assert_int_not_equal(pa, INVALID_HPA);
	page_free(pa, 0);
	assert_int_equal(page_free_count(), expect_total);

	for (int i = 0; i < 4; i++)
		free(fake_storage[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_empty_zone, teardown),
		cmocka_unit_test_teardown(test_every_order, teardown),
		cmocka_unit_test_teardown(test_exhaustion_and_recovery, teardown),
		cmocka_unit_test_teardown(test_fragmentation_and_coalescing, teardown),
		cmocka_unit_test_teardown(test_unaligned_edges_and_clipping, teardown),
		cmocka_unit_test_teardown(test_holes_and_unaligned_zone, teardown),
		cmocka_unit_test_teardown(test_bad_frees, teardown),
		cmocka_unit_test_teardown(test_random_against_model, teardown),
		cmocka_unit_test(test_page_before_init),
		cmocka_unit_test(test_page_init_and_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
