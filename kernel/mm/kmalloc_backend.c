/* SPDX-License-Identifier: MIT */
/* kmalloc's pages: the page allocator, addressed through the direct map (kernel only). */
#include "arch/x86/memlayout.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"

void *kmalloc_backend_alloc(unsigned order)
{
	hpa_t pa = page_alloc(order);

	return pa == INVALID_HPA ? NULL : phys_to_virt(pa);
}

void kmalloc_backend_free(void *va, unsigned order)
{
	page_free(virt_to_phys(va), order);
}
