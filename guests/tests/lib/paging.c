// SPDX-License-Identifier: MIT
/* Identity paging of [0, 1 GiB) for 32-bit guests: one page directory of 4 MiB PSE pages. 64-bit
 * guests get the same map from entry64.S with 2 MiB pages. */
#include "guest.h"

#define PDE_P		0x001u
#define PDE_W		0x002u
#define PDE_PS		0x080u
#define MAPPED_4M_PAGES (UNMAPPED_ADDR >> 22)

#ifndef __x86_64__
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
#endif

void paging_enable(void)
{
#ifndef __x86_64__
	if (read_cr0() & CR0_PG)
		return;
	if (!(cpuid(1, 0).edx & CPUID_1_EDX_PSE))
		fail_now(GUEST_FAIL, "paging_enable: CPUID reports no PSE (4 MiB pages)");
	for (uint32_t i = 0; i < 1024; i++)
		page_dir[i] = i < MAPPED_4M_PAGES ? (i << 22) | PDE_PS | PDE_W | PDE_P : 0;
	unsigned long cr4 = read_cr4() | CR4_PSE;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	unsigned long cr0 = read_cr0() | CR0_PG;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
#endif
}
