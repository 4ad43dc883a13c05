/* SPDX-License-Identifier: MIT */
/*
 * Leaving the firmware: the final memory map, ExitBootServices() and the jump into the kernel
 * (UEFI 2.9 section 7.4, EFI_BOOT_SERVICES.ExitBootServices()).
 */
#include "boot/efi/efiapp.h"

#define CR4_LA57  (1ULL << 12) /* Intel SDM vol. 3A section 2.5: 57-bit linear addresses */
#define MAX_TRIES 8

_Static_assert(sizeof(EFI_MEMORY_DESCRIPTOR) == sizeof(struct efi_mem_desc),
	       "memmap.c's descriptor must match the UEFI one");
_Static_assert(offsetof(EFI_MEMORY_DESCRIPTOR, NumberOfPages) == offsetof(struct efi_mem_desc, num_pages),
	       "memmap.c's descriptor must match the UEFI one");

/* The kernel's efi_entry is 64-bit code taking boot_info in RDI, which is the System V ABI;
 * GNU-EFI code may default to the Microsoft one, so say which. */
typedef void __attribute__((sysv_abi, noreturn)) (*kernel_entry_t)(u64 boot_info);

bool cpu_has_la57(void)
{
	u64 cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	return cr4 & CR4_LA57;
}

EFI_STATUS handoff(EFI_HANDLE image, struct boot_info *bi, UINT64 entry)
{
	UINTN cap = 0, size, key = 0, desc_size = 0;
	UINT32 desc_ver;
	void *map = NULL;
	bool tried_exit = false;
	EFI_STATUS st = EFI_SUCCESS;

	/*
	 * Every allocation changes the map, and after the first ExitBootServices() call only the
	 * memory-allocation services may be used (no console). So: size the buffer with slack for
	 * its own entries, fetch the map, exit; if the key went stale in between (the firmware's
	 * timer callbacks allocate too), fetch again into the same buffer and retry.
	 */
	for (unsigned tries = 0; tries < MAX_TRIES; tries++) {
		size = cap;
		st = BS->GetMemoryMap(&size, map, &key, &desc_size, &desc_ver);
		if (st == EFI_BUFFER_TOO_SMALL) {
			if (map)
				BS->FreePool(map);
			cap = size + 8 * MAX(desc_size, sizeof(EFI_MEMORY_DESCRIPTOR));
			map = NULL;
			st = BS->AllocatePool(EfiLoaderData, cap, &map);
			if (EFI_ERROR(st))
				break;
			continue;
		}
		if (EFI_ERROR(st))
			break;
		st = BS->ExitBootServices(image, key);
		if (!EFI_ERROR(st))
			goto exited;
		tried_exit = true;
		if (st != EFI_INVALID_PARAMETER)
			break;
	}
	/* The console may already be gone after a failed ExitBootServices(); try anyway. */
	error("could not leave the firmware (%s%s)", efi_status_str(st),
	      tried_exit ? " from ExitBootServices" : " getting the memory map");
	return EFI_ERROR(st) ? st : EFI_ABORTED;

exited:
	/* No boot services from here on: no console, no allocation. */
	__asm__ volatile("cli" ::: "memory");
	memmap_from_efi(bi, map, size, desc_size);
	((kernel_entry_t)(uintptr_t)entry)((u64)(uintptr_t)bi);
}
