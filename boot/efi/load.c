/* SPDX-License-Identifier: MIT */
/* The kernel image at its physical addresses, and the modules anywhere below 4 GiB. */
#include "boot/efi/efiapp.h"

#define KERNEL_FILE_MAX (256ULL << 20)
#define MODULE_FILE_MAX (2ULL << 30)

EFI_STATUS load_kernel(struct loader_fs *fs, const char *path, UINT64 *entry)
{
	struct phys_range ranges[ELF_MAX_SEGMENTS];
	struct elf_image img;
	void *file;
	UINT64 size;
	u32 nr;
	EFI_STATUS st;

	info("loading kernel %s", path);
	st = fs_read(fs, path, READ_POOL, KERNEL_FILE_MAX, &file, &size);
	if (EFI_ERROR(st))
		return st;
	if (elf_load_info(file, size, &img, &con_diag)) {
		error("%s is not a loadable Keel kernel", path);
		BS->FreePool(file);
		return EFI_LOAD_ERROR;
	}

	/* Allocated as loader *code*: firmware that maps loader data non-executable (OVMF's
	 * PcdDxeNxMemoryProtectionPolicy) would otherwise fault on the kernel's first instruction,
	 * which runs on the firmware's page tables. */
	nr = elf_page_ranges(&img, ranges, ARRAY_SIZE(ranges));
	for (u32 i = 0; i < nr; i++) {
		EFI_PHYSICAL_ADDRESS pa = ranges[i].base;

		st = pages_alloc(AllocateAddress, EfiLoaderCode, ranges[i].pages, &pa);
		if (EFI_ERROR(st)) {
			error("the kernel must load at %#llx-%#llx, but the firmware will not give that memory (%s):",
			      (unsigned long long)ranges[i].base,
			      (unsigned long long)(ranges[i].base + ranges[i].pages * PAGE_SIZE), efi_status_str(st));
			show_map_overlap(ranges[i].base, ranges[i].pages);
			BS->FreePool(file);
			return st;
		}
	}
	for (u32 i = 0; i < img.nr_segments; i++) {
		const struct elf_segment *s = &img.seg[i];
		u8 *dst = (u8 *)(uintptr_t)s->paddr;

		memcpy(dst, (u8 *)file + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	BS->FreePool(file);
	*entry = img.hdr.efi_entry;
	info("kernel: ELF%u, %u segments at %#llx-%#llx, entry %#llx", img.class_bits, img.nr_segments,
	     (unsigned long long)img.seg[0].paddr,
	     (unsigned long long)(img.seg[img.nr_segments - 1].paddr + img.seg[img.nr_segments - 1].memsz),
	     (unsigned long long)*entry);
	return EFI_SUCCESS;
}

void load_modules(struct loader_fs *fs, const struct keel_cfg *cfg, struct boot_info *bi)
{
	bi->dropped_modules = cfg->dropped_modules;
	for (u32 i = 0; i < cfg->nr_modules; i++) {
		const struct cfg_module *m = &cfg->modules[i];
		struct boot_module *bm = &bi->modules[bi->nr_modules];
		char path[LOADER_PATH_MAX];
		void *data;
		UINT64 size;
		int err;

		err = path_resolve(path, sizeof(path), fs->dir, m->path);
		if (err) {
			error("module %s: %s; booting without it", m->path,
			      err == -E2BIG ? "path too long" : "bad path (printable ASCII only)");
			continue;
		}
		if (EFI_ERROR(fs_read(fs, path, READ_PAGES_LOW, MODULE_FILE_MAX, &data, &size))) {
			error("module %s not loaded; booting without it", path);
			continue;
		}
		bm->base = (u64)(uintptr_t)data;
		bm->size = size;
		memcpy(bm->cmdline, m->args, sizeof(bm->cmdline));
		bi->nr_modules++;
		info("module %u: %s, %llu bytes at %#llx", bi->nr_modules - 1, path, (unsigned long long)size,
		     (unsigned long long)bm->base);
	}
}
