/* SPDX-License-Identifier: MIT */
/* keel.efi's firmware-independent parts: keel.cfg, paths, ELF checks, memory map, RSDP, fmt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/efi/loader.h"

/* ---- diagnostics collected for assertions ---- */
static char diag_log[16384];
static int diag_count[3];

static void collect(void *ctx, enum diag_level level, const char *msg)
{
	size_t n = strlen(diag_log);

	diag_count[level]++;
	snprintf(diag_log + n, sizeof(diag_log) - n, "%d:%s\n", level, msg);
}

static const struct diag D = { collect, NULL };

static void reset(void)
{
	diag_log[0] = '\0';
	memset(diag_count, 0, sizeof(diag_count));
}

static bool logged(const char *needle)
{
	return strstr(diag_log, needle) != NULL;
}

static struct keel_cfg cfg;

static int parse(const char *text)
{
	reset();
	return cfg_parse(text, strlen(text), &cfg, &D);
}

/* ---- keel.cfg ---- */

static void test_cfg_basic(void **state)
{
	assert_int_equal(parse("# comment\n"
			       "kernel=keel.elf\n"
			       "cmdline=console=com1 loglevel=info\n"
			       "module=guests/test.elf  some  args \n"
			       "module=/abs/x.bin\n"),
			 0);
	assert_int_equal(diag_count[DIAG_WARN] + diag_count[DIAG_ERROR], 0);
	assert_string_equal(cfg.kernel, "keel.elf");
	assert_string_equal(cfg.cmdline, "console=com1 loglevel=info");
	assert_int_equal(cfg.nr_modules, 2);
	assert_string_equal(cfg.modules[0].path, "guests/test.elf");
	assert_string_equal(cfg.modules[0].args, "some  args");
	assert_string_equal(cfg.modules[1].path, "/abs/x.bin");
	assert_string_equal(cfg.modules[1].args, "");
}

static void test_cfg_crlf_bom_spaces_case(void **state)
{
	assert_int_equal(parse("\xef\xbb\xbf  KERNEL = k.elf \r\n\tCmdLine=\ta=b \r\n   # x\r\n\r\n"), 0);
	assert_string_equal(cfg.kernel, "k.elf");
	assert_string_equal(cfg.cmdline, "a=b");
	assert_int_equal(diag_count[DIAG_WARN], 0);
}

static void test_cfg_no_kernel(void **state)
{
	assert_int_equal(parse("cmdline=x\n"), -ENOENT);
	assert_int_equal(diag_count[DIAG_ERROR], 1);
	assert_true(logged("no kernel= line"));
	assert_int_equal(parse(""), -ENOENT);
	assert_int_equal(parse("kernel=\n"), -ENOENT);
	assert_true(logged("kernel= is empty"));
}

static void test_cfg_utf16(void **state)
{
	const char t[] = "\xff\xfek\0=\0";

	reset();
	assert_int_equal(cfg_parse(t, sizeof(t) - 1, &cfg, &D), -EINVAL);
	assert_true(logged("UTF-16"));
}

static void test_cfg_bad_lines(void **state)
{
	char *text = malloc(20000);

	strcpy(text, "kernel=k\nfoo=bar\nno equals here\nmodule=\ncmdline=");
	memset(text + strlen(text), 'y', 5000);
	strcpy(text + strlen(text) - 0, "\n");
	/* a 10000-byte line without '=' */
	memset(text + strlen(text), 'z', 10000);
	text[strlen("kernel=k\nfoo=bar\nno equals here\nmodule=\ncmdline=") + 5000 + 1 + 10000] = '\0';
	assert_int_equal(parse(text), 0);
	assert_true(logged("keel.cfg:2: unknown key \"foo\""));
	assert_true(logged("keel.cfg:3: expected key=value"));
	assert_true(logged("keel.cfg:4: module= needs a file name"));
	assert_true(logged("keel.cfg:5: the command line is 5000 bytes"));
	assert_true(logged("keel.cfg:6: expected key=value"));
	assert_string_equal(cfg.cmdline, "");
	assert_string_equal(cfg.kernel, "k");
	free(text);
}

static void test_cfg_nul_and_unterminated(void **state)
{
	const char t[] = "kernel=a\nmodule=b\0c\nkernel=last";

	reset();
	assert_int_equal(cfg_parse(t, sizeof(t) - 1, &cfg, &D), 0);
	assert_true(logged("keel.cfg:2: NUL byte"));
	assert_int_equal(cfg.nr_modules, 0);
	assert_string_equal(cfg.kernel, "last"); /* no final newline needed */
	assert_true(logged("second kernel= line"));
}

static void test_cfg_limits(void **state)
{
	char text[8192] = "kernel=k\n";
	char longpath[CFG_PATH_MAX + 1], longargs[BOOT_MODCMD_MAX + 1];

	for (int i = 0; i < BOOT_MAX_MODULES + 3; i++)
		sprintf(text + strlen(text), "module=m%d a%d\n", i, i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cfg.nr_modules, BOOT_MAX_MODULES);
	assert_int_equal(cfg.dropped_modules, 3);
	assert_string_equal(cfg.modules[15].args, "a15");

	memset(longpath, 'p', CFG_PATH_MAX);
	longpath[CFG_PATH_MAX] = '\0';
	memset(longargs, 'a', BOOT_MODCMD_MAX);
	longargs[BOOT_MODCMD_MAX] = '\0';
	snprintf(text, sizeof(text), "kernel=k\nmodule=%s\nmodule=x %s\nmodule=y %.*s\n", longpath, longargs,
		 BOOT_MODCMD_MAX - 1, longargs);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cfg.nr_modules, 1); /* only the one whose arguments just fit */
	assert_string_equal(cfg.modules[0].path, "y");
	assert_int_equal(strlen(cfg.modules[0].args), BOOT_MODCMD_MAX - 1);
}

/* Random bytes drawn mostly from the characters the parser cares about: never a crash (ASan),
 * always NUL-terminated results within their limits. */
static void test_cfg_random(void **state)
{
	static const char alphabet[] = "kernel=cmdline=module= \t\r\n#\0\xff\xfe\xef\xbb\xbf"
				       "ab/\\";
	char *buf = malloc(4096);

	srand(2);
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)rand() % 4096;
		char *exact = malloc(n ? n : 1);

		for (size_t k = 0; k < n; k++)
			buf[k] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		memcpy(exact, buf, n);
		reset();
		if (cfg_parse(exact, n, &cfg, &D) == 0)
			assert_true(cfg.kernel[0] != '\0');
		assert_true(strlen(cfg.kernel) < CFG_PATH_MAX);
		assert_true(strlen(cfg.cmdline) < BOOT_CMDLINE_MAX);
		assert_true(cfg.nr_modules <= BOOT_MAX_MODULES);
		free(exact);
	}
	free(buf);
}

/* ---- paths ---- */

static void test_paths(void **state)
{
	char out[LOADER_PATH_MAX];

	assert_int_equal(path_resolve(out, sizeof(out), "\\EFI\\BOOT", "keel.elf"), 0);
	assert_string_equal(out, "\\EFI\\BOOT\\keel.elf");
	assert_int_equal(path_resolve(out, sizeof(out), "\\EFI\\BOOT", "guests//a/b.elf"), 0);
	assert_string_equal(out, "\\EFI\\BOOT\\guests\\a\\b.elf");
	assert_int_equal(path_resolve(out, sizeof(out), "\\EFI\\BOOT", "/boot/k.elf/"), 0);
	assert_string_equal(out, "\\boot\\k.elf");
	assert_int_equal(path_resolve(out, sizeof(out), "\\EFI\\BOOT", "\\\\x"), 0);
	assert_string_equal(out, "\\x");
	assert_int_equal(path_resolve(out, sizeof(out), "", "k"), 0);
	assert_string_equal(out, "\\k");
	assert_int_equal(path_resolve(out, sizeof(out), "\\d", ""), -EINVAL);
	assert_int_equal(path_resolve(out, sizeof(out), "\\d", "//"), -EINVAL);
	assert_int_equal(path_resolve(out, sizeof(out), "\\d", "caf\xc3\xa9"), -EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(path_resolve(out, sizeof(out), "\\d", "tab\there"), -EINVAL);
	assert_int_equal(path_resolve(out, 8, "\\d", "abcdef"), -E2BIG);
	assert_int_equal(path_resolve(out, 9, "\\d", "abcde"), 0);
	assert_string_equal(out, "\\d\\abcde");

	strcpy(out, "\\EFI\\BOOT\\BOOTX64.EFI");
	path_dirname(out);
	assert_string_equal(out, "\\EFI\\BOOT");
	strcpy(out, "\\BOOTX64.EFI");
	path_dirname(out);
	assert_string_equal(out, "");
}

/* ---- ELF ---- */

struct seg_spec {
	u32 type, flags;
	u64 paddr, filesz, memsz;
};

/* Builds an ELF file with the given segments, each segment's bytes following the headers, and
 * a Keel image header at the start of the first segment (if hdr_entry is not 0). */
static size_t build_elf(u8 *buf, size_t cap, int class_bits, u16 machine, const struct seg_spec *segs, int n,
			u64 hdr_entry)
{
	size_t ehsize = class_bits == 64 ? 64 : 52, phsize = class_bits == 64 ? 56 : 32;
	size_t off = ALIGN_UP(ehsize + n * phsize, 16);

	memset(buf, 0, cap);
	memcpy(buf,
	       "\x7f"
	       "ELF",
	       4);
	buf[4] = class_bits == 64 ? 2 : 1;
	buf[5] = 1;
	buf[6] = 1;
	*(u16 *)(buf + 16) = 2; /* ET_EXEC */
	*(u16 *)(buf + 18) = machine;
	*(u32 *)(buf + 20) = 1;
	if (class_bits == 64) {
		*(u64 *)(buf + 32) = 64; /* phoff */
		*(u16 *)(buf + 52) = 64;
		*(u16 *)(buf + 54) = 56;
		*(u16 *)(buf + 56) = (u16)n;
	} else {
		*(u32 *)(buf + 28) = 52;
		*(u16 *)(buf + 40) = 52;
		*(u16 *)(buf + 42) = 32;
		*(u16 *)(buf + 44) = (u16)n;
	}
	for (int i = 0; i < n; i++) {
		u8 *ph = buf + ehsize + i * phsize;

		if (class_bits == 64) {
			*(u32 *)(ph + 0) = segs[i].type;
			*(u32 *)(ph + 4) = segs[i].flags;
			*(u64 *)(ph + 8) = off;
			*(u64 *)(ph + 24) = segs[i].paddr;
			*(u64 *)(ph + 32) = segs[i].filesz;
			*(u64 *)(ph + 40) = segs[i].memsz;
		} else {
			*(u32 *)(ph + 0) = segs[i].type;
			*(u32 *)(ph + 4) = (u32)off;
			*(u32 *)(ph + 12) = (u32)segs[i].paddr;
			*(u32 *)(ph + 16) = (u32)segs[i].filesz;
			*(u32 *)(ph + 20) = (u32)segs[i].memsz;
			*(u32 *)(ph + 24) = segs[i].flags;
		}
		if (i == 0 && hdr_entry) {
			struct keel_image_header h = { KEEL_IMAGE_MAGIC, 1, 40, hdr_entry, 0, 0 };

			memcpy(buf + off, &h, sizeof(h));
		}
		off += segs[i].filesz;
		assert_true(off <= cap);
	}
	return off;
}

static u8 elfbuf[1 << 16];
static struct elf_image img;

static const struct seg_spec good[] = {
	{ 1, 7, 0x200000, 0x1000, 0x1000 },
	{ 1, 6, 0x202000, 0x100, 0x5000 },
	{ 4, 4, 0, 0x10, 0x10 }, /* PT_NOTE: ignored */
};

static void test_elf_good(void **state)
{
	for (int bits = 32; bits <= 64; bits += 32) {
		size_t n = build_elf(elfbuf, sizeof(elfbuf), bits, bits == 64 ? 62 : 3, good, 3, 0x200040);

		reset();
		assert_int_equal(elf_load_info(elfbuf, n, &img, &D), 0);
		assert_int_equal(img.class_bits, bits);
		assert_int_equal(img.nr_segments, 2);
		assert_int_equal(img.seg[1].memsz, 0x5000);
		assert_int_equal(img.hdr.efi_entry, 0x200040);

		struct phys_range r[4];
		u32 nr = elf_page_ranges(&img, r, 4);

		assert_int_equal(nr, 2); /* 0x200000-0x201000 and 0x202000-0x207000: a gap */
		assert_int_equal(r[1].base, 0x202000);
		assert_int_equal(r[1].pages, 5);
	}
}

static void test_elf_page_ranges(void **state)
{
	struct elf_image i = { 0 };
	struct phys_range r[4];

	i.nr_segments = 3;
	i.seg[0] = (struct elf_segment){ .paddr = 0x200000, .memsz = 0x1800 };
	i.seg[1] = (struct elf_segment){ .paddr = 0x201900, .memsz = 0x100 }; /* shares a page */
	i.seg[2] = (struct elf_segment){ .paddr = 0x300000, .memsz = 0x1 };
	assert_int_equal(elf_page_ranges(&i, r, 4), 2);
	assert_int_equal(r[0].base, 0x200000);
	assert_int_equal(r[0].pages, 2);
	assert_int_equal(r[1].base, 0x300000);
	assert_int_equal(r[1].pages, 1);
}

static void expect_bad_at(size_t n, const char *msg, int line)
{
	reset();
	if (elf_load_info(elfbuf, n, &img, &D) != -EINVAL || !logged(msg))
		fail_msg("line %d: expected failure \"%s\", got: %s", line, msg, diag_log);
}
#define expect_bad(n, msg) expect_bad_at(n, msg, __LINE__)

static void test_elf_bad(void **state)
{
	struct seg_spec s[3];
	size_t n;

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	elfbuf[1] = 'X';
	expect_bad(n, "not an ELF file");

	n = build_elf(elfbuf, sizeof(elfbuf), 64, 3, good, 3, 0x200040);
	expect_bad(n, "ELF machine 3");
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 40, good, 3, 0x200040);
	expect_bad(n, "ELF machine 40");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	elfbuf[4] = 3;
	expect_bad(n, "unknown ELF class");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	*(u16 *)(elfbuf + 16) = 3;
	expect_bad(n, "not an executable");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	*(u32 *)(elfbuf + 28) = 0xfffffff0; /* phoff */
	expect_bad(n, "program headers");
	n = build_elf(elfbuf, sizeof(elfbuf), 64, 62, good, 3, 0x200040);
	*(u64 *)(elfbuf + 32) = ~0ULL - 10;
	expect_bad(n, "program headers");
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	*(u16 *)(elfbuf + 44) = 0xffff;
	expect_bad(n, "extended");

	memcpy(s, good, sizeof(s));
	s[1].filesz = 0x6000;
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, s, 3, 0x200040);
	expect_bad(n, "exceeds memory size");

	memcpy(s, good, sizeof(s));
	s[1].paddr = 0x200800;
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, s, 3, 0x200040);
	expect_bad(n, "overlaps another segment");

	memcpy(s, good, sizeof(s));
	s[1].paddr = 0xfffff000;
	n = build_elf(elfbuf, sizeof(elfbuf), 64, 62, s, 3, 0x200040);
	expect_bad(n, "not below 4 GiB");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x202010); /* in a non-X segment */
	expect_bad(n, "not inside an executable segment");
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x201000); /* past X filesz */
	expect_bad(n, "not inside an executable segment");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0);
	expect_bad(n, "no Keel image header");

	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, good, 3, 0x200040);
	expect_bad(n - 0x11, "outside the"); /* cuts into segment 1; the PT_NOTE after it is not checked */

	memcpy(s, good, sizeof(s));
	s[0].type = s[1].type = 6;
	n = build_elf(elfbuf, sizeof(elfbuf), 32, 3, s, 3, 0x200040);
	expect_bad(n, "no loadable segment");
}

/* Every prefix and a few thousand random corruptions of a real kernel: never a crash (ASan). */
static void test_elf_real_kernel_fuzz(void **state)
{
	FILE *f = fopen("build/keel.elf", "rb");
	u8 *orig, *buf;
	long size;

	if (!f) {
		skip();
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	orig = malloc(size);
	assert_int_equal(fread(orig, 1, size, f), (size_t)size);
	fclose(f);
	reset();
	assert_int_equal(elf_load_info(orig, size, &img, &D), 0);

	for (long n = 0; n < size; n += (n < 8192 ? 1 : 61)) {
		buf = malloc(n ? n : 1); /* exact-size copies so ASan sees any over-read */
		memcpy(buf, orig, n);
		reset();
		elf_load_info(buf, n, &img, &D);
		free(buf);
	}
	srand(1);
	buf = malloc(size);
	for (int i = 0; i < 3000; i++) {
		memcpy(buf, orig, size);
		for (int k = 0; k < 4; k++)
			buf[rand() % 4096] = (u8)rand();
		reset();
		if (elf_load_info(buf, size, &img, &D) == 0) {
			for (u32 j = 0; j < img.nr_segments; j++)
				assert_true(img.seg[j].offset + img.seg[j].filesz <= (u64)size);
		}
	}
	free(buf);
	free(orig);
}

/* ---- memory map ---- */

static struct boot_info bi;

static void put_desc(u8 *map, size_t dsz, int i, u32 type, u64 start, u64 pages, u64 attr)
{
	struct efi_mem_desc d = { type, 0, start, 0, pages, attr };

	memset(map + i * dsz, 0xee, dsz);
	memcpy(map + i * dsz, &d, sizeof(d));
}

static void test_memmap_types_sort_merge(void **state)
{
	size_t dsz = 48; /* OVMF's descriptors are larger than the struct */
	u8 map[48 * 12];

	put_desc(map, dsz, 0, 7, 0x100000, 0x100, 0);	     /* conventional */
	put_desc(map, dsz, 1, 3, 0x0, 0x1, 0);		     /* BS code */
	put_desc(map, dsz, 2, 4, 0x1000, 0x9f, 0);	     /* BS data, adjacent -> merged */
	put_desc(map, dsz, 3, 2, 0x200000, 0x10, 0);	     /* loader data, adjacent to 0x100000 range */
	put_desc(map, dsz, 4, 9, 0x300000, 1, 0);	     /* ACPI reclaim */
	put_desc(map, dsz, 5, 10, 0x301000, 1, 0);	     /* NVS */
	put_desc(map, dsz, 6, 8, 0x302000, 1, 0);	     /* unusable */
	put_desc(map, dsz, 7, 14, 0x303000, 1, 0);	     /* persistent */
	put_desc(map, dsz, 8, 5, 0x304000, 1, 0);	     /* RT code */
	put_desc(map, dsz, 9, 11, 0xfec00000, 1, 0);	     /* MMIO */
	put_desc(map, dsz, 10, 7, 0x400000, 0, 0);	     /* zero pages: dropped */
	put_desc(map, dsz, 11, 7, 0x500000, 0x100, 0x40000); /* specific purpose */
	memmap_from_efi(&bi, map, sizeof(map), dsz);

	assert_int_equal(bi.nr_mem, 9);
	assert_int_equal(bi.dropped_mem, 0);
	assert_int_equal(bi.mem[0].base, 0);
	assert_int_equal(bi.mem[0].length, 0xa0000);
	assert_int_equal(bi.mem[0].type, BOOT_MEM_USABLE);
	assert_int_equal(bi.mem[1].base, 0x100000);
	assert_int_equal(bi.mem[1].length, 0x110000);
	assert_int_equal(bi.mem[2].type, BOOT_MEM_ACPI_RECLAIM);
	assert_int_equal(bi.mem[3].type, BOOT_MEM_ACPI_NVS);
	assert_int_equal(bi.mem[4].type, BOOT_MEM_UNUSABLE);
	assert_int_equal(bi.mem[5].type, BOOT_MEM_PERSISTENT);
	assert_int_equal(bi.mem[6].type, BOOT_MEM_RESERVED);
	assert_int_equal(bi.mem[7].base, 0x500000);
	assert_int_equal(bi.mem[7].type, BOOT_MEM_RESERVED);
	assert_int_equal(bi.mem[8].base, 0xfec00000);
	for (u32 i = 1; i < bi.nr_mem; i++)
		assert_true(bi.mem[i - 1].base < bi.mem[i].base);
	assert_int_equal(efi_type_to_e820(15, 0), BOOT_MEM_RESERVED);	      /* unaccepted */
	assert_int_equal(efi_type_to_e820(0x70000000, 0), BOOT_MEM_RESERVED); /* OEM */
}

static void test_memmap_overflow_and_wrap(void **state)
{
	size_t dsz = sizeof(struct efi_mem_desc), n = 600;
	u8 *map = malloc(n * dsz);

	/* alternating types so nothing merges, in reverse order */
	for (size_t i = 0; i < n; i++)
		put_desc(map, dsz, (int)i, i % 2 ? 7 : 0, (u64)(n - i) << 20, 1, 0);
	memmap_from_efi(&bi, map, n * dsz, dsz);
	assert_int_equal(bi.nr_mem, BOOT_MAX_MEMRANGES);
	assert_int_equal(bi.dropped_mem, n - BOOT_MAX_MEMRANGES);
	assert_int_equal(bi.mem[0].base, 1 << 20);

	put_desc(map, dsz, 0, 7, 0xfffffffffffff000ULL, 2, 0); /* wraps */
	put_desc(map, dsz, 1, 7, 0x1000, 1, 0);
	memmap_from_efi(&bi, map, 2 * dsz + 5, dsz); /* trailing partial descriptor ignored */
	assert_int_equal(bi.nr_mem, 1);
	assert_int_equal(bi.mem[0].base, 0x1000);

	memmap_from_efi(&bi, map, 2 * dsz, 8); /* absurd descriptor size */
	assert_int_equal(bi.nr_mem, 0);
	free(map);
}

/* ---- RSDP, framebuffer masks ---- */

static void fix_sum(u8 *p, size_t n, size_t at)
{
	u8 s = 0;

	p[at] = 0;
	for (size_t i = 0; i < n; i++)
		s = (u8)(s + p[i]);
	p[at] = (u8)-s;
}

static void test_rsdp(void **state)
{
	u8 r[36] = "RSD PTR ";

	memcpy(r + 9, "BOCHS ", 6);
	r[15] = 0;
	fix_sum(r, 20, 8);
	memset(&bi, 0, sizeof(bi));
	assert_true(rsdp_copy(&bi, r));
	assert_int_equal(bi.rsdp_len, 20);

	r[15] = 2;
	*(u32 *)(r + 20) = 36;
	fix_sum(r, 20, 8);
	fix_sum(r, 36, 32);
	assert_true(rsdp_copy(&bi, r));
	assert_int_equal(bi.rsdp_len, 36);
	assert_memory_equal(bi.rsdp, r, 36);

	r[33] ^= 1; /* extended checksum broken: v1 part still good */
	assert_true(rsdp_copy(&bi, r));
	assert_int_equal(bi.rsdp_len, 20);

	r[8] ^= 1;
	assert_false(rsdp_copy(&bi, r));
	r[8] ^= 1;
	r[0] = 'X';
	assert_false(rsdp_copy(&bi, r));
}

static void test_fb_masks(void **state)
{
	u8 pos, size;

	fb_mask_to_field(0x00ff0000, &pos, &size);
	assert_int_equal(pos, 16);
	assert_int_equal(size, 8);
	fb_mask_to_field(0xf800, &pos, &size);
	assert_int_equal(pos, 11);
	assert_int_equal(size, 5);
	fb_mask_to_field(0, &pos, &size);
	assert_int_equal(pos, 0);
	assert_int_equal(size, 0);
	fb_mask_to_field(0x80000000, &pos, &size);
	assert_int_equal(pos, 31);
	assert_int_equal(size, 1);
}

/* ---- fmt ---- */

static void test_fmt(void **state)
{
	char b[64];

	assert_int_equal(efi_snprintf(b, sizeof(b), "%d|%5u|%-4x|%#llx|%05d", -12, 7u, 0xabu, 0x1234ULL, -3), 27);
	assert_string_equal(b, "-12|    7|ab  |0x1234|-0003");
	efi_snprintf(b, sizeof(b), "%s|%.3s|%.*s|%c|%%|%zu|%p", "abc", "abcdef", 2, "xyz", 'q', (size_t)42,
		     (void *)0x10);
	assert_string_equal(b, "abc|abc|xy|q|%|42|0x10");
	assert_int_equal(efi_snprintf(b, 5, "%s", "overflowing"), 11);
	assert_string_equal(b, "over");
	efi_snprintf(b, sizeof(b), "%lld %llu %X", (long long)INT64_MIN, (unsigned long long)UINT64_MAX, 0xbeefu);
	assert_string_equal(b, "-9223372036854775808 18446744073709551615 BEEF");
	efi_snprintf(b, sizeof(b), "%hhu %hd %hx", (unsigned char)200, (short)-5, (unsigned short)0xffff);
	assert_string_equal(b, "200 -5 ffff");
	assert_int_equal(efi_snprintf(NULL, 0, "%d", 12345), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_basic),
		cmocka_unit_test(test_cfg_crlf_bom_spaces_case),
		cmocka_unit_test(test_cfg_no_kernel),
		cmocka_unit_test(test_cfg_utf16),
		cmocka_unit_test(test_cfg_bad_lines),
		cmocka_unit_test(test_cfg_nul_and_unterminated),
		cmocka_unit_test(test_cfg_limits),
		cmocka_unit_test(test_cfg_random),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_elf_good),
		cmocka_unit_test(test_elf_page_ranges),
		cmocka_unit_test(test_elf_bad),
		cmocka_unit_test(test_elf_real_kernel_fuzz),
		cmocka_unit_test(test_memmap_types_sort_merge),
		cmocka_unit_test(test_memmap_overflow_and_wrap),
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_fb_masks),
		cmocka_unit_test(test_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
