/* SPDX-License-Identifier: MIT */
/*
 * The physical memory map: arrays of struct boot_mem_range (E820 type numbers) as the loaders
 * hand them over, made trustworthy before anything allocates from them.
 *
 * Typical boot sequence:
 *   memmap_sanitize(map, &nr, max);                       sorted, disjoint, merged
 *   memmap_clip(map, &nr, limit);                         "mem=" option, if given
 *   memmap_reserve(map, &nr, max, base, len, MEMMAP_KERNEL);  image, modules, boot info, ...
 *   mm_page_init(map, &nr, max, page_directmap);          see kernel/mm/page.h
 *
 * A "sanitized" map is sorted by base, its ranges are non-empty and disjoint, end below 2^64, and
 * adjacent ranges of the same type are merged. memmap_sanitize() produces one; memmap_reserve()
 * and memmap_clip() require one and keep it so.
 *
 * These functions run on the boot CPU before SMP: they share one static scratch buffer and are not
 * reentrant.
 */
#ifndef KEEL_MM_MEMMAP_H
#define KEEL_MM_MEMMAP_H

#include "kernel/bootinfo.h"
#include "kernel/types.h"

/*
 * Keel's own allocations carved out of usable RAM (image, boot modules, boot info, allocator
 * metadata). Not an E820 number: like Linux's E820_TYPE_RESERVED_KERN it is above every
 * firmware type, so it wins every overlap.
 */
#define MEMMAP_KERNEL 0x80u

/* The most ranges the sanitizer and memmap_reserve() can produce (size of their scratch buffer). */
#define MEMMAP_MAX_ENTRIES (2 * BOOT_MAX_MEMRANGES)

/*
 * Makes r[0..*nr) a sanitized map, in place. Zero-length entries are dropped; entries running past
 * 2^64 are clamped to end at 2^64 - 1; unknown types become BOOT_MEM_RESERVED (each with a
 * pr_warn). Where ranges overlap the higher type number wins, so every non-usable type beats
 * BOOT_MEM_USABLE (as Linux's e820 sanitizer resolves them). Returns 0, -EINVAL for bad
 * arguments (*nr > max), or -E2BIG if the result would need more than max (or
 * MEMMAP_MAX_ENTRIES) entries; on error the map is left untouched.
 */
int memmap_sanitize(struct boot_mem_range *r, u32 *nr, u32 max);

/*
 * Marks the usable parts of [base, base + len) as type (which must not be BOOT_MEM_USABLE),
 * splitting ranges as needed. Parts of the span that are holes or already non-usable keep what
 * they were: reserving never invents memory. Returns 0, -EINVAL (usable type, map not sanitized)
 * or -E2BIG (result would not fit in max entries; map untouched).
 */
int memmap_reserve(struct boot_mem_range *r, u32 *nr, u32 max, u64 base, u64 len, u32 type);

/*
 * Applies a "mem=" limit: removes usable memory at or above the physical address limit (a range
 * crossing it is truncated). Other types stay, as on Linux. Never needs more entries. Returns the
 * number of usable bytes removed.
 */
u64 memmap_clip(struct boot_mem_range *r, u32 *nr, u64 limit);

/* Sum of the lengths of the ranges of one type. */
u64 memmap_total(const struct boot_mem_range *r, u32 nr, u32 type);

/* "usable", "reserved", "ACPI data", ... ("unknown" for other numbers). */
const char *memmap_type_name(u32 type);

/* One pr_info line per range: "mem: [0x0000000000100000-0x00000000bfffffff] usable". */
void memmap_print(const struct boot_mem_range *r, u32 nr);

#endif
