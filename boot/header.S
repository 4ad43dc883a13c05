/* SPDX-License-Identifier: MIT */
/*
 * Loader headers: multiboot1 (QEMU -kernel, first 8 KiB), multiboot2 (GRUB, first 32 KiB) and
 * the Keel image header that keel.efi looks for (kernel/bootinfo.h).
 */
#include "boot/multiboot.h"

	.section .boot.header, "a"
	.balign 8
mb1_header:
	.long MB1_HEADER_MAGIC
	.long MB1_HEADER_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_HEADER_FLAGS)

	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* Information request: the loader must provide these or refuse to boot us. */
	.balign 8
1:	.short MB2_HTAG_INFO_REQ
	.short 0
	.long 2f - 1b
	.long MB2_TAG_CMDLINE
	.long MB2_TAG_MODULE
	.long MB2_TAG_MMAP
2:
	/* Optional: ACPI and framebuffer when the loader has them. */
	.balign 8
1:	.short MB2_HTAG_INFO_REQ
	.short MB2_HTAG_OPTIONAL
	.long 2f - 1b
	.long MB2_TAG_ACPI_OLD
	.long MB2_TAG_ACPI_NEW
	.long MB2_TAG_FRAMEBUFFER
	.long MB2_TAG_LOADER_NAME
2:
	.balign 8
1:	.short MB2_HTAG_FRAMEBUFFER
	.short MB2_HTAG_OPTIONAL
	.long 2f - 1b
	.long 0 /* width: no preference */
	.long 0 /* height */
	.long 32 /* depth */
2:
	.balign 8
	.short MB2_HTAG_MODULE_ALIGN
	.short 0
	.long 8
	.balign 8
	.short MB2_HTAG_END
	.short 0
	.long 8
mb2_header_end:

	.balign 8
	.globl keel_image_header
keel_image_header:
	.quad 0x31474d494c45454b /* KEEL_IMAGE_MAGIC */
	.long 1
	.long 40
	.quad efi_entry64
	.quad _image_start_phys
	.quad _image_end_phys
