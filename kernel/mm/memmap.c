/* SPDX-License-Identifier: MIT */
/*
 * Memory-map sanitizer. Firmware maps arrive unsorted, duplicated, nested, overlapping, with
 * zero-length entries and type numbers nobody defined; everything after this file may assume a
 * sorted, disjoint, merged map.
 *
 * Overlaps are resolved with a sweep over the boundary points: each elementary interval between
 * two consecutive boundaries takes the highest type number among the entries covering it. The
 * boundaries are found by rescanning the entries (O(n^2) for n <= a few hundred, at boot) rather
 * than sorted into a second array, and the result goes to a static scratch buffer first so the
 * caller's array is only rewritten once the result is known to fit.
 */
#include "kernel/mm/memmap.h"

#include "kernel/lib/string.h"
#include "kernel/log.h"

#define U64_MAX (~(u64)0)

static struct boot_mem_range scratch[MEMMAP_MAX_ENTRIES];

static bool type_known(u32 type)
{
	return (type >= BOOT_MEM_USABLE && type <= BOOT_MEM_PERSISTENT) || type == MEMMAP_KERNEL;
}

const char *memmap_type_name(u32 type)
{
	switch (type) {
	case BOOT_MEM_USABLE:
		return "usable";
	case BOOT_MEM_RESERVED:
		return "reserved";
	case BOOT_MEM_ACPI_RECLAIM:
		return "ACPI data";
	case BOOT_MEM_ACPI_NVS:
		return "ACPI NVS";
	case BOOT_MEM_UNUSABLE:
		return "unusable";
	case 6: /* ACPI 6.4 table 15.4: AddressRangeDisabled */
		return "disabled";
	case BOOT_MEM_PERSISTENT:
		return "persistent";
	case MEMMAP_KERNEL:
		return "kernel";
	default:
		return "unknown";
	}
}

/*
 * The entry as the sweep sees it: [*base, *end) with end clamped below 2^64 and the type
 * normalized. Returns false for entries that cover nothing.
 */
static bool entry_get(const struct boot_mem_range *e, u64 *base, u64 *end, u32 *type)
{
	if (e->length == 0)
		return false;
	*base = e->base;
	*end = e->length > U64_MAX - e->base ? U64_MAX : e->base + e->length;
	*type = type_known(e->type) ? e->type : BOOT_MEM_RESERVED;
	return *end > *base;
}

static void warn_bad_entries(const struct boot_mem_range *r, u32 nr)
{
	for (u32 i = 0; i < nr; i++) {
		const struct boot_mem_range *e = &r[i];

		if (e->length == 0) {
			pr_warn("mem: firmware map entry %u at 0x%llx has zero length, ignored\n", i,
				(unsigned long long)e->base);
			continue;
		}
		if (e->length > U64_MAX - e->base)
			pr_warn("mem: firmware map entry %u [0x%llx+0x%llx] runs past 2^64, clamped\n", i,
				(unsigned long long)e->base, (unsigned long long)e->length);
		if (!type_known(e->type))
			pr_warn("mem: firmware map entry %u at 0x%llx has unknown type %u, treated as reserved\n", i,
				(unsigned long long)e->base, e->type);
	}
}

/* Appends [base, end) to out[], merging with the previous range when they touch and match. */
static bool emit(struct boot_mem_range *out, u32 *n, u32 cap, u64 base, u64 end, u32 type)
{
	struct boot_mem_range *last = *n ? &out[*n - 1] : NULL;

	if (end <= base)
		return true;
	if (last && last->type == type && last->base + last->length == base) {
		last->length += end - base;
		return true;
	}
	if (*n >= cap)
		return false;
	out[*n] = (struct boot_mem_range){ .base = base, .length = end - base, .type = type };
	(*n)++;
	return true;
}

/* The smallest boundary (entry start or end) strictly above x; false if there is none. */
static bool next_boundary(const struct boot_mem_range *r, u32 nr, u64 x, u64 *next)
{
	bool found = false;
	u64 best = U64_MAX;

	for (u32 i = 0; i < nr; i++) {
		u64 base, end;
		u32 type;

		if (!entry_get(&r[i], &base, &end, &type))
			continue;
		if (base > x && base <= best) {
			best = base;
			found = true;
		}
		if (end > x && end <= best) {
			best = end;
			found = true;
		}
	}
	*next = best;
	return found;
}

/* The winning type at address x: the highest type number covering it, 0 for a hole. */
static u32 type_at(const struct boot_mem_range *r, u32 nr, u64 x)
{
	u32 best = 0;

	for (u32 i = 0; i < nr; i++) {
		u64 base, end;
		u32 type;

		if (entry_get(&r[i], &base, &end, &type) && base <= x && x < end && type > best)
			best = type;
	}
	return best;
}

static void copy_back(struct boot_mem_range *r, u32 *nr, u32 n)
{
	memcpy(r, scratch, n * sizeof(*r));
	*nr = n;
}

int memmap_sanitize(struct boot_mem_range *r, u32 *nr, u32 max)
{
	u32 cap = MIN(max, (u32)MEMMAP_MAX_ENTRIES);
	u32 n = 0;
	u64 x = U64_MAX;
	bool any = false;

	if (!r || !nr || *nr > max)
		return -EINVAL;
	warn_bad_entries(r, *nr);

	for (u32 i = 0; i < *nr; i++) {
		u64 base, end;
		u32 type;

		if (entry_get(&r[i], &base, &end, &type) && base <= x) {
			x = base;
			any = true;
		}
	}
	while (any) {
		u64 next;
		u32 type;

		if (!next_boundary(r, *nr, x, &next))
			break;
		type = type_at(r, *nr, x);
		if (type && !emit(scratch, &n, cap, x, next, type)) {
			pr_err("mem: sanitized memory map needs more than %u entries\n", cap);
			return -E2BIG;
		}
		x = next;
	}
	copy_back(r, nr, n);
	return 0;
}

static bool map_is_sane(const struct boot_mem_range *r, u32 nr)
{
	for (u32 i = 0; i < nr; i++) {
		if (r[i].length == 0 || r[i].length > U64_MAX - r[i].base)
			return false;
		if (i && r[i].base < r[i - 1].base + r[i - 1].length)
			return false;
	}
	return true;
}

int memmap_reserve(struct boot_mem_range *r, u32 *nr, u32 max, u64 base, u64 len, u32 type)
{
	u32 cap = MIN(max, (u32)MEMMAP_MAX_ENTRIES);
	u64 end = len > U64_MAX - base ? U64_MAX : base + len;
	u32 n = 0;

	if (!r || !nr || *nr > max || type == BOOT_MEM_USABLE || type == 0)
		return -EINVAL;
	if (!map_is_sane(r, *nr)) {
		pr_err("mem: memmap_reserve on a map that is not sanitized\n");
		return -EINVAL;
	}
	if (end <= base)
		return 0;

	for (u32 i = 0; i < *nr; i++) {
		u64 rb = r[i].base, re = rb + r[i].length;
		bool ok;

		if (r[i].type != BOOT_MEM_USABLE || re <= base || rb >= end) {
			ok = emit(scratch, &n, cap, rb, re, r[i].type);
		} else {
			ok = emit(scratch, &n, cap, rb, MAX(rb, base), BOOT_MEM_USABLE) &&
			     emit(scratch, &n, cap, MAX(rb, base), MIN(re, end), type) &&
			     emit(scratch, &n, cap, MIN(re, end), re, BOOT_MEM_USABLE);
		}
		if (!ok) {
			pr_err("mem: no room in the memory map (%u entries) to reserve [0x%llx-0x%llx)\n", cap,
			       (unsigned long long)base, (unsigned long long)end);
			return -E2BIG;
		}
	}
	copy_back(r, nr, n);
	return 0;
}

u64 memmap_clip(struct boot_mem_range *r, u32 *nr, u64 limit)
{
	u64 dropped = 0;
	u32 n = 0;

	for (u32 i = 0; i < *nr; i++) {
		struct boot_mem_range e = r[i];

		if (e.type == BOOT_MEM_USABLE && e.base >= limit) {
			dropped += e.length;
			continue;
		}
		if (e.type == BOOT_MEM_USABLE && e.length > limit - e.base) {
			dropped += e.length - (limit - e.base);
			e.length = limit - e.base;
		}
		r[n++] = e;
	}
	*nr = n;
	return dropped;
}

u64 memmap_total(const struct boot_mem_range *r, u32 nr, u32 type)
{
	u64 sum = 0;

	for (u32 i = 0; i < nr; i++)
		if (r[i].type == type)
			sum += r[i].length;
	return sum;
}

void memmap_print(const struct boot_mem_range *r, u32 nr)
{
	for (u32 i = 0; i < nr; i++)
		pr_info("mem: [0x%016llx-0x%016llx] %s\n", (unsigned long long)r[i].base,
			(unsigned long long)(r[i].base + r[i].length - 1), memmap_type_name(r[i].type));
}
