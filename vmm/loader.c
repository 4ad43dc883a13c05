/* SPDX-License-Identifier: MIT */
/*
 * Multiboot guests: an ELF kernel from a boot module is copied into the VM's RAM and entered in
 * 32-bit protected mode with a multiboot1 information block, as GRUB or QEMU would start it.
 */
#include "vmm/loader.h"

#include "boot/multiboot.h"
#include "kernel/elf.h"
#include "kernel/lib/string.h"
#include "kernel/module.h"

/* Guest-physical layout of what the loader writes besides the kernel (below 1 MiB). */
#define MBI_GPA		 0x9000
#define MMAP_GPA	 0x9100
#define CMDLINE_GPA	 0x9400
#define CMDLINE_MAX	 1024
#define MODS_GPA	 0x9900 /* struct mb1_module[GUEST_MAX_MODULES] */
#define MOD_CMDLINES_GPA 0x6000 /* MOD_CMDLINE_MAX bytes per module */
#define MOD_CMDLINE_MAX	 256
#define LOW_RAM_END	 0x9fc00
#define KERNEL_MIN_GPA	 0x100000

static int load_segment(struct vm *vm, const u8 *data, u64 off, u64 filesz, u64 memsz, u64 paddr, const char **why)
{
	_Static_assert(MODS_GPA + GUEST_MAX_MODULES * sizeof(struct mb1_module) <= LOW_RAM_END, "module list");
	_Static_assert(MOD_CMDLINES_GPA + GUEST_MAX_MODULES * MOD_CMDLINE_MAX <= MBI_GPA, "module names");
	if (paddr < KERNEL_MIN_GPA || paddr >= vm->low_ram || memsz > vm->low_ram - paddr) {
		*why = "a segment lies outside the VM's RAM (or below 1 MiB)";
		return -EFAULT;
	}
	return gpa_write(vm, paddr, data + off, filesz);
}

static int load_elf(struct vm *vm, const u8 *data, const struct module_info *mi, u64 *end, const char **why)
{
	/* module_probe() has checked the table and every segment against the file. */
	for (u16 i = 0; i < mi->phnum; i++) {
		struct elf_segment seg = module_segment(data, mi, i);
		int ret;

		if (seg.type != PT_LOAD)
			continue;
		ret = load_segment(vm, data, seg.offset, seg.filesz, seg.memsz, seg.paddr, why);
		if (ret)
			return ret;
		*end = MAX(*end, seg.paddr + seg.memsz);
	}
	return 0;
}

static int write_cstring(struct vm *vm, gpa_t gpa, const char *s, size_t max)
{
	size_t n = MIN(strlen(s), max - 1);
	int ret = gpa_write(vm, gpa, s, n);

	return ret ?: gpa_write(vm, gpa + n, "", 1);
}

/* Modules go page-aligned after the kernel's highest segment, in order. */
static int load_modules(struct vm *vm, u64 end, const struct guest_image *mods, u32 nr, const char **why)
{
	u64 at = ALIGN_UP(end, PAGE_SIZE);

	if (nr > GUEST_MAX_MODULES) {
		*why = "too many modules for one guest";
		return -E2BIG;
	}
	for (u32 i = 0; i < nr; i++) {
		struct mb1_module m;
		int ret;

		if (at >= vm->low_ram || mods[i].size > vm->low_ram - at) {
			*why = "the modules do not fit in the VM's RAM";
			return -ENOMEM;
		}
		m = (struct mb1_module){ .start = (u32)at,
					 .end = (u32)(at + mods[i].size),
					 .cmdline = MOD_CMDLINES_GPA + i * MOD_CMDLINE_MAX };
		ret = gpa_write(vm, at, mods[i].data, mods[i].size);
		ret = ret ?: write_cstring(vm, m.cmdline, mods[i].cmdline, MOD_CMDLINE_MAX);
		ret = ret ?: gpa_write(vm, MODS_GPA + i * sizeof(m), &m, sizeof(m));
		if (ret) {
			*why = "cannot write the guest's memory";
			return ret;
		}
		at = ALIGN_UP(at + mods[i].size, PAGE_SIZE);
	}
	return 0;
}

static int write_mbi(struct vm *vm, const char *cmdline, u32 nr_mods)
{
	struct mb1_mmap_entry map[3] = {
		{ .size = 20, .addr = 0, .len = LOW_RAM_END, .type = 1 },
		{ .size = 20, .addr = KERNEL_MIN_GPA, .len = vm->low_ram - KERNEL_MIN_GPA, .type = 1 },
		{ .size = 20, .addr = VM_HIGH_RAM, .len = vm->ram_size - vm->low_ram, .type = 1 },
	};
	u32 entries = vm->ram_size > vm->low_ram ? 3 : 2;
	struct mb1_info mbi = {
		.flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER_NAME,
		.mem_lower = LOW_RAM_END >> 10,
		.mem_upper = (u32)((vm->low_ram - KERNEL_MIN_GPA) >> 10), /* up to the first hole */
		.cmdline = CMDLINE_GPA,
		.mmap_length = entries * sizeof(map[0]),
		.mmap_addr = MMAP_GPA,
		.boot_loader_name = CMDLINE_GPA + CMDLINE_MAX,
		.mods_count = nr_mods,
		.mods_addr = MODS_GPA,
	};
	int ret;

	if (nr_mods)
		mbi.flags |= MB1_INFO_MODS;
	ret = gpa_write(vm, MBI_GPA, &mbi, sizeof(mbi));
	ret = ret ?: gpa_write(vm, MMAP_GPA, map, entries * sizeof(map[0]));
	ret = ret ?: write_cstring(vm, CMDLINE_GPA, cmdline, CMDLINE_MAX);
	return ret ?: write_cstring(vm, CMDLINE_GPA + CMDLINE_MAX, "Keel", 16);
}

int load_multiboot_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *mods, u32 nr_mods,
			 struct vcpu_boot_state *boot, const char **why)
{
	const u8 *data = kernel->data;
	struct module_info mi = module_probe(data, kernel->size);
	u64 end = KERNEL_MIN_GPA;
	int ret;

	*why = NULL;
	if (mi.kind == MODULE_CORRUPT) {
		*why = mi.why;
		return -EINVAL;
	}
	if ((mi.kind != MODULE_ELF32 && mi.kind != MODULE_ELF64) || !(mi.multiboot1 || mi.multiboot2)) {
		*why = "not a multiboot ELF kernel";
		return -EINVAL;
	}
	if (mi.entry < KERNEL_MIN_GPA || mi.entry >= vm->low_ram) {
		*why = "entry point outside the VM's RAM";
		return -EINVAL;
	}
	if (vm->ram_size < MiB(2)) {
		*why = "less than 2 MiB of RAM";
		return -EINVAL;
	}
	ret = load_elf(vm, data, &mi, &end, why);
	ret = ret ?: load_modules(vm, end, mods, nr_mods, why);
	ret = ret ?: write_mbi(vm, kernel->cmdline, nr_mods);
	if (ret) {
		*why = *why ? *why : "cannot write the guest's memory";
		return ret;
	}
	*boot = (struct vcpu_boot_state){
		.protected_mode = true,
		.rip = mi.entry,
		.rax = MB1_BOOT_MAGIC,
		.rbx = MBI_GPA,
	};
	return 0;
}

/* Real mode: the image at 0000:7C00 as a BIOS starts a boot sector, DL = 0x80 (first disk). */
#define REAL_LOAD_GPA 0x7c00
#define REAL_LOAD_END 0x80000 /* below the EBDA a BIOS would keep */

int load_realmode_guest(struct vm *vm, const u8 *data, u64 size, struct vcpu_boot_state *boot, const char **why)
{
	if (size == 0 || size > REAL_LOAD_END - REAL_LOAD_GPA) {
		*why = "a real-mode image must be 1 byte to 481 KiB";
		return -EINVAL;
	}
	if (vm->ram_size < MiB(1) || gpa_write(vm, REAL_LOAD_GPA, data, size)) {
		*why = "cannot write the guest's memory";
		return -EFAULT;
	}
	*boot = (struct vcpu_boot_state){
		.protected_mode = false,
		.rip = REAL_LOAD_GPA,
		.rsp = REAL_LOAD_GPA,
		.rdx = 0x80,
	};
	return 0;
}
