/* SPDX-License-Identifier: MIT */
/* keel.efi's firmware-facing parts (GNU-EFI). The firmware-independent ones are in loader.h. */
#ifndef KEEL_EFI_EFIAPP_H
#define KEEL_EFI_EFIAPP_H

#include <efi.h>
#include <efilib.h>

#include "boot/efi/loader.h"

/* Firmware calls are made directly through GNU-EFI's EFIAPI (ms_abi) prototypes, which
 * efibind.h only declares so when GNU_EFI_USE_MS_ABI is defined. Without it the same calls
 * would compile with the wrong calling convention, so refuse to build instead. */
#ifndef HAVE_USE_MS_ABI
#error "keel.efi needs -DGNU_EFI_USE_MS_ABI (see boot/efi/efi.mk)"
#endif

/* ---- console.c: ConOut, which OVMF and most firmware also copy to the serial console ---- */
void con_printf(const char *fmt, ...) __printf(1, 2);
void info(const char *fmt, ...) __printf(1, 2);
void warn(const char *fmt, ...) __printf(1, 2);
void error(const char *fmt, ...) __printf(1, 2);
void con_print_w(CHAR16 *s);
const char *efi_status_str(EFI_STATUS status);
extern const struct diag con_diag;
/* After an error that stops the boot: waits for a key (at most 10 s), frees the loader's pages
 * and returns status for efi_main to hand back to the firmware's boot manager. */
EFI_STATUS fatal(EFI_STATUS status);

/* ---- mem.c: page allocations, remembered so a failed boot gives them back ---- */
#define BELOW_4G 0xffffffffULL
EFI_STATUS pages_alloc(EFI_ALLOCATE_TYPE type, EFI_MEMORY_TYPE mem_type, UINTN pages, EFI_PHYSICAL_ADDRESS *addr);
void pages_free_all(void);
const char *efi_mem_type_str(u32 type);
/* Prints the firmware's memory-map entries overlapping [base, base + pages pages). */
void show_map_overlap(EFI_PHYSICAL_ADDRESS base, UINTN pages);

/* ---- fs.c ---- */
struct loader_fs {
	EFI_FILE_HANDLE root;
	char dir[LOADER_PATH_MAX]; /* keel.efi's directory on that volume, "" for the root */
};

enum read_dest {
	READ_POOL,	/* AllocatePool: scratch data */
	READ_PAGES_LOW, /* whole pages below 4 GiB, kept for the kernel */
};

/* Opens the volume keel.efi was loaded from (or, if that has no file system, the first volume
 * holding keel.cfg in the same directory). */
EFI_STATUS fs_init(EFI_HANDLE image, struct loader_fs *fs);
/* Reads a resolved path (path_resolve()) of at most max_size bytes; errors are printed. */
EFI_STATUS fs_read(struct loader_fs *fs, const char *path, enum read_dest dest, UINT64 max_size, void **buf,
		   UINT64 *size);

/* ---- load.c ---- */
EFI_STATUS load_kernel(struct loader_fs *fs, const char *path, UINT64 *entry);
void load_modules(struct loader_fs *fs, const struct keel_cfg *cfg, struct boot_info *bi);

/* ---- platform.c ---- */
void platform_fill(struct boot_info *bi);

/* ---- handoff.c: returns only if the firmware could not be left ---- */
bool cpu_has_la57(void);
EFI_STATUS handoff(EFI_HANDLE image, struct boot_info *bi, UINT64 entry);

#endif
