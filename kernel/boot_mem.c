/* SPDX-License-Identifier: MIT */
/* From the loader's memory map to live page tables and a page allocator. */
#include "kernel/boot_mem.h"

#include "arch/x86/memlayout.h"
#include "arch/x86/paging.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/page.h"
#include "kernel/options.h"
#include "kernel/panic.h"

extern char _image_start_phys[], _image_end_phys[];
extern hpa_t smp_trampoline_pa;

struct boot_mem_range fw_map[MEMMAP_MAX_ENTRIES];
u32 fw_nr;
static struct boot_mem_range alloc_map[MEMMAP_MAX_ENTRIES];
static u32 alloc_nr;

/* The AP trampoline needs one page below 1 MiB that nothing else uses (SIPI vector = page). */
static hpa_t pick_trampoline(void)
{
	for (u32 i = 0; i < fw_nr; i++) {
		u64 b = MAX(ALIGN_UP(fw_map[i].base, PAGE_SIZE), (u64)PAGE_SIZE);
		u64 e = MIN(fw_map[i].base + fw_map[i].length, (u64)0x9f000);

		if (fw_map[i].type == BOOT_MEM_USABLE && e > b && e - b >= PAGE_SIZE)
			return b;
	}
	return INVALID_HPA;
}

static bool module_in_ram(const struct boot_module *m)
{
	for (u32 i = 0; i < fw_nr; i++)
		if (m->base >= fw_map[i].base && m->base + m->size <= fw_map[i].base + fw_map[i].length &&
		    fw_map[i].type == BOOT_MEM_USABLE)
			return true;
	return false;
}

void boot_mem_init(struct boot_info *bi)
{
	u64 image_start = (u64)(uintptr_t)_image_start_phys, image_end = (u64)(uintptr_t)_image_end_phys;
	int ret;

	if (bi->dropped_mem)
		pr_warn("mem: the loader's map had %u more ranges than Keel keeps; they are ignored\n",
			bi->dropped_mem);
	fw_nr = MIN(bi->nr_mem, (u32)MEMMAP_MAX_ENTRIES);
	memcpy(fw_map, bi->mem, fw_nr * sizeof(fw_map[0]));
	ret = memmap_sanitize(fw_map, &fw_nr, MEMMAP_MAX_ENTRIES);
	if (ret < 0 || memmap_total(fw_map, fw_nr, BOOT_MEM_USABLE) == 0)
		panic("mem: the loader gave no usable memory map (%d)", ret);
	if (opts.mem) {
		u64 cut = memmap_clip(fw_map, &fw_nr, opts.mem);

		pr_info("mem: mem=%llu MiB leaves out %llu MiB\n", (unsigned long long)(opts.mem >> 20),
			(unsigned long long)(cut >> 20));
	}
	memmap_print(fw_map, fw_nr);

	memcpy(alloc_map, fw_map, fw_nr * sizeof(fw_map[0]));
	alloc_nr = fw_nr;
	smp_trampoline_pa = pick_trampoline();
	/* Real-mode memory (BIOS data, EBDA, the trampoline) and the image itself. */
	ret = memmap_reserve(alloc_map, &alloc_nr, MEMMAP_MAX_ENTRIES, 0, MiB(1), MEMMAP_KERNEL);
	ret = ret
		  ?: memmap_reserve(alloc_map, &alloc_nr, MEMMAP_MAX_ENTRIES, image_start, image_end - image_start,
				    MEMMAP_KERNEL);
	for (u32 i = 0; i < bi->nr_modules && !ret; i++) {
		struct boot_module *m = &bi->modules[i];

		if (!m->size || m->base + m->size < m->base || !module_in_ram(m) ||
		    (m->base < image_end && m->base + m->size > image_start)) {
			pr_err("module %u (%s): placed outside usable RAM or over Keel [%#llx+%#llx]; ignored\n", i,
			       m->cmdline, (unsigned long long)m->base, (unsigned long long)m->size);
			m->size = 0;
			continue;
		}
		ret = memmap_reserve(alloc_map, &alloc_nr, MEMMAP_MAX_ENTRIES, ALIGN_DOWN(m->base, PAGE_SIZE),
				     ALIGN_UP(m->base + m->size, PAGE_SIZE) - ALIGN_DOWN(m->base, PAGE_SIZE),
				     MEMMAP_KERNEL);
	}
	if (ret)
		panic("mem: cannot reserve Keel's own memory (%d)", ret);

	ret = paging_init(fw_map, fw_nr, alloc_map, &alloc_nr, MEMMAP_MAX_ENTRIES);
	if (ret)
		panic("mem: cannot build the kernel page tables (%d)", ret);
	ret = mm_page_init(alloc_map, &alloc_nr, MEMMAP_MAX_ENTRIES, page_directmap);
	if (ret)
		panic("mem: cannot set up the page allocator (%d)", ret);
}

u64 boot_mem_usable_bytes(void)
{
	return memmap_total(fw_map, fw_nr, BOOT_MEM_USABLE);
}

bool phys_is_ram(hpa_t pa, u64 len)
{
	for (u32 i = 0; i < fw_nr; i++) {
		const struct boot_mem_range *r = &fw_map[i];
		bool ram =
		    r->type == BOOT_MEM_USABLE || r->type == BOOT_MEM_ACPI_RECLAIM || r->type == BOOT_MEM_ACPI_NVS;

		if (ram && pa >= r->base && pa - r->base < r->length && len <= r->length - (pa - r->base))
			return true;
	}
	return false;
}
