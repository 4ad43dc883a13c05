/* SPDX-License-Identifier: MIT */
/*
 * Nested page tables: guest-physical to host-physical for a VM, in the host's own 4-level page
 * table format (AMD APM vol. 2 §15.25.5), with 1 GiB and 2 MiB pages where aligned. Every page is
 * user, writable and executable: what a guest may touch is decided by what is mapped at all.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/nested_pt.h"
#include "arch/x86/svm/svm.h"
#include "kernel/mm/page.h"

#define NPT_FLAGS (PTE_P_ | PTE_W_ | PTE_U_)
#define PTE_P_	  (1ULL << 0)
#define PTE_W_	  (1ULL << 1)
#define PTE_U_	  (1ULL << 2)
#define PTE_PS_	  (1ULL << 7)
#define PTE_ADDR  0x000ffffffffff000ULL

static bool npt_1g; /* nested page tables use the host's formats: 1 GiB pages if it has them */

void svm_npt_init(void)
{
	npt_1g = cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PDPE1GB;
}

static u64 *npt_table(u64 *entry)
{
	if (!(*entry & PTE_P_)) {
		hpa_t pa = page_alloc_zeroed(0);

		if (pa == INVALID_HPA)
			return NULL;
		*entry = pa | NPT_FLAGS;
	} else if (*entry & PTE_PS_) {
		return NULL;
	}
	return phys_to_virt(*entry & PTE_ADDR);
}

int svm_npt_map(struct vm *vm, u64 gpa, hpa_t hpa, u64 size)
{
	while (size) {
		u64 *pml4 = phys_to_virt(vm->arch.svm.npt_root);
		u64 *pdpt = npt_table(&pml4[(gpa >> 39) & 511]), *pd, *pt;

		if (!pdpt)
			return -ENOMEM;
		if (npt_1g && IS_ALIGNED(gpa | hpa, GiB(1)) && size >= GiB(1)) {
			pdpt[(gpa >> 30) & 511] = hpa | NPT_FLAGS | PTE_PS_;
			gpa += GiB(1), hpa += GiB(1), size -= GiB(1);
			continue;
		}
		if (!(pd = npt_table(&pdpt[(gpa >> 30) & 511])))
			return -ENOMEM;
		if (IS_ALIGNED(gpa | hpa, MiB(2)) && size >= MiB(2)) {
			pd[(gpa >> 21) & 511] = hpa | NPT_FLAGS | PTE_PS_;
			gpa += MiB(2), hpa += MiB(2), size -= MiB(2);
			continue;
		}
		pt = npt_table(&pd[(gpa >> 21) & 511]);
		if (!pt)
			return -ENOMEM;
		pt[(gpa >> 12) & 511] = hpa | NPT_FLAGS;
		gpa += PAGE_SIZE, hpa += PAGE_SIZE, size -= PAGE_SIZE;
	}
	return 0;
}

void svm_npt_free(hpa_t table, int level)
{
	u64 *t = phys_to_virt(table);

	for (int i = 0; level > 1 && i < 512; i++)
		if ((t[i] & PTE_P_) && !(t[i] & PTE_PS_))
			svm_npt_free(t[i] & PTE_ADDR, level - 1);
	page_free(table, 0);
}

int svm_npt_unmap(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale)
{
	return nested_pt_unmap(phys_to_virt(vm->arch.svm.npt_root), PTE_P_, gpa, size, stale);
}

void svm_npt_free_stale(struct nested_stale *stale)
{
	for (u32 i = 0; i < stale->nr; i++)
		svm_npt_free(stale->t[i].table, stale->t[i].level);
	stale->nr = 0;
}
