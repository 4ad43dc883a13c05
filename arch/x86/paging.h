/* SPDX-License-Identifier: MIT */
/* Keel's own 4-level page tables (Intel SDM vol. 3A §4.5). */
#ifndef KEEL_PAGING_H
#define KEEL_PAGING_H

#include "kernel/bootinfo.h"
#include "kernel/types.h"

#define PTE_P	      (1ULL << 0)
#define PTE_W	      (1ULL << 1)
#define PTE_U	      (1ULL << 2)
#define PTE_PWT	      (1ULL << 3)
#define PTE_PCD	      (1ULL << 4)
#define PTE_A	      (1ULL << 5)
#define PTE_D	      (1ULL << 6)
#define PTE_PS	      (1ULL << 7) /* large page in a PDPTE/PDE */
#define PTE_G	      (1ULL << 8)
#define PTE_NX	      (1ULL << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

/* Memory types through the PAT as Keel programs it (paging.c): PAT index = PCD<<1 | PWT. */
#define PTE_CACHE_WB 0
#define PTE_CACHE_WC PTE_PWT
#define PTE_CACHE_UC (PTE_PCD | PTE_PWT)

/* Protection for map_range(): combinations of these. */
#define MAP_R 0
#define MAP_W PTE_W
#define MAP_X (1ULL << 62) /* software: executable (absence sets NX) */

/*
 * Builds Keel's page tables from the firmware map (RAM in the direct map, the image W^X, guard
 * pages unmapped) using page-table pages from a pool below 4 GiB taken out of `usable`, and
 * switches to them. Returns 0 or a negative errno (then the boot tables stay).
 */
int paging_init(const struct boot_mem_range *ram, u32 nr_ram, struct boot_mem_range *usable, u32 *nr_usable,
		u32 max_usable);

/* Maps [pa, pa+size) at va (all page aligned) with prot and cache bits; large pages where they fit. */
int map_range(u64 va, hpa_t pa, u64 size, u64 prot);
void unmap_range(u64 va, u64 size);

/* Device memory: uncached (or write-combining) mapping in the ioremap area. NULL on failure. */
void *ioremap(hpa_t pa, u64 size, u64 cache);
/* A stack of `size` bytes with an unmapped guard page below it; returns its top. */
void *stack_alloc(u64 size);

hpa_t kernel_pml4(void);
bool nx_supported(void);

#endif
