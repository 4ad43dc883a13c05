/* SPDX-License-Identifier: MIT */
/* Page allocations that outlive keel.efi (kernel image, modules, boot_info). */
#include "boot/efi/efiapp.h"

#define MAX_ALLOCS (BOOT_MAX_MODULES + ELF_MAX_SEGMENTS + 4)

static struct {
	EFI_PHYSICAL_ADDRESS base;
	UINTN pages;
} allocs[MAX_ALLOCS];
static unsigned nr_allocs;

EFI_STATUS pages_alloc(EFI_ALLOCATE_TYPE type, EFI_MEMORY_TYPE mem_type, UINTN pages, EFI_PHYSICAL_ADDRESS *addr)
{
	EFI_STATUS st;

	if (nr_allocs == MAX_ALLOCS)
		return EFI_OUT_OF_RESOURCES; /* cannot happen: the tables bound the callers */
	st = BS->AllocatePages(type, mem_type, pages, addr);
	if (!EFI_ERROR(st))
		allocs[nr_allocs++] = (typeof(allocs[0])){ *addr, pages };
	return st;
}

/* Only on the way back to the firmware after a failed boot. */
void pages_free_all(void)
{
	while (nr_allocs) {
		nr_allocs--;
		BS->FreePages(allocs[nr_allocs].base, allocs[nr_allocs].pages);
	}
}

const char *efi_mem_type_str(u32 type)
{
	static const char *const names[] = {
		"reserved",
		"loader code",
		"loader data",
		"boot services code",
		"boot services data",
		"runtime services code",
		"runtime services data",
		"free (conventional)",
		"unusable",
		"ACPI reclaim",
		"ACPI NVS",
		"MMIO",
		"MMIO port space",
		"PAL code",
		"persistent",
		"unaccepted",
	};

	return type < ARRAY_SIZE(names) ? names[type] : "unknown type";
}

void show_map_overlap(EFI_PHYSICAL_ADDRESS base, UINTN pages)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_ver;
	void *map = NULL;
	EFI_STATUS st;
	u64 end = base + pages * PAGE_SIZE;

	st = BS->GetMemoryMap(&size, NULL, &key, &desc_size, &desc_ver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return;
	size += 4 * desc_size;
	if (BS->AllocatePool(EfiLoaderData, size, &map) != EFI_SUCCESS)
		return;
	if (BS->GetMemoryMap(&size, map, &key, &desc_size, &desc_ver) == EFI_SUCCESS) {
		for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
			const EFI_MEMORY_DESCRIPTOR *e = (const EFI_MEMORY_DESCRIPTOR *)((u8 *)map + off);
			u64 e_end = e->PhysicalStart + e->NumberOfPages * PAGE_SIZE;

			if (e->PhysicalStart < end && e_end > base)
				error("  firmware memory %#llx-%#llx: %s", (unsigned long long)e->PhysicalStart,
				      (unsigned long long)e_end, efi_mem_type_str(e->Type));
		}
	}
	BS->FreePool(map);
}
