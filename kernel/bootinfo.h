/* SPDX-License-Identifier: MIT */
/*
 * The one boot-information structure every loader fills (multiboot1, multiboot2, keel.efi).
 * Nothing after the kernel entry knows which loader ran. keel.efi compiles this header too, so
 * it uses fixed-width types and explicit padding only.
 */
#ifndef KEEL_BOOTINFO_H
#define KEEL_BOOTINFO_H

#include "kernel/types.h"

#define BOOTINFO_MAGIC	 0x544f4f424c45454bULL /* "KEELBOOT" little-endian */
#define BOOTINFO_VERSION 1

#define BOOT_MAX_MEMRANGES   256
#define BOOT_MAX_MODULES     32
#define BOOT_CMDLINE_MAX     1024
#define BOOT_MODCMD_MAX	     256
#define BOOT_LOADER_NAME_MAX 64

/* Memory types use the E820 numbering (ACPI 6.4 table 15.4). */
enum boot_mem_type {
	BOOT_MEM_USABLE = 1,
	BOOT_MEM_RESERVED = 2,
	BOOT_MEM_ACPI_RECLAIM = 3,
	BOOT_MEM_ACPI_NVS = 4,
	BOOT_MEM_UNUSABLE = 5,
	BOOT_MEM_PERSISTENT = 7,
};

enum boot_loader {
	BOOT_LOADER_MULTIBOOT1 = 1,
	BOOT_LOADER_MULTIBOOT2 = 2,
	BOOT_LOADER_EFI = 3,
};

struct boot_mem_range {
	u64 base;
	u64 length;
	u32 type; /* enum boot_mem_type */
	u32 pad;
};

struct boot_module {
	u64 base; /* physical */
	u64 size;
	char cmdline[BOOT_MODCMD_MAX];
};

enum boot_fb_type { BOOT_FB_NONE = 0, BOOT_FB_RGB = 1 };

struct boot_framebuffer {
	u64 addr;  /* physical */
	u32 pitch; /* bytes per scan line */
	u32 width;
	u32 height;
	u8 bpp;
	u8 type; /* enum boot_fb_type */
	u8 red_pos, red_size;
	u8 green_pos, green_size;
	u8 blue_pos, blue_size;
};

struct boot_info {
	u64 magic;   /* BOOTINFO_MAGIC */
	u32 version; /* BOOTINFO_VERSION */
	u32 loader;  /* enum boot_loader */
	char loader_name[BOOT_LOADER_NAME_MAX];
	char cmdline[BOOT_CMDLINE_MAX];
	/* A copy of the ACPI RSDP (v1: 20 bytes, v2+: 36 bytes); rsdp_len 0 if the loader had none. */
	u8 rsdp[36];
	u32 rsdp_len;
	u32 nr_mem;
	u32 nr_modules;
	/* Entries the loader had to drop because the arrays were full (reported at boot). */
	u32 dropped_mem;
	u32 dropped_modules;
	struct boot_mem_range mem[BOOT_MAX_MEMRANGES];
	struct boot_module modules[BOOT_MAX_MODULES];
	struct boot_framebuffer fb;
	u64 efi_system_table; /* physical, informational; 0 if not booted by UEFI */
};

/*
 * Keel image header, within the first 32 KiB of keel.elf after the multiboot headers, 8-byte
 * aligned. keel.efi finds it by its magic and enters the kernel at efi_entry (a physical
 * address) in 64-bit mode after ExitBootServices(), with:
 *   RDI = physical address (< 4 GiB) of a filled struct boot_info,
 *   interrupts disabled, paging on with the firmware's identity map covering the low 4 GiB.
 */
#define KEEL_IMAGE_MAGIC 0x31474d494c45454bULL /* "KEELIMG1" */

struct keel_image_header {
	u64 magic;
	u32 version;
	u32 header_size;
	u64 efi_entry;
	u64 load_start; /* physical range the image occupies, bss included */
	u64 load_end;
};

#ifndef __ASSEMBLER__
_Static_assert(sizeof(struct boot_mem_range) == 24, "boot_mem_range layout");
_Static_assert(sizeof(struct keel_image_header) == 40, "keel_image_header layout");
#endif

#endif
