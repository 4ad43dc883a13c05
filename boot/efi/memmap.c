/* SPDX-License-Identifier: MIT */
/*
 * UEFI memory map -> E820 ranges, after ExitBootServices(): no allocation, no firmware call.
 * Type mapping from UEFI 2.9 section 7.2 (EFI_MEMORY_TYPE) and ACPI 6.4 section 15.4
 * ("UEFI Memory Types and mapping to ACPI address range types").
 */
#include "boot/efi/loader.h"

enum efi_memory_type {
	EfiReservedMemoryType = 0,
	EfiLoaderCode = 1,
	EfiLoaderData = 2,
	EfiBootServicesCode = 3,
	EfiBootServicesData = 4,
	EfiRuntimeServicesCode = 5,
	EfiRuntimeServicesData = 6,
	EfiConventionalMemory = 7,
	EfiUnusableMemory = 8,
	EfiACPIReclaimMemory = 9,
	EfiACPIMemoryNVS = 10,
	EfiMemoryMappedIO = 11,
	EfiMemoryMappedIOPortSpace = 12,
	EfiPalCode = 13,
	EfiPersistentMemory = 14,
};

u32 efi_type_to_e820(u32 efi_type, u64 attribute)
{
	switch (efi_type) {
	case EfiLoaderCode:
	case EfiLoaderData:
		/* keel.efi's own allocations: the kernel image, the modules and boot_info are among
		 * them, and the kernel reserves those itself (it knows where they are). */
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
		/* Specific-purpose memory is meant for one driver, not the general allocator. */
		return (attribute & EFI_MEMORY_SP) ? BOOT_MEM_RESERVED : BOOT_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_UNUSABLE;
	case EfiPersistentMemory:
		return BOOT_MEM_PERSISTENT;
	default:
		/* Runtime services code/data, MMIO, reserved, PAL code, unaccepted memory and types
		 * newer than this code: the firmware keeps them, and so must we. */
		return BOOT_MEM_RESERVED;
	}
}

static struct efi_mem_desc *desc_at(void *map, size_t desc_size, size_t i)
{
	return (struct efi_mem_desc *)((u8 *)map + i * desc_size);
}

/* Insertion sort by start address, swapping whole descriptors byte by byte (desc_size is the
 * firmware's, possibly larger than struct efi_mem_desc). Maps hold a few hundred entries. */
static void sort_map(void *map, size_t n, size_t desc_size)
{
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			u8 *a = (u8 *)desc_at(map, desc_size, j - 1), *b = (u8 *)desc_at(map, desc_size, j);

			if (((struct efi_mem_desc *)a)->phys_start <= ((struct efi_mem_desc *)b)->phys_start)
				break;
			for (size_t k = 0; k < desc_size; k++) {
				u8 t = a[k];

				a[k] = b[k];
				b[k] = t;
			}
		}
	}
}

void memmap_from_efi(struct boot_info *bi, void *map, size_t map_size, size_t desc_size)
{
	size_t n;

	bi->nr_mem = 0;
	bi->dropped_mem = 0;
	if (desc_size < sizeof(struct efi_mem_desc))
		return;
	n = map_size / desc_size;
	sort_map(map, n, desc_size);

	for (size_t i = 0; i < n; i++) {
		const struct efi_mem_desc *e = desc_at(map, desc_size, i);
		struct boot_mem_range *prev = bi->nr_mem ? &bi->mem[bi->nr_mem - 1] : NULL;
		u32 type = efi_type_to_e820(e->type, e->attribute);
		u64 len;

		/* Zero-length or address-space-wrapping entries are firmware bugs: skip them. */
		if (!e->num_pages || e->num_pages > (~0ULL - e->phys_start) >> PAGE_SHIFT)
			continue;
		len = e->num_pages << PAGE_SHIFT;
		if (prev && prev->type == type && prev->base + prev->length >= e->phys_start) {
			u64 end = e->phys_start + len;

			if (end > prev->base + prev->length)
				prev->length = end - prev->base;
			continue;
		}
		if (bi->nr_mem == BOOT_MAX_MEMRANGES) {
			bi->dropped_mem++;
			continue;
		}
		bi->mem[bi->nr_mem++] = (struct boot_mem_range){ .base = e->phys_start, .length = len, .type = type };
	}
}
