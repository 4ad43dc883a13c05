/* SPDX-License-Identifier: MIT */
/* C side of the entry points in boot/entry.S: turn each loader's data into struct boot_info. */
#include "arch/x86/memlayout.h"
#include "boot/multiboot.h"
#include "kernel/bootinfo.h"
#include "kernel/kernel.h"
#include "kernel/lib/string.h"

/* The loader's data lies in the low 4 GiB, identity mapped by the boot page tables. */
static const void *boot_identity(u64 phys, u64 len)
{
	if (phys == 0 || phys >= GiB(4) || len > GiB(4) - phys)
		return NULL;
	return (const void *)(uintptr_t)phys;
}

static struct boot_info bootinfo;

__noreturn void boot_multiboot(u32 magic, u32 info);
__noreturn void boot_multiboot(u32 magic, u32 info)
{
	int err = -EINVAL;

	kernel_early_init();
	if (magic == MB1_BOOT_MAGIC)
		err = multiboot1_parse(&bootinfo, info, boot_identity);
	else if (magic == MB2_BOOT_MAGIC)
		err = multiboot2_parse(&bootinfo, info, boot_identity);
	kernel_main(&bootinfo, magic, err);
}

__noreturn void boot_efi(u64 bi_phys);
__noreturn void boot_efi(u64 bi_phys)
{
	const struct boot_info *src = boot_identity(bi_phys, sizeof(*src));
	int err = -EINVAL;

	kernel_early_init();
	if (src && src->magic == BOOTINFO_MAGIC && src->version == BOOTINFO_VERSION) {
		memcpy(&bootinfo, src, sizeof(bootinfo));
		/* Never trust the counts to be within the arrays. */
		bootinfo.nr_mem = MIN(bootinfo.nr_mem, (u32)BOOT_MAX_MEMRANGES);
		bootinfo.nr_modules = MIN(bootinfo.nr_modules, (u32)BOOT_MAX_MODULES);
		bootinfo.cmdline[BOOT_CMDLINE_MAX - 1] = '\0';
		bootinfo.loader_name[BOOT_LOADER_NAME_MAX - 1] = '\0';
		for (u32 i = 0; i < bootinfo.nr_modules; i++)
			bootinfo.modules[i].cmdline[BOOT_MODCMD_MAX - 1] = '\0';
		bootinfo.rsdp_len = MIN(bootinfo.rsdp_len, (u32)sizeof(bootinfo.rsdp));
		err = 0;
	}
	kernel_main(&bootinfo, BOOT_LOADER_EFI, err);
}
