/* SPDX-License-Identifier: MIT */
/* The memory-map sanitizer, reserve and clip: real firmware maps, buggy ones, and random ones
 * checked against a per-page model. */
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include "kernel/log.h"
#include "kernel/mm/memmap.h"

#define U64_MAX	   (~(u64)0)
#define R(b, l, t) ((struct boot_mem_range){ .base = (b), .length = (l), .type = (t) })
#define USABLE	   BOOT_MEM_USABLE
#define RESERVED   BOOT_MEM_RESERVED
#define ACPI	   BOOT_MEM_ACPI_RECLAIM
#define NVS	   BOOT_MEM_ACPI_NVS

static void dump(const char *what, const struct boot_mem_range *r, u32 nr)
{
	print_message("%s (%u entries):\n", what, nr);
	for (u32 i = 0; i < nr; i++)
		print_message("  [0x%llx+0x%llx) type %u\n", (unsigned long long)r[i].base,
			      (unsigned long long)r[i].length, r[i].type);
}

static void expect_map(const struct boot_mem_range *r, u32 nr, const struct boot_mem_range *want, u32 nwant)
{
	bool same = nr == nwant;

	for (u32 i = 0; same && i < nr; i++)
		same = r[i].base == want[i].base && r[i].length == want[i].length && r[i].type == want[i].type;
	if (!same) {
		dump("got", r, nr);
		dump("want", want, nwant);
		fail_msg("memory map differs");
	}
}

#define EXPECT_MAP(r, nr, ...)                                         \
	do {                                                           \
		const struct boot_mem_range want_[] = { __VA_ARGS__ }; \
		expect_map(r, nr, want_, ARRAY_SIZE(want_));           \
	} while (0)

/* QEMU's E820 for -m 8G (q35 / SeaBIOS), already sane. */
static const struct boot_mem_range qemu_map[] = {
	R(0x0, 0x9fc00, USABLE),	  R(0x9fc00, 0x400, RESERVED),
	R(0xf0000, 0x10000, RESERVED),	  R(0x100000, 0x7fee0000, USABLE),
	R(0x7ffe0000, 0x20000, RESERVED), R(0xb0000000, 0x10000000, RESERVED),
	R(0xfed1c000, 0x4000, RESERVED),  R(0xfeffc000, 0x4000, RESERVED),
	R(0xfffc0000, 0x40000, RESERVED), R(0x100000000, 0x180000000, USABLE),
};

static void test_qemu_map_unchanged(void **state)
{
	struct boot_mem_range r[32];
	u32 nr = ARRAY_SIZE(qemu_map);

	memcpy(r, qemu_map, sizeof(qemu_map));
	shim_log_reset();
	assert_int_equal(memmap_sanitize(r, &nr, ARRAY_SIZE(r)), 0);
	expect_map(r, nr, qemu_map, ARRAY_SIZE(qemu_map));
	assert_int_equal(shim_log_count[LOG_WARN], 0);
	assert_int_equal(memmap_total(r, nr, USABLE), 0x9fc00 + 0x7fee0000 + 0x180000000ull);
	assert_int_equal(memmap_total(r, nr, ACPI), 0);

	memmap_print(r, nr);
	assert_true(shim_log_contains("mem: [0x0000000000100000-0x000000007ffdffff] usable\n"));
	assert_true(shim_log_contains("mem: [0x000000000009fc00-0x000000000009ffff] reserved\n"));
	assert_true(shim_log_contains("mem: [0x0000000100000000-0x000000027fffffff] usable\n"));
}

static void test_unsorted_duplicated(void **state)
{
	struct boot_mem_range r[32];
	u32 nr = 0;

	/* Reverse order, every entry twice, the usable ones once more as a third copy. */
	for (int i = ARRAY_SIZE(qemu_map) - 1; i >= 0; i--) {
		r[nr++] = qemu_map[i];
		r[nr++] = qemu_map[i];
		if (qemu_map[i].type == USABLE)
			r[nr++] = qemu_map[i];
	}
	assert_int_equal(memmap_sanitize(r, &nr, ARRAY_SIZE(r)), 0);
	expect_map(r, nr, qemu_map, ARRAY_SIZE(qemu_map));
}

static void test_overlaps(void **state)
{
	struct boot_mem_range r[16];
	u32 nr;

	/* Reserved overlapping the tail of usable: reserved wins the overlap. */
	r[0] = R(0x0, 0x10000, USABLE);
	r[1] = R(0x8000, 0x10000, RESERVED);
	nr = 2;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x8000, USABLE), R(0x8000, 0x10000, RESERVED));

	/* Usable overlapping the tail of reserved, listed first. */
	r[0] = R(0x8000, 0x18000, USABLE);
	r[1] = R(0x0, 0x10000, RESERVED);
	nr = 2;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x10000, RESERVED), R(0x10000, 0x10000, USABLE));

	/* Among non-usable types the higher number wins: NVS (4) over ACPI data (3) over reserved. */
	r[0] = R(0x1000, 0x3000, ACPI);
	r[1] = R(0x3000, 0x3000, NVS);
	r[2] = R(0x0, 0x8000, RESERVED);
	nr = 3;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x1000, RESERVED), R(0x1000, 0x2000, ACPI), R(0x3000, 0x3000, NVS),
		   R(0x6000, 0x2000, RESERVED));
}

static void test_nested(void **state)
{
	struct boot_mem_range r[16] = {
		R(0x0, 0x100000, USABLE),
		R(0x10000, 0x10000, RESERVED),
		R(0x14000, 0x1000, NVS),
		R(0x40000, 0x1000, BOOT_MEM_UNUSABLE),
	};
	u32 nr = 4;

	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x10000, USABLE), R(0x10000, 0x4000, RESERVED), R(0x14000, 0x1000, NVS),
		   R(0x15000, 0xb000, RESERVED), R(0x20000, 0x20000, USABLE), R(0x40000, 0x1000, BOOT_MEM_UNUSABLE),
		   R(0x41000, 0xbf000, USABLE));
}

static void test_merge_adjacent_and_holes(void **state)
{
	struct boot_mem_range r[16] = {
		R(0x2000, 0x1000, USABLE), R(0x0, 0x1000, USABLE),	R(0x1000, 0x1000, USABLE),
		R(0x5000, 0x1000, USABLE), R(0x3000, 0x1000, RESERVED), R(0x4000, 0x1000, RESERVED),
	};
	u32 nr = 6;

	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x3000, USABLE), R(0x3000, 0x2000, RESERVED), R(0x5000, 0x1000, USABLE));

	/* A hole between two usable ranges keeps them apart. */
	r[0] = R(0x0, 0x1000, USABLE);
	r[1] = R(0x2000, 0x1000, USABLE);
	nr = 2;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x1000, USABLE), R(0x2000, 0x1000, USABLE));
}

static void test_zero_length_and_unknown(void **state)
{
	struct boot_mem_range r[16] = {
		R(0x1000, 0, USABLE),	R(0x0, 0x4000, USABLE), R(0x2000, 0x1000, 0x1234), /* unknown: reserved */
		R(0x8000, 0x1000, 0),							   /* type 0: reserved */
		R(0x9000, 0, RESERVED),
	};
	u32 nr = 5;

	shim_log_reset();
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x2000, USABLE), R(0x2000, 0x1000, RESERVED), R(0x3000, 0x1000, USABLE),
		   R(0x8000, 0x1000, RESERVED));
	assert_int_equal(shim_log_count[LOG_WARN], 4);
	assert_true(shim_log_contains("zero length"));
	assert_true(shim_log_contains("unknown type 4660"));

	/* Nothing but zero-length entries: an empty map. */
	r[0] = R(0x1000, 0, USABLE);
	r[1] = R(0x0, 0, RESERVED);
	nr = 2;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	assert_int_equal(nr, 0);
}

static void test_overflow_at_2_64(void **state)
{
	struct boot_mem_range r[16] = {
		R(0xfffffffffffff000, 0x2000, USABLE),	 /* wraps */
		R(0xffffffffffffe000, 0x2000, RESERVED), /* ends exactly at 2^64 */
		R(U64_MAX, 5, USABLE),			 /* nothing left after clamping */
		R(0x1000, U64_MAX, RESERVED),		 /* the whole space */
		R(0x0, 0x1000, USABLE),
	};
	u32 nr = 5;

	shim_log_reset();
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x1000, USABLE), R(0x1000, U64_MAX - 0x1000, RESERVED));
	assert_int_equal(shim_log_count[LOG_WARN], 4);
	assert_true(shim_log_contains("past 2^64"));

	r[0] = R(0xfffffffffffff000, 0x2000, USABLE);
	nr = 1;
	assert_int_equal(memmap_sanitize(r, &nr, 16), 0);
	EXPECT_MAP(r, nr, R(0xfffffffffffff000, 0xfff, USABLE));
}

static void test_more_than_max(void **state)
{
	const struct boot_mem_range in[] = {
		R(0x0, 0x100000, USABLE),
		R(0x1000, 0x1000, RESERVED),
		R(0x3000, 0x1000, RESERVED),
	};
	struct boot_mem_range r[6];
	u32 nr = 3;

	/* The result needs 5 entries; with room for 3 nothing is touched, nothing written past. */
	memcpy(r, in, sizeof(in));
	for (int i = 3; i < 6; i++)
		r[i] = R(0xdead, 0xbeef, 99);
	assert_int_equal(memmap_sanitize(r, &nr, 3), -E2BIG);
	assert_int_equal(nr, 3);
	expect_map(r, nr, in, 3);
	assert_int_equal(r[3].base, 0xdead);

	assert_int_equal(memmap_sanitize(r, &nr, 4), -E2BIG);
	expect_map(r, nr, in, 3);
	assert_int_equal(r[4].base, 0xdead);

	assert_int_equal(memmap_sanitize(r, &nr, 5), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x1000, USABLE), R(0x1000, 0x1000, RESERVED), R(0x2000, 0x1000, USABLE),
		   R(0x3000, 0x1000, RESERVED), R(0x4000, 0xfc000, USABLE));
	assert_int_equal(r[5].base, 0xdead);

	nr = 7;
	assert_int_equal(memmap_sanitize(r, &nr, 6), -EINVAL);
	assert_int_equal(memmap_sanitize(NULL, &nr, 6), -EINVAL);
}

/* ------------------------------------------------------------------------------------------- */
/* Random maps against a model: one type per 4 KiB unit (0 = hole). */

#define UNITS 96
#define UNIT  0x1000ull

static u64 rng_state = 0x9e3779b97f4a7c15ull;

static u64 rnd(u64 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static u32 norm_type(u32 t)
{
	return (t >= 1 && t <= 7) || t == MEMMAP_KERNEL ? t : RESERVED;
}

/* Checks r is sanitized and matches model[] unit by unit. */
static void check_against_model(const struct boot_mem_range *r, u32 nr, const u32 *model)
{
	u32 got[UNITS] = { 0 };

	for (u32 i = 0; i < nr; i++) {
		assert_true(r[i].length > 0);
		assert_true(r[i].base % UNIT == 0 && r[i].length % UNIT == 0);
		assert_true(r[i].base + r[i].length <= UNITS * UNIT);
		if (i) {
			const struct boot_mem_range *p = &r[i - 1];

			assert_true(p->base + p->length <= r[i].base);
			assert_false(p->base + p->length == r[i].base && p->type == r[i].type);
		}
		for (u64 u = r[i].base / UNIT; u < (r[i].base + r[i].length) / UNIT; u++)
			got[u] = r[i].type;
	}
	for (int u = 0; u < UNITS; u++)
		if (got[u] != model[u]) {
			dump("result", r, nr);
			fail_msg("unit %d: type %u, model says %u", u, got[u], model[u]);
		}
}

static u32 model_runs(const u32 *model)
{
	u32 runs = 0;

	for (int u = 0; u < UNITS; u++)
		if (model[u] && (u == 0 || model[u - 1] != model[u]))
			runs++;
	return runs;
}

static void test_random_sanitize(void **state)
{
	static const u32 types[] = { USABLE, USABLE, USABLE, RESERVED, ACPI, NVS, 5, 6, 7, 12, 0xf00 };

	for (int iter = 0; iter < 3000; iter++) {
		struct boot_mem_range r[64], orig[64];
		u32 model[UNITS] = { 0 };
		u32 n = 1 + (u32)rnd(24), nr = n, max = (u32)(iter % 3 ? 64 : n + rnd(8));

		for (u32 i = 0; i < n; i++) {
			u64 b = rnd(UNITS), l = rnd(MIN(UNITS - b, 24) + 1);

			r[i] = R(b * UNIT, l * UNIT, types[rnd(ARRAY_SIZE(types))]);
			for (u64 u = b; u < b + l; u++)
				model[u] = MAX(model[u], norm_type(r[i].type));
		}
		memcpy(orig, r, sizeof(r));
		if (model_runs(model) > max) {
			assert_int_equal(memmap_sanitize(r, &nr, max), -E2BIG);
			assert_int_equal(nr, n);
			assert_memory_equal(r, orig, sizeof(r));
			continue;
		}
		assert_int_equal(memmap_sanitize(r, &nr, max), 0);
		assert_int_equal(nr, model_runs(model));
		check_against_model(r, nr, model);
		assert_memory_equal(&r[max], &orig[max], (64 - max) * sizeof(r[0]));
	}
}

/* ------------------------------------------------------------------------------------------- */
/* memmap_reserve */

static const struct boot_mem_range small_map[] = {
	R(0x0, 0x9fc00, USABLE),	  R(0x9fc00, 0x400, RESERVED),	  R(0x100000, 0xf00000, USABLE),
	R(0x1000000, 0x100000, RESERVED), R(0x1100000, 0xf00000, USABLE),
};

static u32 load_small(struct boot_mem_range *r)
{
	memcpy(r, small_map, sizeof(small_map));
	return ARRAY_SIZE(small_map);
}

static void test_reserve_positions(void **state)
{
	struct boot_mem_range r[16];
	u32 nr;

	/* At the start of a usable range. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x100000, 0x100000, MEMMAP_KERNEL), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x9fc00, USABLE), R(0x9fc00, 0x400, RESERVED), R(0x100000, 0x100000, MEMMAP_KERNEL),
		   R(0x200000, 0xe00000, USABLE), R(0x1000000, 0x100000, RESERVED), R(0x1100000, 0xf00000, USABLE));

	/* In the middle: split in three. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x200000, 0x1000, MEMMAP_KERNEL), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x9fc00, USABLE), R(0x9fc00, 0x400, RESERVED), R(0x100000, 0x100000, USABLE),
		   R(0x200000, 0x1000, MEMMAP_KERNEL), R(0x201000, 0xdff000, USABLE), R(0x1000000, 0x100000, RESERVED),
		   R(0x1100000, 0xf00000, USABLE));

	/* At the end, same type as the next range: merged with it. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0xf00000, 0x100000, RESERVED), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x9fc00, USABLE), R(0x9fc00, 0x400, RESERVED), R(0x100000, 0xe00000, USABLE),
		   R(0xf00000, 0x200000, RESERVED), R(0x1100000, 0xf00000, USABLE));

	/* A whole range, merging both neighbours. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x0, 0x9fc00, RESERVED), 0);
	EXPECT_MAP(r, nr, R(0x0, 0xa0000, RESERVED), R(0x100000, 0xf00000, USABLE), R(0x1000000, 0x100000, RESERVED),
		   R(0x1100000, 0xf00000, USABLE));

	/* The first MiB: the hole stays a hole, the reserved part stays reserved. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x0, 0x100000, MEMMAP_KERNEL), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x9fc00, MEMMAP_KERNEL), R(0x9fc00, 0x400, RESERVED), R(0x100000, 0xf00000, USABLE),
		   R(0x1000000, 0x100000, RESERVED), R(0x1100000, 0xf00000, USABLE));

	/* Across several ranges, a hole and a reserved range. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x80000, 0x1180000, MEMMAP_KERNEL), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x80000, USABLE), R(0x80000, 0x1fc00, MEMMAP_KERNEL), R(0x9fc00, 0x400, RESERVED),
		   R(0x100000, 0xf00000, MEMMAP_KERNEL), R(0x1000000, 0x100000, RESERVED),
		   R(0x1100000, 0x100000, MEMMAP_KERNEL), R(0x1200000, 0xe00000, USABLE));

	/* Past the last range, up to 2^64: the tail becomes reserved, nothing invented. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x1800000, U64_MAX, RESERVED), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x9fc00, USABLE), R(0x9fc00, 0x400, RESERVED), R(0x100000, 0xf00000, USABLE),
		   R(0x1000000, 0x100000, RESERVED), R(0x1100000, 0x700000, USABLE), R(0x1800000, 0x800000, RESERVED));
}

static void test_reserve_no_change_and_errors(void **state)
{
	struct boot_mem_range r[16];
	u32 nr;

	/* Entirely in a hole, over an already reserved range, zero length: unchanged. */
	nr = load_small(r);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0xa0000, 0x60000, MEMMAP_KERNEL), 0);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x1000000, 0x100000, MEMMAP_KERNEL), 0);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x200000, 0, MEMMAP_KERNEL), 0);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x40000000, 0x1000, MEMMAP_KERNEL), 0);
	expect_map(r, nr, small_map, ARRAY_SIZE(small_map));

	assert_int_equal(memmap_reserve(r, &nr, 16, 0x200000, 0x1000, USABLE), -EINVAL);
	assert_int_equal(memmap_reserve(r, &nr, 4, 0x200000, 0x1000, RESERVED), -EINVAL); /* nr > max */

	/* Not sanitized: overlapping or unsorted. */
	r[0] = R(0x0, 0x2000, USABLE);
	r[1] = R(0x1000, 0x2000, RESERVED);
	nr = 2;
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x0, 0x1000, RESERVED), -EINVAL);
	r[0] = R(0x4000, 0x1000, USABLE);
	r[1] = R(0x0, 0x1000, USABLE);
	assert_int_equal(memmap_reserve(r, &nr, 16, 0x0, 0x1000, RESERVED), -EINVAL);
}

static void test_reserve_full_map(void **state)
{
	struct boot_mem_range r[6];
	u32 nr = load_small(r);

	/* A split in the middle needs two more entries: with room for one, nothing changes. */
	r[5] = R(0xdead, 0xbeef, 99);
	assert_int_equal(memmap_reserve(r, &nr, 6, 0x200000, 0x1000, MEMMAP_KERNEL), -E2BIG);
	expect_map(r, nr, small_map, ARRAY_SIZE(small_map));
	assert_int_equal(r[5].base, 0xdead);
	/* At the start of a range one more entry is enough. */
	assert_int_equal(memmap_reserve(r, &nr, 6, 0x100000, 0x1000, MEMMAP_KERNEL), 0);
	assert_int_equal(nr, 6);

	/* The result fits only after merging: u r u, reserve across, still three entries. */
	r[0] = R(0x0, 0x10000, USABLE);
	r[1] = R(0x10000, 0x10000, RESERVED);
	r[2] = R(0x20000, 0x10000, USABLE);
	nr = 3;
	assert_int_equal(memmap_reserve(r, &nr, 3, 0x8000, 0x20000, RESERVED), 0);
	EXPECT_MAP(r, nr, R(0x0, 0x8000, USABLE), R(0x8000, 0x20000, RESERVED), R(0x28000, 0x8000, USABLE));
}

static void test_random_reserve(void **state)
{
	for (int iter = 0; iter < 3000; iter++) {
		struct boot_mem_range r[64];
		u32 model[UNITS] = { 0 };
		u32 n = 1 + (u32)rnd(16), nr = n;
		u64 b = rnd(UNITS), l = rnd(UNITS - b + 1);
		u32 type = rnd(2) ? MEMMAP_KERNEL : RESERVED;

		for (u32 i = 0; i < n; i++) {
			u64 rb = rnd(UNITS), rl = rnd(MIN(UNITS - rb, 20) + 1);

			r[i] = R(rb * UNIT, rl * UNIT, rnd(3) ? USABLE : NVS);
		}
		assert_int_equal(memmap_sanitize(r, &nr, 64), 0);
		for (u32 i = 0; i < nr; i++)
			for (u64 u = r[i].base / UNIT; u < (r[i].base + r[i].length) / UNIT; u++)
				model[u] = r[i].type;
		for (u64 u = b; u < b + l; u++)
			if (model[u] == USABLE)
				model[u] = type;
		assert_int_equal(memmap_reserve(r, &nr, 64, b * UNIT, l * UNIT, type), 0);
		assert_int_equal(nr, model_runs(model));
		check_against_model(r, nr, model);
	}
}

/* ------------------------------------------------------------------------------------------- */

static void test_clip(void **state)
{
	struct boot_mem_range r[16];
	u32 nr = ARRAY_SIZE(qemu_map);

	/* mem=1G: the usable range crossing 1 GiB is cut, the one above 4 GiB goes, reserved stays. */
	memcpy(r, qemu_map, sizeof(qemu_map));
	assert_int_equal(memmap_clip(r, &nr, 0x40000000), 0x7fee0000 - 0x3ff00000 + 0x180000000ull);
	assert_int_equal(nr, ARRAY_SIZE(qemu_map) - 1);
	assert_int_equal(r[3].base, 0x100000);
	assert_int_equal(r[3].length, 0x3ff00000);
	assert_int_equal(memmap_total(r, nr, USABLE), 0x9fc00 + 0x3ff00000);
	assert_int_equal(memmap_total(r, nr, RESERVED), memmap_total(qemu_map, ARRAY_SIZE(qemu_map), RESERVED));

	/* A limit on a range boundary or above everything changes nothing more. */
	assert_int_equal(memmap_clip(r, &nr, 0x40000000), 0);
	assert_int_equal(memmap_clip(r, &nr, U64_MAX), 0);
	assert_int_equal(nr, ARRAY_SIZE(qemu_map) - 1);

	/* A limit of 0 removes all usable memory. */
	assert_int_equal(memmap_clip(r, &nr, 0), 0x9fc00 + 0x3ff00000);
	assert_int_equal(memmap_total(r, nr, USABLE), 0);
	assert_int_equal(nr, 7);
}

static void test_type_names(void **state)
{
	assert_string_equal(memmap_type_name(USABLE), "usable");
	assert_string_equal(memmap_type_name(RESERVED), "reserved");
	assert_string_equal(memmap_type_name(ACPI), "ACPI data");
	assert_string_equal(memmap_type_name(NVS), "ACPI NVS");
	assert_string_equal(memmap_type_name(MEMMAP_KERNEL), "kernel");
	assert_string_equal(memmap_type_name(0x1234), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_map_unchanged),
		cmocka_unit_test(test_unsorted_duplicated),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_merge_adjacent_and_holes),
		cmocka_unit_test(test_zero_length_and_unknown),
		cmocka_unit_test(test_overflow_at_2_64),
		cmocka_unit_test(test_more_than_max),
		cmocka_unit_test(test_random_sanitize),
		cmocka_unit_test(test_reserve_positions),
		cmocka_unit_test(test_reserve_no_change_and_errors),
		cmocka_unit_test(test_reserve_full_map),
		cmocka_unit_test(test_random_reserve),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
