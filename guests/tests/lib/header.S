/* SPDX-License-Identifier: MIT */
/*
 * Loader headers, placed first in the image by guest.ld: multiboot1 (QEMU -kernel, GRUB, Keel;
 * within the first 8 KiB) and multiboot2 (within the first 32 KiB). Both loaders enter _start in
 * 32-bit protected mode with paging off; EAX holds the loader's magic and EBX its information.
 * Neither header asks for an address override: the loaders use the ELF program headers.
 */
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory information */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0

	.section .mbheader, "a"
	.balign 4
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)

	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.short 0 /* end tag */
	.short 0
	.long 8
mb2_header_end:

	.section .note.GNU-stack, "", @progbits
