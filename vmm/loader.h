/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_LOADER_H
#define KEEL_VMM_LOADER_H

#include "vmm/vm.h"

#define GUEST_MAX_MODULES 16

struct guest_image {
	const u8 *data;
	u64 size;
	const char *cmdline;
};

/*
 * Loads a multiboot ELF kernel (ELF32 or ELF64 with a multiboot1 or multiboot2 header) into the
 * VM's RAM, its modules page-aligned after it, writes a multiboot1 information block listing
 * them, and fills the state its vCPU starts in. On failure *why says what is wrong.
 */
int load_multiboot_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *mods, u32 nr_mods,
			 struct vcpu_boot_state *boot, const char **why);

/*
 * Loads a Linux bzImage (boot protocol 2.12 or later) and its initramfs (may be NULL): zero page
 * with the VM's e820 map, kernel->cmdline as the command line, rsdp_gpa as the ACPI RSDP (0: none);
 * the vCPU enters through the 32-bit boot protocol.
 */
int load_linux_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *initrd, u64 rsdp_gpa,
		     struct vcpu_boot_state *boot, const char **why);

/* Loads a flat image at guest-physical 0x7c00 and starts it there in real mode. */
int load_realmode_guest(struct vm *vm, const u8 *data, u64 size, struct vcpu_boot_state *boot, const char **why);

#endif
