/* SPDX-License-Identifier: MIT */
/*
 * Keel's page tables: the image mapped W^X at KERNEL_VIRT_OFFSET, a direct map of RAM (NX),
 * device mappings in the ioremap area, stacks with guard pages. Nothing is identity mapped once
 * these tables are live, so a stray low pointer faults instead of touching memory.
 */
#include "arch/x86/paging.h"

#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/page.h"
#include "kernel/spinlock.h"

extern char _text[], _etext[], _rodata[], _erodata[], _data[], _edata[], _ksyms[], _image_end[];
extern char boot_stack_guard[];

#define ENTRIES	  512
#define PAT_VALUE 0x0007040600070106ULL /* PA0 WB, PA1 WC, PA2 UC-, PA3 UC, PA4 WB, PA5 WT, PA6 UC-, PA7 UC */

static hpa_t pml4_pa;
static bool directmap_live;
static bool have_nx, have_1g, have_pge;
static spinlock_t pt_lock = SPINLOCK_INIT;

/* Page-table pages before the page allocator exists: a pool below 4 GiB (identity mapped). */
static hpa_t pool_next, pool_end;

static u64 *pt_va(hpa_t pa)
{
	return directmap_live ? phys_to_virt(pa) : (u64 *)(uintptr_t)pa;
}

static hpa_t pt_alloc(void)
{
	hpa_t pa;

	if (pool_next < pool_end) {
		pa = pool_next;
		pool_next += PAGE_SIZE;
	} else if (directmap_live) {
		pa = page_alloc(0);
		if (pa == INVALID_HPA)
			return INVALID_HPA;
	} else {
		return INVALID_HPA;
	}
	memset(pt_va(pa), 0, PAGE_SIZE);
	return pa;
}

static u64 leaf_bits(u64 prot, bool large)
{
	u64 e = PTE_P | (prot & (PTE_W | PTE_PWT | PTE_PCD));

	if (!(prot & MAP_X) && have_nx)
		e |= PTE_NX;
	/* Every Keel mapping is the same in all address spaces: global. */
	if (have_pge)
		e |= PTE_G;
	/* In a large-page entry the PAT bit moves to bit 12; Keel only uses PAT indexes 0-3. */
	(void)large;
	return e;
}

/* Returns the table the entry points to, creating it; NULL if out of memory or a large page. */
static u64 *next_table(u64 *entry)
{
	if (!(*entry & PTE_P)) {
		hpa_t pa = pt_alloc();

		if (pa == INVALID_HPA)
			return NULL;
		*entry = pa | PTE_P | PTE_W;
	} else if (*entry & PTE_PS) {
		return NULL;
	}
	return pt_va(*entry & PTE_ADDR_MASK);
}

static int map_locked(u64 va, hpa_t pa, u64 size, u64 prot)
{
	while (size) {
		u64 *pml4 = pt_va(pml4_pa);
		u64 *pdpt = next_table(&pml4[(va >> 39) & 511]);
		u64 *pd, *pt;

		if (!pdpt)
			return -ENOMEM;
		if (have_1g && IS_ALIGNED(va | pa, GiB(1)) && size >= GiB(1)) {
			pdpt[(va >> 30) & 511] = pa | leaf_bits(prot, true) | PTE_PS;
			va += GiB(1), pa += GiB(1), size -= GiB(1);
			continue;
		}
		pd = next_table(&pdpt[(va >> 30) & 511]);
		if (!pd)
			return -ENOMEM;
		if (IS_ALIGNED(va | pa, MiB(2)) && size >= MiB(2)) {
			pd[(va >> 21) & 511] = pa | leaf_bits(prot, true) | PTE_PS;
			va += MiB(2), pa += MiB(2), size -= MiB(2);
			continue;
		}
		pt = next_table(&pd[(va >> 21) & 511]);
		if (!pt)
			return -ENOMEM;
		pt[(va >> 12) & 511] = pa | leaf_bits(prot, false);
		va += PAGE_SIZE, pa += PAGE_SIZE, size -= PAGE_SIZE;
	}
	return 0;
}

int map_range(u64 va, hpa_t pa, u64 size, u64 prot)
{
	unsigned long flags;
	int ret;

	if (!IS_ALIGNED(va | pa | size, PAGE_SIZE))
		return -EINVAL;
	flags = spin_lock_irqsave(&pt_lock);
	ret = map_locked(va, pa, size, prot);
	spin_unlock_irqrestore(&pt_lock, flags);
	return ret;
}

void unmap_range(u64 va, u64 size)
{
	unsigned long flags = spin_lock_irqsave(&pt_lock);

	for (u64 end = va + size; va < end; va += PAGE_SIZE) {
		u64 *e = pt_va(pml4_pa) + ((va >> 39) & 511);
		int shift;

		for (shift = 30; shift >= 12; shift -= 9) {
			if (!(*e & PTE_P) || (*e & PTE_PS))
				break;
			e = pt_va(*e & PTE_ADDR_MASK) + ((va >> shift) & 511);
		}
		/* Only 4 KiB leaves are unmapped here; large pages are never partially unmapped. */
		if (shift < 12 && (*e & PTE_P)) {
			*e = 0;
			invlpg((void *)va);
		}
	}
	spin_unlock_irqrestore(&pt_lock, flags);
}

static int map_image_part(const char *start, const char *end, u64 prot)
{
	u64 va = (u64)(uintptr_t)start;

	return map_locked(va, va - KERNEL_VIRT_OFFSET, ALIGN_UP((u64)(uintptr_t)end, PAGE_SIZE) - va, prot);
}

static bool is_ram(u32 type)
{
	return type == BOOT_MEM_USABLE || type == BOOT_MEM_ACPI_RECLAIM || type == BOOT_MEM_ACPI_NVS;
}

int paging_init(const struct boot_mem_range *ram, u32 nr_ram, struct boot_mem_range *usable, u32 *nr_usable,
		u32 max_usable)
{
	struct cpuid_regs ext = cpuid(0x80000001, 0), std = cpuid(1, 0);
	u64 need = 16, top = 0;
	int ret;

	have_nx = ext.edx & CPUID80000001_EDX_NX;
	have_1g = ext.edx & CPUID80000001_EDX_PDPE1GB;
	have_pge = std.edx & CPUID1_EDX_PGE;

	/* Size the pool: a page directory per GiB of RAM (none with 1 GiB pages), a PDPT per
	 * 512 GiB, page tables for unaligned range edges, and the image's own tables. */
	for (u32 i = 0; i < nr_ram; i++) {
		if (!is_ram(ram[i].type))
			continue;
		top = MAX(top, ram[i].base + ram[i].length);
		need += 4;
	}
	need += (have_1g ? 2 : top / GiB(1) + 2) + top / GiB(512) + 1;

	for (u32 i = 0; i < *nr_usable && !pool_end; i++) {
		u64 b = ALIGN_UP(usable[i].base, PAGE_SIZE), e = usable[i].base + usable[i].length;

		if (usable[i].type != BOOT_MEM_USABLE || b >= GiB(4))
			continue;
		e = MIN(e, GiB(4));
		if (e > b && (e - b) / PAGE_SIZE >= need) {
			pool_next = b;
			pool_end = b + need * PAGE_SIZE;
		}
	}
	if (!pool_end)
		return -ENOMEM;
	ret = memmap_reserve(usable, nr_usable, max_usable, pool_next, need * PAGE_SIZE, BOOT_MEM_RESERVED);
	if (ret < 0)
		return ret;

	pml4_pa = pt_alloc();
	ret = map_image_part(_text, _etext, MAP_R | MAP_X);
	ret = ret ?: map_image_part(_rodata, _erodata, MAP_R);
	ret = ret ?: map_image_part(_data, boot_stack_guard, MAP_W);
	/* boot_stack_guard's page stays unmapped: a BSP stack overflow faults on it. */
	ret = ret ?: map_image_part(boot_stack_guard + PAGE_SIZE, _edata, MAP_W);
	ret = ret ?: map_image_part(_ksyms, _image_end, MAP_R);
	for (u32 i = 0; i < nr_ram && !ret; i++) {
		u64 b = ALIGN_UP(ram[i].base, PAGE_SIZE), e = ALIGN_DOWN(ram[i].base + ram[i].length, PAGE_SIZE);

		if (is_ram(ram[i].type) && e > b)
			ret = map_locked(DIRECTMAP_BASE + b, b, e - b, MAP_W);
	}
	if (ret)
		return ret;

	if (have_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	if (std.edx & CPUID1_EDX_PAT)
		wrmsr(MSR_PAT, PAT_VALUE);
	if (have_pge)
		write_cr4(read_cr4() | CR4_PGE);
	write_cr3(pml4_pa);
	directmap_live = true;
	return 0;
}

/* The same per-CPU settings on an AP before it loads kernel_pml4(). */
void paging_init_ap(void);
void paging_init_ap(void)
{
	struct cpuid_regs std = cpuid(1, 0);

	if (have_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	if (std.edx & CPUID1_EDX_PAT)
		wrmsr(MSR_PAT, PAT_VALUE);
	if (have_pge)
		write_cr4(read_cr4() | CR4_PGE);
}

hpa_t kernel_pml4(void)
{
	return pml4_pa;
}

bool nx_supported(void)
{
	return have_nx;
}

static u64 ioremap_next = IOREMAP_BASE;
static u64 stacks_next = STACKS_BASE;
static spinlock_t va_lock = SPINLOCK_INIT;

static u64 va_reserve(u64 *next, u64 size, u64 limit)
{
	unsigned long flags = spin_lock_irqsave(&va_lock);
	u64 va = *next;

	if (va + size > limit || va + size < va) {
		va = 0;
	} else {
		*next = va + size;
	}
	spin_unlock_irqrestore(&va_lock, flags);
	return va;
}

void *ioremap(hpa_t pa, u64 size, u64 cache)
{
	u64 off = pa & (PAGE_SIZE - 1);
	u64 len = ALIGN_UP(size + off, PAGE_SIZE);
	u64 va = va_reserve(&ioremap_next, len, IOREMAP_BASE + IOREMAP_SIZE);

	if (!va || size == 0 || map_range(va, pa - off, len, MAP_W | cache))
		return NULL;
	return (void *)(uintptr_t)(va + off);
}

void *stack_alloc(u64 size)
{
	u64 va;

	size = ALIGN_UP(size, PAGE_SIZE);
	va = va_reserve(&stacks_next, size + PAGE_SIZE, STACKS_BASE + GiB(64));
	if (!va)
		return NULL;
	/* va itself is the guard page: never mapped. */
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		hpa_t pa = page_alloc(0);

		if (pa == INVALID_HPA || map_range(va + PAGE_SIZE + off, pa, PAGE_SIZE, MAP_W))
			return NULL;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	}
	return (void *)(uintptr_t)(va + PAGE_SIZE + size);
}
