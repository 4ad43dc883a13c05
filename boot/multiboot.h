/* SPDX-License-Identifier: MIT */
/* Multiboot 0.6.96 and Multiboot2 2.0 constants and structures (from the two specifications). */
#ifndef KEEL_MULTIBOOT_H
#define KEEL_MULTIBOOT_H

#define MB1_HEADER_MAGIC    0x1BADB002
#define MB1_BOOT_MAGIC	    0x2BADB002
#define MB1_FLAG_PAGE_ALIGN (1 << 0) /* modules page aligned */
#define MB1_FLAG_MEMINFO    (1 << 1) /* mem_* and mmap_* required */
#define MB1_HEADER_FLAGS    (MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO)

/* multiboot1 info flags */
#define MB1_INFO_MEM	     (1 << 0)
#define MB1_INFO_CMDLINE     (1 << 2)
#define MB1_INFO_MODS	     (1 << 3)
#define MB1_INFO_MMAP	     (1 << 6)
#define MB1_INFO_LOADER_NAME (1 << 9)
#define MB1_INFO_FRAMEBUFFER (1 << 12)

#define MB2_HEADER_MAGIC 0xE85250D6
#define MB2_BOOT_MAGIC	 0x36d76289
#define MB2_ARCH_I386	 0

/* header tags */
#define MB2_HTAG_END	      0
#define MB2_HTAG_INFO_REQ     1
#define MB2_HTAG_FRAMEBUFFER  5
#define MB2_HTAG_MODULE_ALIGN 6
#define MB2_HTAG_OPTIONAL     1

/* boot information tags */
#define MB2_TAG_END	      0
#define MB2_TAG_CMDLINE	      1
#define MB2_TAG_LOADER_NAME   2
#define MB2_TAG_MODULE	      3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP	      6
#define MB2_TAG_FRAMEBUFFER   8
#define MB2_TAG_EFI64	      12
#define MB2_TAG_ACPI_OLD      14
#define MB2_TAG_ACPI_NEW      15

#ifndef __ASSEMBLER__
#include "kernel/types.h"

struct mb1_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
	u32 vbe_control_info, vbe_mode_info;
	u16 vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	u64 framebuffer_addr;
	u32 framebuffer_pitch, framebuffer_width, framebuffer_height;
	u8 framebuffer_bpp, framebuffer_type;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
} __packed;

struct mb1_module {
	u32 start, end, cmdline, pad;
} __packed;

/* The size field does not count itself. */
struct mb1_mmap_entry {
	u32 size;
	u64 addr, len;
	u32 type;
} __packed;

struct mb2_tag {
	u32 type, size;
} __packed;

struct mb2_tag_module {
	u32 type, size;
	u32 start, end;
	char cmdline[];
} __packed;

struct mb2_tag_mmap {
	u32 type, size;
	u32 entry_size, entry_version;
} __packed;

struct mb2_mmap_entry {
	u64 addr, len;
	u32 type, reserved;
} __packed;

struct mb2_tag_framebuffer {
	u32 type, size;
	u64 addr;
	u32 pitch, width, height;
	u8 bpp, fb_type;
	u16 reserved;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
} __packed;

struct boot_info;
/*
 * Fill bi from a loader's information block. The block is read through `at(phys, len)`, which
 * returns a pointer to len readable bytes or NULL (bounds-checked access, testable on the host).
 * Returns 0 or a negative errno; bi is valid (possibly partial) either way.
 */
typedef const void *(*boot_phys_reader)(u64 phys, u64 len);
int multiboot1_parse(struct boot_info *bi, u32 info_phys, boot_phys_reader at);
int multiboot2_parse(struct boot_info *bi, u32 info_phys, boot_phys_reader at);
#endif

#endif
