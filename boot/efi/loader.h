/* SPDX-License-Identifier: MIT */
/*
 * keel.efi's firmware-independent parts: the keel.cfg parser, path resolution, ELF checks, the
 * UEFI -> E820 memory-map conversion and the boot_info helpers. Nothing here includes GNU-EFI or
 * calls the firmware, so host unit tests can compile these files as they are (with libc's
 * memcpy/memset; in keel.efi those come from GNU-EFI's libefi).
 */
#ifndef KEEL_EFI_LOADER_H
#define KEEL_EFI_LOADER_H

#include "kernel/bootinfo.h"
#include "kernel/types.h"
#include <stdarg.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

/* ---- fmt.c: C-syntax formatting (checked by -Wformat), the subset listed in fmt.c ---- */
int efi_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int efi_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
size_t efi_strlen(const char *s);

/* ---- Diagnostics: the firmware-independent code reports through this ---- */
enum diag_level { DIAG_INFO, DIAG_WARN, DIAG_ERROR };

struct diag {
	void (*report)(void *ctx, enum diag_level level, const char *msg);
	void *ctx;
};

void diagf(const struct diag *d, enum diag_level level, const char *fmt, ...) __printf(3, 4);

/* ---- config.c: keel.cfg (format in boot/efi/README.md) ---- */
#define CFG_PATH_MAX 256	 /* bytes, NUL included */
#define CFG_FILE_MAX (64 * 1024) /* a larger keel.cfg is refused, not truncated */

struct cfg_module {
	char path[CFG_PATH_MAX];
	char args[BOOT_MODCMD_MAX]; /* becomes boot_module.cmdline */
};

struct keel_cfg {
	char kernel[CFG_PATH_MAX];
	char cmdline[BOOT_CMDLINE_MAX];
	u32 nr_modules;
	u32 dropped_modules; /* module= lines beyond BOOT_MAX_MODULES */
	struct cfg_module modules[BOOT_MAX_MODULES];
};

/* Warnings go to d; returns 0, or -ENOENT with an error reported when there is no kernel=. */
int cfg_parse(const char *text, size_t len, struct keel_cfg *cfg, const struct diag *d);

/* ---- path.c ---- */
#define LOADER_PATH_MAX 512 /* bytes, NUL included, of a resolved volume path */

/*
 * Resolves a keel.cfg path against dir (keel.efi's directory, "\EFI\BOOT" or "" for the root):
 * a leading '\' or '/' makes it absolute from the volume root. The result uses '\' only, with
 * no repeated or trailing separator. Returns 0, -EINVAL (empty, or a byte outside printable
 * ASCII: UEFI file names are UCS-2 and keel.cfg is read as ASCII) or -E2BIG.
 */
int path_resolve(char *out, size_t size, const char *dir, const char *path);
/* Cuts the last component off a resolved path: "\EFI\BOOT\BOOTX64.EFI" -> "\EFI\BOOT". */
void path_dirname(char *path);

/* ---- elf.c ---- */
#define ELF_MAX_SEGMENTS 16
#define ELF_PF_X	 1
#define KEEL_HEADER_SCAN (32 * 1024)

struct elf_segment {
	u64 offset; /* in the file */
	u64 paddr;
	u64 filesz;
	u64 memsz;
	u32 flags; /* PF_* */
};

struct elf_image {
	unsigned class_bits; /* 32 or 64 */
	u32 nr_segments;     /* PT_LOAD segments with p_memsz > 0, sorted by paddr */
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	struct keel_image_header hdr;
};

/*
 * Validates an ELF32 or ELF64 x86 executable held in memory and collects its PT_LOAD segments
 * (non-overlapping, below 4 GiB) and the Keel image header (entry inside an executable
 * segment's file-backed bytes). Every failure is reported on d and returns -EINVAL.
 */
int elf_load_info(const void *file, size_t size, struct elf_image *img, const struct diag *d);

/* Page-aligned physical ranges covering all segments; segments sharing a page share a range. */
struct phys_range {
	u64 base;
	u64 pages;
};
u32 elf_page_ranges(const struct elf_image *img, struct phys_range *out, u32 max);

/* ---- memmap.c ---- */
/* A UEFI memory descriptor (UEFI 2.9 section 7.2, EFI_MEMORY_DESCRIPTOR). Descriptors in a
 * GetMemoryMap() buffer are desc_size bytes apart, which may be more than this struct. */
struct efi_mem_desc {
	u32 type;
	u32 pad;
	u64 phys_start;
	u64 virt_start;
	u64 num_pages;
	u64 attribute;
};

#define EFI_MEMORY_SP 0x40000ULL /* specific-purpose memory (UEFI 2.8+) */

u32 efi_type_to_e820(u32 efi_type, u64 attribute);

/*
 * Fills bi->mem, bi->nr_mem and bi->dropped_mem from a GetMemoryMap() buffer. Sorts the buffer
 * in place (firmware need not sort it) and merges adjacent ranges of the same E820 type. Allocates
 * nothing and calls nothing: it runs after ExitBootServices().
 */
void memmap_from_efi(struct boot_info *bi, void *map, size_t map_size, size_t desc_size);

/* ---- bootinfo.c ---- */
/* Copies a valid RSDP (checksums, revision, length) into bi->rsdp; false if it is not one. */
bool rsdp_copy(struct boot_info *bi, const void *rsdp);
/* Position and width of the set bits of a colour mask (0, 0 for an empty mask). */
void fb_mask_to_field(u32 mask, u8 *pos, u8 *size);

#endif
