/* SPDX-License-Identifier: MIT */
/*
 * The host's physical page allocator: one buddy zone (kernel/mm/buddy.h) spanning usable RAM,
 * behind a lock so every CPU may call it, interrupts included.
 */
#ifndef KEEL_MM_PAGE_H
#define KEEL_MM_PAGE_H

#include "kernel/bootinfo.h"
#include "kernel/types.h"

/* Usable RAM above this is ignored: the direct map (arch/x86/memlayout.h) covers 64 TiB. */
#define MM_MAX_PHYS (1ull << 46)
/* The page metadata is never placed below 1 MiB, which real-mode users (the SMP trampoline) need. */
#define MM_META_MIN_ADDR 0x100000ull

/*
 * Builds the allocator from a sanitized memory map (kernel/mm/memmap.h) in which everything that
 * must survive -- image, boot modules, boot info, the first MiB -- is already reserved.
 *
 * The zone spans the lowest to the highest usable page. Its metadata (12 bytes per page) goes into
 * the lowest usable range at or above MM_META_MIN_ADDR that holds it; that range is reserved in
 * the map as MEMMAP_KERNEL (the map may grow by one entry, up to max) and made addressable with
 * map(pa, len), which returns NULL if it cannot (the next candidate is tried then). The kernel
 * passes page_directmap; host tests pass malloc'ed storage. Then every usable page is released.
 *
 * Returns 0, -EBUSY if already initialized, -ENOMEM if there is no usable memory or no place for
 * the metadata.
 */
int mm_page_init(struct boot_mem_range *r, u32 *nr, u32 max, void *(*map)(hpa_t pa, size_t len));

/* 2^order contiguous pages aligned to their size, or INVALID_HPA. Contents are not zeroed. */
hpa_t page_alloc(unsigned order);
/* Returns pages from page_alloc(); a bad free panics with the reason (see buddy_free()). */
void page_free(hpa_t pa, unsigned order);
/* Pages currently free, and pages managed in total (usable RAM minus what was reserved). */
u64 page_free_count(void);
u64 page_total_count(void);

/* Kernel only (kernel/mm/page_virt.c, uses the direct map). */
void *page_directmap(hpa_t pa, size_t len);
/* page_alloc() with the block zero-filled. */
hpa_t page_alloc_zeroed(unsigned order);

#endif
