/* SPDX-License-Identifier: MIT */
/* Keel's virtual address space (x86-64, 4-level paging). */
#ifndef KEEL_MEMLAYOUT_H
#define KEEL_MEMLAYOUT_H

/* Physical address the image is linked to load at (2 MiB aligned so large pages fit). */
#define KERNEL_PHYS_BASE 0x200000
/* The image runs at KERNEL_VIRT_OFFSET + its physical address (top 2 GiB: -mcmodel=kernel). */
#define KERNEL_VIRT_OFFSET 0xffffffff80000000
/* Every byte of RAM (and firmware tables) appears at DIRECTMAP_BASE + physical, NX. */
#define DIRECTMAP_BASE 0xffff800000000000
#define DIRECTMAP_SIZE 0x0000400000000000 /* 64 TiB */
/* Device MMIO mappings (uncached or write-combining), handed out by ioremap(). */
#define IOREMAP_BASE 0xffffc00000000000
#define IOREMAP_SIZE 0x0000010000000000 /* 1 TiB */
/* Stacks with unmapped guard pages between them. */
#define STACKS_BASE 0xffffc10000000000

#define KSTACK_SIZE (16 * 1024)
#define ISTACK_SIZE (8 * 1024)

#ifndef __ASSEMBLER__
#include "kernel/types.h"

static inline void *phys_to_virt(hpa_t pa)
{
	return (void *)(uintptr_t)(pa + DIRECTMAP_BASE);
}

static inline hpa_t virt_to_phys(const void *va)
{
	uintptr_t v = (uintptr_t)va;

	if (v >= (uintptr_t)KERNEL_VIRT_OFFSET)
		return v - (uintptr_t)KERNEL_VIRT_OFFSET;
	return v - (uintptr_t)DIRECTMAP_BASE;
}
#endif

#endif
