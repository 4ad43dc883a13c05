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

/*
 * What the loader writes besides the kernel and its modules, one INFO_SIZE block: the multiboot
 * information, its memory map, the command line and loader name, the module list and the modules'
 * command lines, at these offsets. The block goes where the kernel is not (as GRUB places its
 * own): at INFO_DEFAULT_GPA unless a segment is there, else the first free page-aligned place
 * below LOW_RAM_END, else right after the kernel (the modules then follow the block).
 */
#define INFO_MBI	  0x0000
#define INFO_MMAP	  0x0100
#define INFO_CMDLINE	  0x0400
#define CMDLINE_MAX	  1024
#define INFO_NAME	  0x0800 /* the loader's name, 16 bytes */
#define INFO_MODS	  0x0900 /* struct mb1_module[GUEST_MAX_MODULES] */
#define INFO_MOD_CMDLINES 0x1000 /* MOD_CMDLINE_MAX bytes per module */
#define MOD_CMDLINE_MAX	  256
#define INFO_SIZE	  0x2000
/* 0x9000 as before; test guests start their APs through [0x8000, 0x9000) (lib/smp.h). */
#define INFO_DEFAULT_GPA 0x9000
#define INFO_LOW_GPA	 0x1000 /* leave page 0 (real-mode IVT, BIOS data area) alone */
#define LOW_RAM_END	 0x9fc00
#define KERNEL_MIN_GPA	 0x100000

_Static_assert(INFO_MMAP >= INFO_MBI + sizeof(struct mb1_info), "mbi");
_Static_assert(INFO_CMDLINE >= INFO_MMAP + 3 * sizeof(struct mb1_mmap_entry), "memory map");
_Static_assert(INFO_NAME >= INFO_CMDLINE + CMDLINE_MAX, "command line");
_Static_assert(INFO_MODS >= INFO_NAME + 16, "loader name");
_Static_assert(INFO_MOD_CMDLINES >= INFO_MODS + GUEST_MAX_MODULES * sizeof(struct mb1_module), "module list");
_Static_assert(INFO_SIZE >= INFO_MOD_CMDLINES + GUEST_MAX_MODULES * MOD_CMDLINE_MAX, "module names");
_Static_assert(INFO_DEFAULT_GPA + INFO_SIZE <= LOW_RAM_END, "default place");

static int load_segment(struct vm *vm, const u8 *data, u64 off, u64 filesz, u64 memsz, u64 paddr, const char **why)
{
	if (paddr >= vm->low_ram || memsz > vm->low_ram - paddr) {
		*why = "a segment lies outside the VM's RAM";
		return -EFAULT;
	}
	/* Between 640 KiB and 1 MiB a PC has no RAM: the VM's ACPI tables are there (0xe0000). */
	if (paddr < KERNEL_MIN_GPA && paddr + memsz > LOW_RAM_END) {
		*why = "a segment overlaps the BIOS area 0x9fc00-0xfffff (the VM's ACPI tables)";
		return -EFAULT;
	}
	return gpa_write(vm, paddr, data + off, filesz);
}

/* Whether [gpa, gpa + size) meets one of the kernel's loaded segments. */
static bool kernel_overlaps(const u8 *data, const struct module_info *mi, u64 gpa, u64 size)
{
	for (u16 i = 0; i < mi->phnum; i++) {
		struct elf_segment seg = module_segment(data, mi, i);

		if (seg.type == PT_LOAD && seg.memsz && seg.paddr < gpa + size && gpa < seg.paddr + seg.memsz)
			return true;
	}
	return false;
}

/* Where the information block goes, or 0: nowhere. end: the kernel's end (modules follow). */
static u64 place_info(struct vm *vm, const u8 *data, const struct module_info *mi, u64 end)
{
	u64 high = ALIGN_UP(end, PAGE_SIZE);

	if (!kernel_overlaps(data, mi, INFO_DEFAULT_GPA, INFO_SIZE))
		return INFO_DEFAULT_GPA;
	for (u64 gpa = INFO_LOW_GPA; gpa + INFO_SIZE <= LOW_RAM_END; gpa += PAGE_SIZE)
		if (!kernel_overlaps(data, mi, gpa, INFO_SIZE))
			return gpa;
	if (high < vm->low_ram && INFO_SIZE <= vm->low_ram - high)
		return high; /* then the modules go after it */
	return 0;
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

/* Modules go page-aligned after `end` (the kernel, or the information block after it), in order;
 * the list and their command lines go in the information block at info. */
static int load_modules(struct vm *vm, u64 end, u64 info, const struct guest_image *mods, u32 nr, const char **why)
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
					 .cmdline = (u32)(info + INFO_MOD_CMDLINES + i * MOD_CMDLINE_MAX) };
		ret = gpa_write(vm, at, mods[i].data, mods[i].size);
		ret = ret ?: write_cstring(vm, m.cmdline, mods[i].cmdline, MOD_CMDLINE_MAX);
		ret = ret ?: gpa_write(vm, info + INFO_MODS + i * sizeof(m), &m, sizeof(m));
		if (ret) {
			*why = "cannot write the guest's memory";
			return ret;
		}
		at = ALIGN_UP(at + mods[i].size, PAGE_SIZE);
	}
	return 0;
}

static int write_mbi(struct vm *vm, u64 info, const char *cmdline, u32 nr_mods)
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
		.cmdline = (u32)(info + INFO_CMDLINE),
		.mmap_length = entries * sizeof(map[0]),
		.mmap_addr = (u32)(info + INFO_MMAP),
		.boot_loader_name = (u32)(info + INFO_NAME),
		.mods_count = nr_mods,
		.mods_addr = (u32)(info + INFO_MODS),
	};
	int ret;

	if (nr_mods)
		mbi.flags |= MB1_INFO_MODS;
	ret = gpa_write(vm, info + INFO_MBI, &mbi, sizeof(mbi));
	ret = ret ?: gpa_write(vm, info + INFO_MMAP, map, entries * sizeof(map[0]));
	ret = ret ?: write_cstring(vm, info + INFO_CMDLINE, cmdline, CMDLINE_MAX);
	return ret ?: write_cstring(vm, info + INFO_NAME, "Keel", 16);
}

int load_multiboot_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *mods, u32 nr_mods,
			 struct vcpu_boot_state *boot, const char **why)
{
	const u8 *data = kernel->data;
	struct module_info mi = module_probe(data, kernel->size);
	u64 end = KERNEL_MIN_GPA, info;
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
	if (mi.entry >= vm->low_ram || (mi.entry >= LOW_RAM_END && mi.entry < KERNEL_MIN_GPA)) {
		*why = "entry point outside the VM's RAM";
		return -EINVAL;
	}
	if (vm->ram_size < MiB(2)) {
		*why = "less than 2 MiB of RAM";
		return -EINVAL;
	}
	ret = load_elf(vm, data, &mi, &end, why);
	info = ret ? 0 : place_info(vm, data, &mi, end);
	if (!ret && !info) {
		*why = "no room for the multiboot information (8 KiB) below 640 KiB or after the kernel";
		ret = -ENOMEM;
	}
	if (!ret && info >= end)
		end = info + INFO_SIZE;
	ret = ret ?: load_modules(vm, end, info, mods, nr_mods, why);
	ret = ret ?: write_mbi(vm, info, kernel->cmdline, nr_mods);
	if (ret) {
		*why = *why ? *why : "cannot write the guest's memory";
		return ret;
	}
	*boot = (struct vcpu_boot_state){
		.protected_mode = true,
		.rip = mi.entry,
		.rax = MB1_BOOT_MAGIC,
		.rbx = info + INFO_MBI,
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
