/* SPDX-License-Identifier: MIT */
/* The parts of the page allocator that touch memory through the direct map (kernel only). */
#include "arch/x86/memlayout.h"
#include "kernel/lib/string.h"
#include "kernel/mm/page.h"

_Static_assert(MM_MAX_PHYS <= DIRECTMAP_SIZE, "the direct map must cover every page the allocator hands out");

void *page_directmap(hpa_t pa, size_t len)
{
	if (pa >= MM_MAX_PHYS || len > MM_MAX_PHYS - pa)
		return NULL;
	return phys_to_virt(pa);
}

hpa_t page_alloc_zeroed(unsigned order)
{
	hpa_t pa = page_alloc(order);

	if (pa != INVALID_HPA)
		memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
	return pa;
}
