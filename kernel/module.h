/* SPDX-License-Identifier: MIT */
/* Boot modules: what each one is, checked before anything trusts its contents. */
#ifndef KEEL_MODULE_H
#define KEEL_MODULE_H

#include "kernel/types.h"

enum module_kind {
	MODULE_DATA, /* nothing recognised: passed on as data (initramfs, disk image, ...) */
	MODULE_ELF32,
	MODULE_ELF64,
	MODULE_LINUX,	/* x86 boot protocol bzImage */
	MODULE_CORRUPT, /* claims a format but breaks its rules */
};

struct module_info {
	enum module_kind kind;
	bool multiboot1, multiboot2;
	u64 entry;
	const char *why; /* MODULE_CORRUPT: the rule broken */
	/* ELF: the program header table, checked against the module's size. */
	u64 phoff;
	u16 phentsize, phnum;
};

struct elf_segment {
	u64 type, offset, filesz, memsz, paddr;
};

/* Program header i of a module that module_probe() accepted as ELF (i < phnum). */
struct elf_segment module_segment(const u8 *data, const struct module_info *mi, u16 i);

/* Identifies the module's format and validates its headers against its size. */
struct module_info module_probe(const u8 *data, u64 size);
const char *module_kind_name(enum module_kind k);

#endif
