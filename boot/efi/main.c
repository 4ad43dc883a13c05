/* SPDX-License-Identifier: MIT */
/*
 * keel.efi: starts Keel from UEFI without GRUB. Reads keel.cfg beside itself, loads the kernel
 * and the modules it names, fills a struct boot_info (kernel/bootinfo.h), leaves the firmware
 * and enters the kernel at the efi_entry of its Keel image header.
 */
#include "boot/efi/efiapp.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

static struct keel_cfg cfg; /* ~20 KiB: too big for the firmware's stack */

static EFI_STATUS read_config(struct loader_fs *fs)
{
	char path[LOADER_PATH_MAX];
	void *text;
	UINT64 len;
	EFI_STATUS st;
	int err;

	if (path_resolve(path, sizeof(path), fs->dir, "keel.cfg"))
		return EFI_BAD_BUFFER_SIZE;
	info("reading %s", path);
	st = fs_read(fs, path, READ_POOL, CFG_FILE_MAX, &text, &len);
	if (st == EFI_NOT_FOUND)
		error("keel.efi reads keel.cfg from its own directory; it needs at least a kernel= line");
	if (EFI_ERROR(st))
		return st;
	err = cfg_parse(text, len, &cfg, &con_diag);
	BS->FreePool(text);
	return err ? EFI_LOAD_ERROR : EFI_SUCCESS;
}

static struct boot_info *alloc_boot_info(void)
{
	EFI_PHYSICAL_ADDRESS pa = BELOW_4G;
	UINTN pages = ALIGN_UP(sizeof(struct boot_info), PAGE_SIZE) / PAGE_SIZE;
	EFI_STATUS st;

	/* Below 4 GiB: the kernel's entry reads it before it has mapped anything higher. */
	st = pages_alloc(AllocateMaxAddress, EfiLoaderData, pages, &pa);
	if (EFI_ERROR(st)) {
		error("no memory below 4 GiB for the boot information (%s)", efi_status_str(st));
		return NULL;
	}
	memset((void *)(uintptr_t)pa, 0, pages * PAGE_SIZE);
	return (struct boot_info *)(uintptr_t)pa;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct loader_fs fs;
	struct boot_info *bi;
	char kernel_path[LOADER_PATH_MAX];
	UINT64 entry;
	EFI_STATUS st;
	int err;

	InitializeLib(image, systab);
	/* The firmware's 5-minute watchdog would reset the machine during a slow module load. */
	BS->SetWatchdogTimer(0, 0, 0, NULL);
	con_printf("\n");
	info("Keel UEFI loader");

	if (cpu_has_la57()) {
		error("the firmware runs with 5-level paging (CR4.LA57), which Keel's entry does not support");
		return fatal(EFI_UNSUPPORTED);
	}
	st = fs_init(image, &fs);
	if (EFI_ERROR(st))
		return fatal(st);
	st = read_config(&fs);
	if (EFI_ERROR(st))
		return fatal(st);

	err = path_resolve(kernel_path, sizeof(kernel_path), fs.dir, cfg.kernel);
	if (err) {
		error("kernel=%s: %s", cfg.kernel, err == -E2BIG ? "path too long" : "bad path (printable ASCII only)");
		return fatal(EFI_INVALID_PARAMETER);
	}
	st = load_kernel(&fs, kernel_path, &entry);
	if (EFI_ERROR(st))
		return fatal(st);

	bi = alloc_boot_info();
	if (!bi)
		return fatal(EFI_OUT_OF_RESOURCES);
	memcpy(bi->cmdline, cfg.cmdline, sizeof(bi->cmdline));
	load_modules(&fs, &cfg, bi);
	platform_fill(bi);

	info("command line: \"%s\"", bi->cmdline);
	info("starting Keel (%u module%s); no more loader output after this line", bi->nr_modules,
	     bi->nr_modules == 1 ? "" : "s");
	st = handoff(image, bi, entry);
	return fatal(st);
}
