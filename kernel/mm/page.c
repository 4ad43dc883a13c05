/* SPDX-License-Identifier: MIT */
/* The global page allocator: one locked buddy zone built from the sanitized memory map. */
#include "kernel/mm/page.h"

#include "kernel/log.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/memmap.h"
#include "kernel/spinlock.h"

static struct buddy zone;
static bool zone_ready;
static spinlock_t page_lock = SPINLOCK_INIT;

/* The page-aligned part of usable range e below limit: [*s, *e), false if empty. */
static bool usable_pages(const struct boot_mem_range *e, u64 limit, u64 *s, u64 *end)
{
	u64 re = e->base + e->length;

	if (e->type != BOOT_MEM_USABLE || e->base > limit - PAGE_SIZE)
		return false;
	*s = ALIGN_UP(e->base, PAGE_SIZE);
	*end = ALIGN_DOWN(MIN(re, limit), PAGE_SIZE);
	return *end > *s;
}

/* Picks and maps the metadata storage; returns its address or NULL. */
static void *place_meta(const struct boot_mem_range *r, u32 nr, u64 limit, u64 bytes, hpa_t *pa,
			void *(*map)(hpa_t, size_t))
{
	for (u32 i = 0; i < nr; i++) {
		u64 s, e;
		void *va;

		if (!usable_pages(&r[i], limit, &s, &e))
			continue;
		s = MAX(s, (u64)MM_META_MIN_ADDR);
		if (e <= s || e - s < bytes)
			continue;
		va = map(s, (size_t)bytes);
		if (va) {
			*pa = s;
			return va;
		}
		pr_warn("mm: cannot map page metadata at 0x%llx, trying elsewhere\n", (unsigned long long)s);
	}
	return NULL;
}

int mm_page_init(struct boot_mem_range *r, u32 *nr, u32 max, void *(*map)(hpa_t pa, size_t len))
{
	u64 lo = ~0ull, hi = 0, limit = MM_MAX_PHYS, npages, meta_bytes, meta_end;
	hpa_t meta_pa = 0;
	void *meta;

	if (zone_ready)
		return -EBUSY;
	for (u32 i = 0; i < *nr; i++) {
		u64 s, e;

		if (r[i].type == BOOT_MEM_USABLE && r[i].base + r[i].length > MM_MAX_PHYS)
			pr_warn("mm: ignoring usable memory above 0x%llx\n", (unsigned long long)MM_MAX_PHYS);
		if (usable_pages(&r[i], limit, &s, &e)) {
			lo = MIN(lo, s);
			hi = MAX(hi, e);
		}
	}
	if (hi == 0) {
		pr_err("mm: no usable memory in the memory map\n");
		return -ENOMEM;
	}
	npages = (hi - lo) >> PAGE_SHIFT;
	if (npages > BUDDY_MAX_PAGES) {
		npages = BUDDY_MAX_PAGES;
		hi = lo + (npages << PAGE_SHIFT);
		limit = hi;
		pr_warn("mm: ignoring usable memory above 0x%llx (zone size limit)\n", (unsigned long long)hi);
	}

	meta_bytes = ALIGN_UP((u64)buddy_meta_size(npages), PAGE_SIZE);
	meta = place_meta(r, *nr, limit, meta_bytes, &meta_pa, map);
	if (!meta) {
		pr_err("mm: no usable range above 1 MiB holds the %llu KiB of page metadata\n",
		       (unsigned long long)(meta_bytes >> 10));
		return -ENOMEM;
	}
	meta_end = meta_pa + meta_bytes;
	/* Recorded for the map printed at boot; the release below skips the range either way. */
	if (memmap_reserve(r, nr, max, meta_pa, meta_bytes, MEMMAP_KERNEL))
		pr_warn("mm: page metadata not recorded in the memory map\n");

	buddy_init(&zone, lo, npages, meta);
	for (u32 i = 0; i < *nr; i++) {
		u64 s, e;

		if (!usable_pages(&r[i], limit, &s, &e))
			continue;
		if (s < meta_pa)
			buddy_add_free(&zone, s, MIN(e, meta_pa) - s);
		if (e > meta_end)
			buddy_add_free(&zone, MAX(s, meta_end), e - MAX(s, meta_end));
	}
	zone_ready = true;
	pr_info("mm: %llu MiB in %llu free pages, zone [0x%llx-0x%llx), page metadata %llu KiB at 0x%llx\n",
		(unsigned long long)(zone.managed_pages >> (20 - PAGE_SHIFT)), (unsigned long long)zone.free_pages,
		(unsigned long long)lo, (unsigned long long)hi, (unsigned long long)(meta_bytes >> 10),
		(unsigned long long)meta_pa);
	return 0;
}

hpa_t page_alloc(unsigned order)
{
	unsigned long flags;
	hpa_t pa;

	if (!zone_ready)
		return INVALID_HPA;
	flags = spin_lock_irqsave(&page_lock);
	pa = buddy_alloc(&zone, order);
	spin_unlock_irqrestore(&page_lock, flags);
	return pa;
}

void page_free(hpa_t pa, unsigned order)
{
	struct buddy_free_report rep = { .err = BUDDY_FREE_OUTSIDE, .block = INVALID_HPA };
	unsigned long flags;

	if (zone_ready) {
		flags = spin_lock_irqsave(&page_lock);
		buddy_try_free(&zone, pa, order, &rep);
		spin_unlock_irqrestore(&page_lock, flags);
	}
	/* Panic outside the lock, so the report can still allocate if it needs to. */
	if (rep.err != BUDDY_FREE_OK)
		buddy_panic_bad_free(pa, order, &rep);
}

u64 page_free_count(void)
{
	return __atomic_load_n(&zone.free_pages, __ATOMIC_RELAXED);
}

u64 page_total_count(void)
{
	return __atomic_load_n(&zone.managed_pages, __ATOMIC_RELAXED);
}
