/* SPDX-License-Identifier: MIT */
/* Multiboot 1/2 information parsers and the boot-module format checks, on hostile input. */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot.h"
#include "kernel/bootinfo.h"
#include "kernel/module.h"

/* Fake physical memory: 1 MiB at physical 0; reads outside return NULL like the kernel's. */
#define PHYS_SIZE (1u << 20)
static u8 *phys;

static const void *reader(u64 pa, u64 len)
{
	if (pa >= PHYS_SIZE || len > PHYS_SIZE - pa)
		return NULL;
	return phys + pa;
}

static int setup(void **state)
{
	phys = calloc(1, PHYS_SIZE);
	shim_log_reset();
	return phys ? 0 : -1;
}

static int teardown(void **state)
{
	free(phys);
	return 0;
}

static struct boot_info bi;

/* --- multiboot1 --------------------------------------------------------------------------- */

static void put_mb1_mmap(u32 at, const u64 (*ents)[3], int n, u32 entry_size)
{
	for (int i = 0; i < n; i++) {
		struct mb1_mmap_entry e = {
			.size = entry_size, .addr = ents[i][0], .len = ents[i][1], .type = (u32)ents[i][2]
		};

		memcpy(phys + at + (u32)i * (entry_size + 4), &e, sizeof(e));
	}
}

static void test_mb1_full(void **state)
{
	struct mb1_info *mbi = (struct mb1_info *)(phys + 0x1000);
	static const u64 map[][3] = { { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0x100000, 0x7ee0000, 1 } };
	struct mb1_module mods[2] = { { 0x200000, 0x201000, 0x3100, 0 }, { 0x300000, 0x300800, 0x3200, 0 } };

	mbi->flags = MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_MODS | MB1_INFO_LOADER_NAME;
	strcpy((char *)phys + 0x3000, "/boot/keel.elf console=com2 loglevel=debug");
	mbi->cmdline = 0x3000;
	strcpy((char *)phys + 0x3080, "GRUB 2.06");
	mbi->boot_loader_name = 0x3080;
	put_mb1_mmap(0x2000, map, 3, 20);
	mbi->mmap_addr = 0x2000;
	mbi->mmap_length = 3 * 24;
	memcpy(phys + 0x4000, mods, sizeof(mods));
	strcpy((char *)phys + 0x3100, "guest.elf a=1");
	strcpy((char *)phys + 0x3200, "initrd");
	mbi->mods_addr = 0x4000;
	mbi->mods_count = 2;

	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_int_equal(bi.loader, BOOT_LOADER_MULTIBOOT1);
	assert_string_equal(bi.cmdline, "console=com2 loglevel=debug"); /* path dropped */
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.nr_mem, 3);
	assert_int_equal(bi.mem[2].base, 0x100000);
	assert_int_equal(bi.mem[2].length, 0x7ee0000);
	assert_int_equal(bi.mem[1].type, BOOT_MEM_RESERVED);
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.modules[0].base, 0x200000);
	assert_int_equal(bi.modules[0].size, 0x1000);
	assert_string_equal(bi.modules[0].cmdline, "guest.elf a=1");
	assert_string_equal(bi.modules[1].cmdline, "initrd");
	assert_int_equal(bi.rsdp_len, 0);
}

static void test_mb1_cmdline_only_path(void **state)
{
	struct mb1_info *mbi = (struct mb1_info *)(phys + 0x1000);

	mbi->flags = MB1_INFO_CMDLINE | MB1_INFO_MEM;
	strcpy((char *)phys + 0x3000, "/keel.elf");
	mbi->cmdline = 0x3000;
	mbi->mem_lower = 639;
	mbi->mem_upper = 130048;
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_string_equal(bi.cmdline, "");
	/* GRUB 2 gives the arguments alone: nothing is dropped, not even a bare option. */
	strcpy((char *)phys + 0x3000, "fbcon maxcpus=2");
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_string_equal(bi.cmdline, "fbcon maxcpus=2");
	strcpy((char *)phys + 0x3000, "vm=a,module=0 x");
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_string_equal(bi.cmdline, "vm=a,module=0 x");
	strcpy((char *)phys + 0x3000, "keel.elf   loglevel=debug");
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_string_equal(bi.cmdline, "loglevel=debug");
	/* No map: the two meminfo sizes stand in for it. */
	assert_int_equal(bi.nr_mem, 2);
	assert_int_equal(bi.mem[1].base, 0x100000);
	assert_int_equal(bi.mem[1].length, 130048ull << 10);
}

static void test_mb1_hostile(void **state)
{
	struct mb1_info *mbi = (struct mb1_info *)(phys + 0x1000);

	/* Info block outside memory. */
	assert_int_equal(multiboot1_parse(&bi, PHYS_SIZE - 8, reader), -EFAULT);
	assert_int_equal(bi.magic, BOOTINFO_MAGIC);

	/* Unterminated command line running to the end of memory; absurd module count; map
	 * entries with a too-small size field; pointers into nowhere. */
	memset(phys + PHYS_SIZE - 2000, 'A', 2000);
	mbi->flags = MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_MODS | MB1_INFO_LOADER_NAME;
	mbi->cmdline = PHYS_SIZE - 2000;
	mbi->boot_loader_name = 0xfffffff0;
	mbi->mods_addr = PHYS_SIZE - 32;
	mbi->mods_count = 0xffffffff;
	mbi->mmap_addr = 0x2000;
	mbi->mmap_length = 0xfffffff;
	memset(phys + 0x2000, 0, 64); /* size 0 entry: the walk must stop, not spin */
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1); /* cut, and terminated */
	assert_int_equal(bi.nr_mem, 0);
	assert_int_equal(bi.nr_modules, 2); /* the two entries that fit before the end */
	assert_string_equal(bi.loader_name, "");

	/* More modules than the array holds are counted, not written past it. */
	mbi->flags = MB1_INFO_MODS;
	mbi->mods_addr = 0x8000;
	mbi->mods_count = BOOT_MAX_MODULES + 5;
	assert_int_equal(multiboot1_parse(&bi, 0x1000, reader), 0);
	assert_int_equal(bi.nr_modules, BOOT_MAX_MODULES);
	assert_int_equal(bi.dropped_modules, 5);
}

/* --- multiboot2 --------------------------------------------------------------------------- */

static u32 mb2_pos;

static void *mb2_tag(u32 type, u32 size)
{
	struct mb2_tag *t = (struct mb2_tag *)(phys + mb2_pos);

	t->type = type;
	t->size = size;
	mb2_pos = (mb2_pos + size + 7) & ~7u;
	return t;
}

static void mb2_begin(void)
{
	mb2_pos = 0x1000 + 8;
}

static void mb2_end(void)
{
	mb2_tag(MB2_TAG_END, 8);
	((u32 *)(phys + 0x1000))[0] = mb2_pos - 0x1000;
}

static void test_mb2_full(void **state)
{
	struct mb2_tag_mmap *mm;
	struct mb2_mmap_entry *e;
	struct mb2_tag_module *mod;
	struct mb2_tag_framebuffer *fb;
	u8 *acpi;

	mb2_begin();
	strcpy((char *)mb2_tag(MB2_TAG_CMDLINE, 8 + 22) + 8, "loglevel=debug fbcon=0");
	strcpy((char *)mb2_tag(MB2_TAG_LOADER_NAME, 8 + 10) + 8, "GRUB 2.06");
	mm = mb2_tag(MB2_TAG_MMAP, 16 + 3 * 24);
	mm->entry_size = 24;
	e = (struct mb2_mmap_entry *)(mm + 1);
	e[0] = (struct mb2_mmap_entry){ 0, 0x9fc00, 1, 0 };
	e[1] = (struct mb2_mmap_entry){ 0x100000, 0x3ff00000, 1, 0 };
	e[2] = (struct mb2_mmap_entry){ 0x100000000ull, 0x40000000, 1, 0 };
	mod = mb2_tag(MB2_TAG_MODULE, sizeof(*mod) + 10);
	mod->start = 0x400000;
	mod->end = 0x480000;
	strcpy(mod->cmdline, "guest.elf");
	/* The old RSDP first, then the new one: the new one wins. */
	acpi = mb2_tag(MB2_TAG_ACPI_OLD, 8 + 20);
	memcpy(acpi + 8, "RSD PTR \x01", 9);
	acpi = mb2_tag(MB2_TAG_ACPI_NEW, 8 + 36);
	memcpy(acpi + 8, "RSD PTR \x02", 9);
	fb = mb2_tag(MB2_TAG_FRAMEBUFFER, sizeof(*fb));
	fb->addr = 0xfd000000;
	fb->pitch = 4096;
	fb->width = 1024;
	fb->height = 768;
	fb->bpp = 32;
	fb->fb_type = 1;
	fb->red_pos = 16;
	fb->red_size = 8;
	mb2_end();

	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), 0);
	assert_int_equal(bi.loader, BOOT_LOADER_MULTIBOOT2);
	assert_string_equal(bi.cmdline, "loglevel=debug fbcon=0");
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.nr_mem, 3);
	assert_int_equal(bi.mem[2].base, 0x100000000ull);
	assert_int_equal(bi.nr_modules, 1);
	assert_int_equal(bi.modules[0].size, 0x80000);
	assert_string_equal(bi.modules[0].cmdline, "guest.elf");
	assert_int_equal(bi.rsdp_len, 36);
	assert_int_equal(bi.rsdp[8], 2);
	assert_int_equal(bi.fb.type, BOOT_FB_RGB);
	assert_int_equal(bi.fb.width, 1024);
	assert_int_equal(bi.fb.red_pos, 16);
}

static void test_mb2_hostile(void **state)
{
	struct mb2_tag_mmap *mm;

	/* Total size smaller than a header, and absurdly large. */
	((u32 *)(phys + 0x1000))[0] = 4;
	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), -EINVAL);
	((u32 *)(phys + 0x1000))[0] = 0x7fffffff;
	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), -EINVAL);

	/* A tag whose size is 0 would loop forever; one that runs past the block is rejected. */
	mb2_begin();
	mb2_tag(MB2_TAG_CMDLINE, 0);
	((u32 *)(phys + 0x1000))[0] = 64;
	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), -EINVAL);
	assert_true(shim_log_contains("malformed tag"));
	mb2_begin();
	mb2_tag(MB2_TAG_CMDLINE, 4096);
	((u32 *)(phys + 0x1000))[0] = 64;
	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), -EINVAL);

	/* Memory map with an entry size smaller than an entry: ignored. A command line without a
	 * terminator stops at the tag's end. */
	mb2_begin();
	mm = mb2_tag(MB2_TAG_MMAP, 16 + 48);
	mm->entry_size = 4;
	memset(mb2_tag(MB2_TAG_CMDLINE, 8 + 6), 'x', 8 + 6);
	((struct mb2_tag *)(phys + 0x1000 + 8 + 16 + 48))->type = MB2_TAG_CMDLINE;
	((struct mb2_tag *)(phys + 0x1000 + 8 + 16 + 48))->size = 8 + 6;
	mb2_end();
	assert_int_equal(multiboot2_parse(&bi, 0x1000, reader), 0);
	assert_int_equal(bi.nr_mem, 0);
	assert_string_equal(bi.cmdline, "xxxxxx");

	/* The block must not be read past the end of memory. */
	((u32 *)(phys + PHYS_SIZE - 8))[0] = 64;
	assert_int_equal(multiboot2_parse(&bi, PHYS_SIZE - 8, reader), -EFAULT);
}

/* --- module_probe ------------------------------------------------------------------------- */

static size_t make_elf64(u8 *buf, u64 phoff, u16 phnum, u64 seg_off, u64 filesz, u64 memsz)
{
	u8 ident[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	u16 type = 2, machine = 62, phentsize = 56;
	u32 ptype = 1;

	memset(buf, 0, 4096);
	memcpy(buf, ident, 16);
	memcpy(buf + 16, &type, 2);
	memcpy(buf + 18, &machine, 2);
	memcpy(buf + 32, &phoff, 8);
	memcpy(buf + 54, &phentsize, 2);
	memcpy(buf + 56, &phnum, 2);
	if (phoff + 56 <= 4096) {
		memcpy(buf + phoff, &ptype, 4);
		memcpy(buf + phoff + 8, &seg_off, 8);
		memcpy(buf + phoff + 32, &filesz, 8);
		memcpy(buf + phoff + 40, &memsz, 8);
	}
	return 4096;
}

static void test_module_probe(void **state)
{
	u8 *buf = calloc(1, 65536);
	struct module_info mi;
	u32 mb1[3] = { MB1_HEADER_MAGIC, 3, -(MB1_HEADER_MAGIC + 3) };
	u32 mb2[4] = { MB2_HEADER_MAGIC, 0, 16, -(MB2_HEADER_MAGIC + 16) };

	make_elf64(buf, 64, 1, 0x1000, 0x100, 0x200);
	mi = module_probe(buf, 4096 + 0x100);
	assert_int_equal(mi.kind, MODULE_ELF64);
	assert_false(mi.multiboot1);
	memcpy(buf + 0x200, mb1, sizeof(mb1));
	memcpy(buf + 0x400, mb2, sizeof(mb2));
	mi = module_probe(buf, 4096 + 0x100);
	assert_true(mi.multiboot1);
	assert_true(mi.multiboot2);

	/* Each broken rule is named. */
	make_elf64(buf, 0x100000, 1, 0, 0, 0);
	mi = module_probe(buf, 4096);
	assert_int_equal(mi.kind, MODULE_CORRUPT);
	assert_string_equal(mi.why, "program header table outside the file");
	make_elf64(buf, 64, 1, 0x1000, 0x10000, 0x10000);
	assert_string_equal(module_probe(buf, 4096).why, "segment data outside the file");
	make_elf64(buf, 64, 1, 0, 0x200, 0x100);
	assert_string_equal(module_probe(buf, 4096).why, "segment file size larger than its memory size");
	make_elf64(buf, 64, 0, 0, 0, 0);
	assert_string_equal(module_probe(buf, 4096).why, "no program headers");
	make_elf64(buf, 64, 0xffff, 0, 0, 0);
	assert_string_equal(module_probe(buf, 4096).why, "program header table outside the file");
	assert_string_equal(module_probe(buf, 30).why, "truncated ELF header");
	buf[18] = 40; /* ARM */
	make_elf64(buf, 64, 1, 0, 0, 0);
	buf[18] = 40;
	assert_string_equal(module_probe(buf, 4096).why, "ELF64 for another machine");

	/* bzImage and plain data. */
	memset(buf, 0, 4096);
	memcpy(buf + 0x202, "HdrS", 4);
	assert_int_equal(module_probe(buf, 4096).kind, MODULE_LINUX);
	memset(buf, 0, 4096);
	assert_int_equal(module_probe(buf, 4096).kind, MODULE_DATA);
	assert_int_equal(module_probe(buf, 0).kind, MODULE_DATA);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mb1_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mb1_cmdline_only_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mb1_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mb2_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mb2_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_probe, setup, teardown),
	};

	return cmocka_run_group_tests_name("boot info and modules", tests, NULL, NULL);
}
