/* SPDX-License-Identifier: MIT */
/*
 * Linux guests through the x86 boot protocol (Documentation/arch/x86/boot.rst in the kernel
 * tree): the protected-mode part of a bzImage is copied to its preferred address, the initramfs
 * to the top of RAM below 2 GiB, and a zero page (struct boot_params) gets the setup header, an
 * e820 map of the VM, the command line and the RSDP. vCPU 0 enters startup_32 in flat 32-bit
 * protected mode with paging off and ESI pointing at the zero page (the "32-bit boot protocol").
 * Every field comes from a guest-supplied file: each is checked before it is used.
 */
#include "kernel/lib/string.h"
#include "vmm/loader.h"

/* Offsets in the zero page / the bzImage's first sector (boot.rst "The real-mode kernel header"). */
#define BP_ACPI_RSDP	 0x070
#define BP_E820_ENTRIES	 0x1e8
#define HDR_SETUP_SECTS	 0x1f1
#define HDR_SYSSIZE	 0x1f4
#define HDR_VID_MODE	 0x1fa
#define HDR_BOOT_FLAG	 0x1fe
#define HDR_JUMP	 0x200
#define HDR_MAGIC	 0x202
#define HDR_VERSION	 0x206
#define HDR_TYPE_LOADER	 0x210
#define HDR_LOADFLAGS	 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK	 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END	 0x224
#define HDR_CMDLINE_PTR	 0x228
#define HDR_INITRD_MAX	 0x22c
#define HDR_ALIGN	 0x230
#define HDR_RELOCATABLE	 0x234
#define HDR_XLOADFLAGS	 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE	 0x260
#define BP_E820_TABLE	 0x2d0
#define BP_E820_MAX	 128

#define LOADED_HIGH	    0x01
#define CAN_USE_HEAP	    0x80
#define LOADER_UNDEFINED    0xff
#define MIN_PROTOCOL	    0x020c /* 2.12: xloadflags, pref_address, init_size */
#define E820_RAM	    1
#define E820_RESERVED	    2
#define LOW_RAM_END	    0x9fc00ull /* the EBDA and the BIOS area above it are reserved */
#define BIOS_AREA	    0xe0000ull /* ACPI tables (vmm/acpi_gen.h) */
#define HIGH_RAM	    0x100000ull
#define ZERO_PAGE_GPA	    0x10000ull
#define CMDLINE_GPA	    0x20000ull
#define CMDLINE_ROOM	    0x10000ull
#define INITRD_LIMIT	    0x80000000ull /* below 2 GiB: every kernel since 2.03 accepts it */
#define DEFAULT_LOAD	    0x1000000ull  /* 16 MiB, where a non-relocatable x86-64 kernel runs */
#define DEFAULT_CMDLINE_MAX 255

static u16 get16(const u8 *p, u32 off)
{
	return (u16)(p[off] | p[off + 1] << 8);
}

static u32 get32(const u8 *p, u32 off)
{
	return get16(p, off) | (u32)get16(p, off + 2) << 16;
}

static u64 get64(const u8 *p, u32 off)
{
	return get32(p, off) | (u64)get32(p, off + 4) << 32;
}

static void put32(u8 *p, u32 off, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (u8)(v >> (8 * i));
}

static void put_e820(u8 *zp, u32 *n, u64 base, u64 end, u32 type)
{
	u8 *e = zp + BP_E820_TABLE + *n * 20;

	if (end <= base || *n >= BP_E820_MAX)
		return;
	put32(e, 0, (u32)base);
	put32(e, 4, (u32)(base >> 32));
	put32(e, 8, (u32)(end - base));
	put32(e, 12, (u32)((end - base) >> 32));
	put32(e, 16, type);
	(*n)++;
}

/* The VM's memory as the BIOS of a PC would describe it: RAM below 640 KiB, the EBDA and BIOS
 * area reserved (the ACPI tables live there), RAM from 1 MiB to the hole below 4 GiB and the
 * rest from 4 GiB. MMIO devices (local APIC, I/O APIC) sit in the hole and are found through
 * the MADT; the hole is not listed, so Linux may place PCI BARs there. */
static u32 fill_e820(u8 *zp, const struct vm *vm)
{
	u32 n = 0;

	put_e820(zp, &n, 0, LOW_RAM_END, E820_RAM);
	put_e820(zp, &n, LOW_RAM_END, 0xa0000, E820_RESERVED);
	put_e820(zp, &n, BIOS_AREA, HIGH_RAM, E820_RESERVED);
	put_e820(zp, &n, HIGH_RAM, vm->low_ram, E820_RAM);
	put_e820(zp, &n, VM_HIGH_RAM, VM_HIGH_RAM + (vm->ram_size - vm->low_ram), E820_RAM);
	zp[BP_E820_ENTRIES] = (u8)n;
	return n;
}

int load_linux_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *initrd, u64 rsdp_gpa,
		     struct vcpu_boot_state *boot, const char **why)
{
	const u8 *img = kernel->data;
	u8 *zp; /* the zero page, built in place in the VM's memory: builds run on several CPUs at once */
	u64 setup_size, pm_size, load, init_size, align, cmdline_max, rd_at = 0, rd_size = 0;
	size_t cmd_len;
	u32 hdr_end;
	u16 version;

	*why = "not a bzImage (no 'HdrS' setup header with boot flag 0xAA55)";
	if (kernel->size < 0x268 || get16(img, HDR_BOOT_FLAG) != 0xaa55 || get32(img, HDR_MAGIC) != 0x53726448)
		return -EINVAL;
	version = get16(img, HDR_VERSION);
	if (version < MIN_PROTOCOL) {
		*why = "boot protocol older than 2.12 (kernels before 3.8)";
		return -EINVAL;
	}
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH)) {
		*why = "a zImage (loads below 1 MiB); only bzImage is supported";
		return -EINVAL;
	}
	setup_size = ((u64)(img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4) + 1) * 512;
	/* The setup header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	hdr_end = 0x202 + img[HDR_JUMP + 1];
	if (setup_size >= kernel->size || hdr_end > setup_size || hdr_end > 0x290) {
		*why = "the setup header or setup code runs past the file";
		return -EINVAL;
	}
	pm_size = kernel->size - setup_size;
	if ((u64)get32(img, HDR_SYSSIZE) * 16 > pm_size) {
		*why = "syssize says the kernel is larger than the file";
		return -EINVAL;
	}
	/* A relocatable kernel goes where it prefers (no move before decompression); otherwise at
	 * the fixed address it was linked for. */
	align = get32(img, HDR_ALIGN);
	load = img[HDR_RELOCATABLE] ? get64(img, HDR_PREF_ADDRESS) : DEFAULT_LOAD;
	if (!load || (align && (align & (align - 1))) || (align && load % align))
		load = DEFAULT_LOAD;
	init_size = MAX((u64)get32(img, HDR_INIT_SIZE), pm_size);
	if (load < HIGH_RAM || load >= vm->low_ram || init_size > vm->low_ram - load) {
		*why = "the kernel does not fit in the VM's RAM (init_size from its load address)";
		return -ENOMEM;
	}
	if (initrd && initrd->size) {
		rd_size = initrd->size;
		u64 top = MIN(vm->low_ram, INITRD_LIMIT);
		u32 max = get32(img, HDR_INITRD_MAX);

		if (max && top > (u64)max + 1)
			top = (u64)max + 1;
		if (rd_size > top)
			rd_at = 0;
		else
			rd_at = ALIGN_DOWN(top - rd_size, PAGE_SIZE);
		if (rd_at < load + init_size) {
			*why = "the initramfs does not fit in RAM above the kernel";
			return -ENOMEM;
		}
	}
	cmdline_max = version >= 0x0206 ? get32(img, HDR_CMDLINE_SIZE) : DEFAULT_CMDLINE_MAX;
	cmdline_max = MIN(cmdline_max, CMDLINE_ROOM - 1);
	cmd_len = strlen(kernel->cmdline);
	if (cmd_len > cmdline_max) {
		*why = "the command line is longer than the kernel accepts (cmdline_size)";
		return -E2BIG;
	}
	if (vm->low_ram < load + init_size || vm->low_ram <= CMDLINE_GPA + CMDLINE_ROOM) {
		*why = "not enough RAM";
		return -ENOMEM;
	}

	zp = gpa_map(vm, ZERO_PAGE_GPA, PAGE_SIZE);
	if (!zp) {
		*why = "cannot write the guest's memory";
		return -EFAULT;
	}
	memset(zp, 0, PAGE_SIZE);
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] = (u8)(zp[HDR_LOADFLAGS] & ~CAN_USE_HEAP); /* no real-mode setup code runs */
	zp[HDR_VID_MODE] = zp[HDR_VID_MODE + 1] = 0xff;		     /* "normal" */
	put32(zp, HDR_CODE32_START, (u32)load);
	put32(zp, HDR_CMDLINE_PTR, (u32)CMDLINE_GPA);
	put32(zp, HDR_RAMDISK, (u32)rd_at);
	put32(zp, HDR_RAMDISK_SIZE, (u32)rd_size);
	put32(zp, HDR_HEAP_END, 0);
	put32(zp, BP_ACPI_RSDP, (u32)rsdp_gpa);
	put32(zp, BP_ACPI_RSDP + 4, (u32)(rsdp_gpa >> 32));
	fill_e820(zp, vm);

	if (gpa_write(vm, load, img + setup_size, pm_size) || gpa_write(vm, CMDLINE_GPA, kernel->cmdline, cmd_len) ||
	    gpa_write(vm, CMDLINE_GPA + cmd_len, "", 1) || (rd_size && gpa_write(vm, rd_at, initrd->data, rd_size))) {
		*why = "cannot write the guest's memory";
		return -EFAULT;
	}
	*why = NULL;
	/* boot.rst "32-bit boot protocol": flat 4 GiB segments, paging off, interrupts off,
	 * ESI = zero page, EBP = EDI = EBX = 0. startup_32 loads its own GDT first thing. */
	*boot = (struct vcpu_boot_state){ .protected_mode = true, .rip = load, .rsi = ZERO_PAGE_GPA };
	return 0;
}
