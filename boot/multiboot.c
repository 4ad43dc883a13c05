/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 and 2 information blocks → struct boot_info. Loader data is not trusted to be
 * well formed: every pointer and length is checked through the reader before it is used.
 */
#include "boot/multiboot.h"

#include "kernel/bootinfo.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

/* Copies a NUL-terminated string of at most max-1 bytes from physical memory. */
static void copy_phys_string(char *dst, size_t max, u64 phys, boot_phys_reader at)
{
	size_t n = 0;

	while (n + 1 < max) {
		const char *c = at(phys + n, 1);

		if (!c || !*c)
			break;
		dst[n++] = *c;
	}
	dst[n] = '\0';
}

/*
 * Some multiboot1 loaders (QEMU's -kernel, GRUB legacy, syslinux) start the command line with
 * the kernel's file name, GRUB 2 does not. A first word without '=' that has a '/' or a '.' is
 * a file name (no Keel option looks like that): drop it.
 */
static void drop_kernel_path(char *cmdline)
{
	size_t len = 0;
	bool path = false;

	while (cmdline[len] && cmdline[len] != ' ') {
		if (cmdline[len] == '=')
			return;
		path |= cmdline[len] == '/' || cmdline[len] == '.';
		len++;
	}
	if (!path)
		return;
	while (cmdline[len] == ' ')
		len++;
	memmove(cmdline, cmdline + len, strlen(cmdline + len) + 1);
}

static void add_mem(struct boot_info *bi, u64 base, u64 len, u32 type)
{
	if (bi->nr_mem >= BOOT_MAX_MEMRANGES) {
		bi->dropped_mem++;
		return;
	}
	bi->mem[bi->nr_mem++] = (struct boot_mem_range){ .base = base, .length = len, .type = type };
}

static void add_module(struct boot_info *bi, u64 start, u64 end)
{
	struct boot_module *m;

	if (bi->nr_modules >= BOOT_MAX_MODULES) {
		bi->dropped_modules++;
		return;
	}
	m = &bi->modules[bi->nr_modules++];
	m->base = start;
	m->size = end > start ? end - start : 0;
	m->cmdline[0] = '\0';
}

static void init_info(struct boot_info *bi, u32 loader)
{
	memset(bi, 0, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->loader = loader;
}

int multiboot1_parse(struct boot_info *bi, u32 info_phys, boot_phys_reader at)
{
	const struct mb1_info *mbi;

	init_info(bi, BOOT_LOADER_MULTIBOOT1);
	kstrlcpy(bi->loader_name, "multiboot1", sizeof(bi->loader_name));
	mbi = at(info_phys, sizeof(*mbi));
	if (!mbi)
		return -EFAULT;
	if (mbi->flags & MB1_INFO_CMDLINE) {
		copy_phys_string(bi->cmdline, sizeof(bi->cmdline), mbi->cmdline, at);
		drop_kernel_path(bi->cmdline);
	}
	if (mbi->flags & MB1_INFO_LOADER_NAME)
		copy_phys_string(bi->loader_name, sizeof(bi->loader_name), mbi->boot_loader_name, at);

	if (mbi->flags & MB1_INFO_MMAP) {
		u64 p = mbi->mmap_addr, end = (u64)mbi->mmap_addr + mbi->mmap_length;

		while (p + sizeof(struct mb1_mmap_entry) <= end) {
			const struct mb1_mmap_entry *e = at(p, sizeof(*e));

			if (!e || e->size < 20)
				break;
			add_mem(bi, e->addr, e->len, e->type);
			p += (u64)e->size + 4;
		}
	} else if (mbi->flags & MB1_INFO_MEM) {
		/* No map: the two sizes in KiB give low memory and memory from 1 MiB up. */
		add_mem(bi, 0, (u64)mbi->mem_lower << 10, BOOT_MEM_USABLE);
		add_mem(bi, MiB(1), (u64)mbi->mem_upper << 10, BOOT_MEM_USABLE);
	}

	if (mbi->flags & MB1_INFO_MODS) {
		for (u32 i = 0; i < mbi->mods_count; i++) {
			const struct mb1_module *m = at((u64)mbi->mods_addr + (u64)i * sizeof(*m), sizeof(*m));

			if (!m)
				break;
			add_module(bi, m->start, m->end);
			if (bi->dropped_modules)
				continue;
			copy_phys_string(bi->modules[bi->nr_modules - 1].cmdline, BOOT_MODCMD_MAX, m->cmdline, at);
		}
	}

	if ((mbi->flags & MB1_INFO_FRAMEBUFFER) && mbi->framebuffer_type == 1) {
		bi->fb = (struct boot_framebuffer){
			.addr = mbi->framebuffer_addr,
			.pitch = mbi->framebuffer_pitch,
			.width = mbi->framebuffer_width,
			.height = mbi->framebuffer_height,
			.bpp = mbi->framebuffer_bpp,
			.type = BOOT_FB_RGB,
			.red_pos = mbi->red_pos,
			.red_size = mbi->red_size,
			.green_pos = mbi->green_pos,
			.green_size = mbi->green_size,
			.blue_pos = mbi->blue_pos,
			.blue_size = mbi->blue_size,
		};
	}
	return 0;
}

static void mb2_mmap(struct boot_info *bi, u64 tag_phys, u32 size, boot_phys_reader at)
{
	const struct mb2_tag_mmap *t = at(tag_phys, sizeof(*t));
	u64 p, end = tag_phys + size;

	if (!t || t->entry_size < sizeof(struct mb2_mmap_entry))
		return;
	for (p = tag_phys + sizeof(*t); p + sizeof(struct mb2_mmap_entry) <= end; p += t->entry_size) {
		const struct mb2_mmap_entry *e = at(p, sizeof(*e));

		if (!e)
			return;
		add_mem(bi, e->addr, e->len, e->type);
	}
}

static void mb2_framebuffer(struct boot_info *bi, u64 tag_phys, u32 size, boot_phys_reader at)
{
	const struct mb2_tag_framebuffer *t;

	if (size < sizeof(*t))
		return;
	t = at(tag_phys, sizeof(*t));
	if (!t || t->fb_type != 1) /* only direct RGB colour */
		return;
	bi->fb = (struct boot_framebuffer){
		.addr = t->addr,
		.pitch = t->pitch,
		.width = t->width,
		.height = t->height,
		.bpp = t->bpp,
		.type = BOOT_FB_RGB,
		.red_pos = t->red_pos,
		.red_size = t->red_size,
		.green_pos = t->green_pos,
		.green_size = t->green_size,
		.blue_pos = t->blue_pos,
		.blue_size = t->blue_size,
	};
}

int multiboot2_parse(struct boot_info *bi, u32 info_phys, boot_phys_reader at)
{
	const u32 *hdr;
	u64 p, end;
	bool rsdp_new = false;

	init_info(bi, BOOT_LOADER_MULTIBOOT2);
	kstrlcpy(bi->loader_name, "multiboot2", sizeof(bi->loader_name));
	hdr = at(info_phys, 8);
	if (!hdr)
		return -EFAULT;
	if (hdr[0] < 16 || hdr[0] > MiB(1))
		return -EINVAL;
	end = (u64)info_phys + hdr[0];
	for (p = (u64)info_phys + 8; p + sizeof(struct mb2_tag) <= end;) {
		const struct mb2_tag *tag = at(p, sizeof(*tag));
		u32 payload;

		if (!tag)
			return -EFAULT;
		if (tag->type == MB2_TAG_END)
			break;
		if (tag->size < sizeof(*tag) || p + tag->size > end) {
			pr_warn("multiboot2: malformed tag type %u size %u; ignoring the rest\n", tag->type, tag->size);
			return -EINVAL;
		}
		payload = tag->size - sizeof(*tag);
		switch (tag->type) {
		case MB2_TAG_CMDLINE:
			copy_phys_string(bi->cmdline, MIN(sizeof(bi->cmdline), (size_t)payload + 1), p + 8, at);
			break;
		case MB2_TAG_LOADER_NAME:
			copy_phys_string(bi->loader_name, MIN(sizeof(bi->loader_name), (size_t)payload + 1), p + 8, at);
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = at(p, sizeof(*m));

			if (!m || tag->size < sizeof(*m))
				break;
			add_module(bi, m->start, m->end);
			if (!bi->dropped_modules)
				copy_phys_string(bi->modules[bi->nr_modules - 1].cmdline,
						 MIN((size_t)BOOT_MODCMD_MAX, (size_t)(tag->size - sizeof(*m)) + 1),
						 p + sizeof(*m), at);
			break;
		}
		case MB2_TAG_MMAP:
			mb2_mmap(bi, p, tag->size, at);
			break;
		case MB2_TAG_FRAMEBUFFER:
			mb2_framebuffer(bi, p, tag->size, at);
			break;
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW: {
			u32 n = MIN(payload, (u32)sizeof(bi->rsdp));
			const u8 *r = at(p + 8, n);

			/* Prefer the ACPI 2.0+ copy whichever order the tags come in. */
			if (!r || (rsdp_new && tag->type == MB2_TAG_ACPI_OLD))
				break;
			memcpy(bi->rsdp, r, n);
			bi->rsdp_len = n;
			rsdp_new = tag->type == MB2_TAG_ACPI_NEW;
			break;
		}
		default:
			break;
		}
		p = ALIGN_UP(p + tag->size, 8);
	}
	return 0;
}
