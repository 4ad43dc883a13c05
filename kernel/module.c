/* SPDX-License-Identifier: MIT */
/*
 * Format checks for boot modules. Every offset and size is checked against the module's length
 * before use (the module is whatever a user or a loader handed us).
 */
#include "kernel/module.h"

#include "boot/multiboot.h"
#include "kernel/elf.h"
#include "kernel/lib/string.h"

static struct elf_segment read_phdr(const u8 *ph, bool is64)
{
	if (is64) {
		struct elf64_phdr p;

		memcpy(&p, ph, sizeof(p));
		return (struct elf_segment){ p.type, p.offset, p.filesz, p.memsz, p.paddr };
	} else {
		struct elf32_phdr p;

		memcpy(&p, ph, sizeof(p));
		return (struct elf_segment){ p.type, p.offset, p.filesz, p.memsz, p.paddr };
	}
}

struct elf_segment module_segment(const u8 *data, const struct module_info *mi, u16 i)
{
	return read_phdr(data + mi->phoff + (u64)i * mi->phentsize, mi->kind == MODULE_ELF64);
}

static struct module_info corrupt(const char *why)
{
	return (struct module_info){ .kind = MODULE_CORRUPT, .why = why };
}

/* Checks a program header table of phnum entries; loads must lie inside the file. */
static const char *check_phdrs(const u8 *data, u64 size, u64 phoff, u16 phentsize, u16 phnum, bool is64)
{
	u64 need = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	u32 loads = 0;

	if (phnum == 0)
		return "no program headers";
	if (phentsize < need)
		return "program header entries too small";
	if (phoff > size || (u64)phentsize * phnum > size - phoff)
		return "program header table outside the file";
	for (u16 i = 0; i < phnum; i++) {
		struct elf_segment seg = read_phdr(data + phoff + (u64)i * phentsize, is64);

		if (seg.type != PT_LOAD)
			continue;
		loads++;
		if (seg.offset > size || seg.filesz > size - seg.offset)
			return "segment data outside the file";
		if (seg.filesz > seg.memsz)
			return "segment file size larger than its memory size";
		if (seg.paddr + seg.memsz < seg.paddr)
			return "segment wraps around the address space";
	}
	return loads ? NULL : "no loadable segment";
}

static void find_multiboot(const u8 *data, u64 size, struct module_info *mi)
{
	/* Multiboot1: 4-byte aligned in the first 8 KiB; multiboot2: 8-byte aligned in 32 KiB. */
	for (u64 off = 0; off + 12 <= MIN(size, KiB(32)); off += 4) {
		u32 magic, a, b;

		memcpy(&magic, data + off, 4);
		memcpy(&a, data + off + 4, 4);
		memcpy(&b, data + off + 8, 4);
		if (off + 12 <= KiB(8) && magic == MB1_HEADER_MAGIC && (u32)(magic + a + b) == 0)
			mi->multiboot1 = true;
		if (!(off & 7) && magic == MB2_HEADER_MAGIC && a == MB2_ARCH_I386 && off + 16 <= size) {
			u32 c;

			memcpy(&c, data + off + 12, 4);
			if ((u32)(magic + a + b + c) == 0)
				mi->multiboot2 = true;
		}
	}
}

struct module_info module_probe(const u8 *data, u64 size)
{
	struct module_info mi = { .kind = MODULE_DATA };
	const char *why;

	if (size >= 4 && !memcmp(data, "\177ELF", 4)) {
		if (size < sizeof(struct elf32_ehdr))
			return corrupt("truncated ELF header");
		if (data[EI_DATA] != ELFDATA2LSB)
			return corrupt("ELF is not little-endian");
		if (data[EI_CLASS] == ELFCLASS64) {
			struct elf64_ehdr h;

			if (size < sizeof(h))
				return corrupt("truncated ELF64 header");
			memcpy(&h, data, sizeof(h));
			if (h.machine != EM_X86_64)
				return corrupt("ELF64 for another machine");
			if (h.type != ET_EXEC)
				return corrupt("ELF is not an executable");
			why = check_phdrs(data, size, h.phoff, h.phentsize, h.phnum, true);
			if (why)
				return corrupt(why);
			mi.kind = MODULE_ELF64;
			mi.entry = h.entry;
			mi.phoff = h.phoff, mi.phentsize = h.phentsize, mi.phnum = h.phnum;
		} else if (data[EI_CLASS] == ELFCLASS32) {
			struct elf32_ehdr h;

			memcpy(&h, data, sizeof(h));
			if (h.machine != EM_386 && h.machine != EM_X86_64)
				return corrupt("ELF32 for another machine");
			if (h.type != ET_EXEC)
				return corrupt("ELF is not an executable");
			why = check_phdrs(data, size, h.phoff, h.phentsize, h.phnum, false);
			if (why)
				return corrupt(why);
			mi.kind = MODULE_ELF32;
			mi.entry = h.entry;
			mi.phoff = h.phoff, mi.phentsize = h.phentsize, mi.phnum = h.phnum;
		} else {
			return corrupt("unknown ELF class");
		}
		find_multiboot(data, size, &mi);
		return mi;
	}
	/* Linux x86 boot protocol: "HdrS" at 0x202 (Documentation/arch/x86/boot.rst). */
	if (size >= 0x206 && !memcmp(data + 0x202, "HdrS", 4)) {
		mi.kind = MODULE_LINUX;
		return mi;
	}
	find_multiboot(data, size, &mi);
	return mi;
}

const char *module_kind_name(enum module_kind k)
{
	switch (k) {
	case MODULE_ELF32:
		return "ELF32";
	case MODULE_ELF64:
		return "ELF64";
	case MODULE_LINUX:
		return "Linux bzImage";
	case MODULE_CORRUPT:
		return "corrupt";
	case MODULE_DATA:
		break;
	}
	return "data";
}
