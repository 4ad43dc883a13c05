/* SPDX-License-Identifier: MIT */
/* VMM pieces that parse guest-controlled or user-controlled input: VM declarations, guest page
 * walks and instruction decoding, and the multiboot guest loader; and two VMs built at once
 * (their ACPI tables and Linux zero pages). */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/regs.h"
#include "boot/multiboot.h"
#include "vmm/acpi_gen.h"
#include "vmm/guest_mem.h"
#include "vmm/loader.h"
#include "vmm/platform.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"

/* --- fake VMs: RAM is a host buffer, registers come from a table -------------------------- */

#define RAM_SIZE (4u << 20)
static u8 *ram, *ram_b; /* vm's and vm_b's */
static hpa_t ram_chunks[RAM_SIZE / VM_RAM_CHUNK];
static u64 regs[VREG_NR];
static struct vm vm, vm_b;

/* Run once, at vm's next write to or map of its memory (then cleared): another CPU's build
 * happening at that moment of vm's build. */
static void (*between_builds)(void);

static u8 *ram_of(struct vm *v)
{
	return v == &vm_b ? ram_b : ram;
}

/* The VM's RAM layout decides what is RAM; only the first RAM_SIZE bytes have a buffer. */
static bool fake_ram(struct vm *v, gpa_t gpa, u64 len)
{
	u64 off, room;

	return vm_ram_offset(v, gpa, &off, &room) && len <= room && gpa < RAM_SIZE && len <= RAM_SIZE - gpa;
}

static void other_build_now(struct vm *v)
{
	void (*fn)(void) = between_builds;

	if (v == &vm && fn) {
		between_builds = NULL;
		fn();
	}
}

int gpa_read(struct vm *v, gpa_t gpa, void *buf, u64 len)
{
	if (!fake_ram(v, gpa, len))
		return -EFAULT;
	memcpy(buf, ram_of(v) + gpa, len);
	return 0;
}

int gpa_write(struct vm *v, gpa_t gpa, const void *buf, u64 len)
{
	if (!fake_ram(v, gpa, len))
		return -EFAULT;
	other_build_now(v);
	memcpy(ram_of(v) + gpa, buf, len);
	return 0;
}

void *gpa_map(struct vm *v, gpa_t gpa, u64 len)
{
	if (!fake_ram(v, gpa, len))
		return NULL;
	other_build_now(v);
	return ram_of(v) + gpa;
}

int gpa_load(struct vm *v, gpa_t gpa, unsigned size, u64 *val)
{
	u32 v32;

	if ((gpa & (size - 1)) || !fake_ram(v, gpa, size))
		return -EFAULT;
	if (size == 8) {
		memcpy(val, ram_of(v) + gpa, 8);
	} else {
		memcpy(&v32, ram_of(v) + gpa, 4);
		*val = v32;
	}
	return 0;
}

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	return regs[r];
}

static const struct vcpu_ops fake_ops = { .name = "fake", .get = fake_get };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static struct vcpu vcpu = { .vm = &vm };

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	ram_b = calloc(1, RAM_SIZE);
	memset(&vm, 0, sizeof(vm));
	vm.ram_size = vm.low_ram = RAM_SIZE;
	/* vm_ram_ptr(), which the page walk uses: RAM_SIZE bytes at ram, in 2 MiB chunks. */
	for (unsigned i = 0; i < RAM_SIZE / VM_RAM_CHUNK; i++)
		ram_chunks[i] = (hpa_t)(uintptr_t)(ram + i * VM_RAM_CHUNK) - DIRECTMAP_BASE;
	vm.ram_chunks = ram_chunks;
	memset(&vm_b, 0, sizeof(vm_b));
	vm_b.ram_size = vm_b.low_ram = 3u << 20;
	memset(regs, 0, sizeof(regs));
	between_builds = NULL;
	shim_log_reset();
	return ram && ram_b ? 0 : -1;
}

static int teardown(void **state)
{
	free(ram);
	free(ram_b);
	return 0;
}

static void put64(u64 gpa, u64 v)
{
	memcpy(ram + gpa, &v, 8);
}

static void put32(u64 gpa, u32 v)
{
	memcpy(ram + gpa, &v, 4);
}

/* --- page walks --------------------------------------------------------------------------- */

static void test_walk_paging_off(void **state)
{
	gpa_t gpa;

	assert_int_equal(gva_to_gpa(&vcpu, 0x123456, &gpa), 0);
	assert_int_equal(gpa, 0x123456);
	/* Outside long mode a linear address is 32 bits. */
	assert_int_equal(gva_to_gpa(&vcpu, 0x100001000ull, &gpa), 0);
	assert_int_equal(gpa, 0x1000);
}

static void test_walk_long_mode(void **state)
{
	gpa_t gpa;

	regs[VREG_CR0] = CR0_PG | CR0_PE;
	regs[VREG_CR4] = CR4_PAE;
	regs[VREG_EFER] = EFER_LME | EFER_LMA;
	regs[VREG_CR3] = 0x10000;
	put64(0x10000 + 8 * 0, 0x11000 | 1);	 /* PML4[0] */
	put64(0x11000 + 8 * 0, 0x12000 | 1);	 /* PDPT[0] */
	put64(0x12000 + 8 * 1, 0x200000 | 0x81); /* PD[1]: 2 MiB page at 0x200000 */
	put64(0x12000 + 8 * 2, 0x13000 | 1);	 /* PD[2]: a page table */
	put64(0x13000 + 8 * 3, 0x345000 | 1);	 /* PT[3] */
	assert_int_equal(gva_to_gpa(&vcpu, 0x200123, &gpa), 0);
	assert_int_equal(gpa, 0x200123);
	assert_int_equal(gva_to_gpa(&vcpu, 0x403abc, &gpa), 0);
	assert_int_equal(gpa, 0x345abc);
	/* A 1 GiB page (PDPT[1]), and a page table in RAM's second 2 MiB chunk. */
	put64(0x11000 + 8 * 1, 0x80000000ull | 0x81);
	assert_int_equal(gva_to_gpa(&vcpu, 0x4abcdef0, &gpa), 0);
	assert_int_equal(gpa, 0x8abcdef0);
	put64(0x12000 + 8 * 3, 0x3ff000 | 1);
	put64(0x3ff000 + 8 * 511, 0x1000 | 1);
	assert_int_equal(gva_to_gpa(&vcpu, 0x7ff123, &gpa), 0);
	assert_int_equal(gpa, 0x1123);
	/* Not present, and a table pointer outside the VM's RAM: both fail, nothing read past. */
	assert_int_equal(gva_to_gpa(&vcpu, 0x800000, &gpa), -EFAULT);
	put64(0x12000 + 8 * 5, 0x7fff0000000ull | 1);
	assert_int_equal(gva_to_gpa(&vcpu, 0xa00000, &gpa), -EFAULT);
	regs[VREG_CR3] = 0xfffffffff000ull;
	assert_int_equal(gva_to_gpa(&vcpu, 0x1000, &gpa), -EFAULT);
}

static void test_walk_pae_and_32bit(void **state)
{
	gpa_t gpa;

	regs[VREG_CR0] = CR0_PG | CR0_PE;
	regs[VREG_CR4] = CR4_PAE;
	regs[VREG_CR3] = 0x20000;
	put64(0x20000, 0x21000 | 1); /* PDPTE[0] */
	put64(0x21000 + 8 * 3, 0x22000 | 1);
	put64(0x22000 + 8 * 4, 0x1ab000 | 1);
	assert_int_equal(gva_to_gpa(&vcpu, 0x604321, &gpa), 0);
	assert_int_equal(gpa, 0x1ab321);

	regs[VREG_CR4] = CR4_PSE;
	regs[VREG_CR3] = 0x30000;
	put32(0x30000 + 4 * 1, 0x31000 | 1);
	put32(0x31000 + 4 * 2, 0x2cd000 | 1);
	put32(0x30000 + 4 * 2, 0x00800000 | 0x81); /* 4 MiB page */
	assert_int_equal(gva_to_gpa(&vcpu, 0x402fed, &gpa), 0);
	assert_int_equal(gpa, 0x2cdfed);
	assert_int_equal(gva_to_gpa(&vcpu, 0x812345, &gpa), 0);
	assert_int_equal(gpa, 0x812345);
}

/* --- instruction length ------------------------------------------------------------------- */

static void test_insn_length(void **state)
{
	static const u8 cpuid[] = { 0x0f, 0xa2 }, vmmcall[] = { 0x0f, 0x01, 0xd9 };

	regs[VREG_RIP] = 0x1000;
	memcpy(ram + 0x1000, cpuid, 2);
	assert_int_equal(insn_length(&vcpu, cpuid, 2), 2);
	memcpy(ram + 0x1000, "\x66\xf3\x0f\xa2", 4);
	assert_int_equal(insn_length(&vcpu, cpuid, 2), 4);
	/* REX is a prefix only in long mode. */
	memcpy(ram + 0x1000, "\x48\x0f\xa2", 3);
	assert_int_equal(insn_length(&vcpu, cpuid, 2), -EINVAL);
	regs[VREG_EFER] = EFER_LMA;
	assert_int_equal(insn_length(&vcpu, cpuid, 2), 3);
	/* Something else there (the guest rewrote it), and 15 prefixes with no opcode. */
	memcpy(ram + 0x1000, "\x0f\x01\xd8", 3);
	assert_int_equal(insn_length(&vcpu, vmmcall, 3), -EINVAL);
	memset(ram + 0x1000, 0x66, 15);
	assert_int_equal(insn_length(&vcpu, cpuid, 2), -EINVAL);
	/* CS base is added; an instruction at the very end of RAM cannot be read past it. */
	regs[VREG_CS_BASE] = 0x10000;
	regs[VREG_RIP] = 0x10;
	memcpy(ram + 0x10010, vmmcall, 3);
	assert_int_equal(insn_length(&vcpu, vmmcall, 3), 3);
	regs[VREG_CS_BASE] = 0;
	regs[VREG_RIP] = RAM_SIZE - 2;
	memcpy(ram + RAM_SIZE - 2, vmmcall, 2);
	assert_int_equal(insn_length(&vcpu, vmmcall, 3), -EINVAL);
}

/* --- VM declarations ---------------------------------------------------------------------- */

static void test_vm_config(void **state)
{
	nr_vm_configs = 0;
	assert_int_equal(vmm_config_add("web,module=2,mem=128M"), 0);
	assert_string_equal(vm_configs[0].name, "web");
	assert_int_equal(vm_configs[0].module, 2);
	assert_int_equal(vm_configs[0].mem, 128ull << 20);
	assert_int_equal(vmm_config_add("db,module=0"), 0);
	assert_int_equal(vm_configs[1].mem, DEFAULT_MEM);
	assert_int_equal(vm_configs[1].boot, VM_BOOT_MULTIBOOT);
	assert_int_equal(vmm_config_add("rm,module=1,boot=real"), 0);
	assert_int_equal(vm_configs[2].boot, VM_BOOT_REAL);
	assert_true(vmm_config_add("rm,module=1,boot=bios") < 0);
	assert_int_equal(vmm_config_add("lx,module=1,mods=2+3"), 0);
	assert_int_equal(vm_configs[3].nr_mods, 2);
	assert_int_equal(vm_configs[3].mods[1], 3);
	assert_true(vmm_config_add("lx,module=1,mods=2+") < 0);
	assert_true(vmm_config_add("lx,module=1,mods=1+2+3+4+5+6+7+8+9") < 0);
	assert_true(vmm_config_add("lx,module=1,mods=99") < 0);

	/* Scheduling fields: defaults, then each one. */
	assert_int_equal(vm_configs[0].vcpus, 1);
	assert_int_equal(vm_configs[0].weight, SCHED_WEIGHT_UNIT);
	assert_int_equal(vm_configs[0].cap, 0);
	assert_int_equal(vm_configs[0].affinity[0], ~0ull);
	assert_int_equal(vm_configs[0].affinity[VM_CONFIG_MAX_VCPUS - 1], ~0ull);
	assert_int_equal(vmm_config_add("smp,module=0,vcpus=4,weight=512,cap=25,cpus=1"), 0);
	assert_int_equal(vm_configs[4].vcpus, 4);
	assert_int_equal(vm_configs[4].weight, 512);
	assert_int_equal(vm_configs[4].cap, 25);
	for (int i = 0; i < VM_CONFIG_MAX_VCPUS; i++)
		assert_int_equal(vm_configs[4].affinity[i], 2);
	assert_int_equal(vmm_config_add("pin,module=0,vcpus=3,cpus=0/1-3+5/all"), 0);
	assert_int_equal(vm_configs[5].affinity[0], 1);
	assert_int_equal(vm_configs[5].affinity[1], 0x2e);
	assert_int_equal(vm_configs[5].affinity[2], ~0ull);
	assert_int_equal(vm_configs[5].affinity[3], ~0ull); /* the last set repeats */
	/* Reset: restart by default. */
	assert_false(vm_configs[0].end_on_reset);
	assert_int_equal(vmm_config_add("r1,module=0,on_reset=end"), 0);
	assert_true(vm_configs[6].end_on_reset);
	assert_int_equal(vmm_config_add("r2,module=0,on_reset=end,on_reset=restart"), 0);
	assert_false(vm_configs[7].end_on_reset);
	assert_true(vmm_config_add("x,module=0,on_reset=reboot") < 0);
	assert_true(vmm_config_add("x,module=0,on_reset=") < 0);
	/* The Keel control function: off by default. */
	assert_false(vm_configs[0].ctl);
	assert_false(vm_configs[7].ctl);
	assert_int_equal(vmm_config_add("c1,module=0,ctl=on"), 0);
	assert_true(vm_configs[8].ctl);
	assert_int_equal(vmm_config_add("c2,module=0,ctl=on,ctl=off"), 0);
	assert_false(vm_configs[9].ctl);
	assert_true(vmm_config_add("x,module=0,ctl=yes") < 0);
	assert_true(vmm_config_add("x,module=0,ctl") < 0);
	/* The management VM is never capped: others wait on its device models. */
	assert_true(vmm_config_add("m,module=0,mgmt,cap=50") < 0);
	assert_true(vmm_config_add("x,module=0,vcpus=0") < 0);
	assert_true(vmm_config_add("x,module=0,vcpus=9") < 0);
	assert_true(vmm_config_add("x,module=0,weight=0") < 0);
	assert_true(vmm_config_add("x,module=0,weight=65536") < 0);
	assert_true(vmm_config_add("x,module=0,cap=101") < 0);
	assert_true(vmm_config_add("x,module=0,cpus=") < 0);
	assert_true(vmm_config_add("x,module=0,cpus=3-1") < 0);
	assert_true(vmm_config_add("x,module=0,cpus=64") < 0);
	assert_true(vmm_config_add("x,module=0,cpus=0/") < 0);
	assert_true(vmm_config_add("x,module=0,cpus=0/1/2/3/4/5/6/7/0") < 0);
	assert_true(shim_log_contains("bad cpus="));

	assert_true(vmm_config_add("nomod") < 0);
	assert_true(shim_log_contains("no module= given"));
	assert_true(vmm_config_add("x,module=99") < 0);
	assert_true(vmm_config_add("x,module=1,mem=1M") < 0);
	assert_true(vmm_config_add("x,module=1,mem=99999999999999999999") < 0);
	assert_true(vmm_config_add("x,module=1,mem=12Q") < 0);
	assert_true(vmm_config_add(",module=1") < 0);
	assert_true(vmm_config_add("x,module=1,colour=red") < 0);
	assert_true(vmm_config_add("a-name-much-longer-than-thirty-one-chars,module=0") < 0);
	assert_int_equal(nr_vm_configs, 10);
	while (nr_vm_configs < MAX_VMS)
		assert_int_equal(vmm_config_add("more,module=0"), 0);
	assert_int_equal(vmm_config_add("one-too-many,module=0"), -ENOSPC);
}

/* --- loader ------------------------------------------------------------------------------- */

/* A minimal ELF32 multiboot1 kernel: one segment of `filesz` bytes at paddr. */
static size_t make_guest(u8 *f, u32 paddr, u32 entry, u32 filesz, u32 memsz)
{
	struct elf32_hdr_ {
		u8 ident[16];
		u16 type, machine;
		u32 version, entry, phoff, shoff, flags;
		u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
	} __attribute__((packed))
	h = { { 0x7f, 'E', 'L', 'F', 1, 1, 1 }, 2, 3, 1, entry, 52, 0, 0, 52, 32, 1, 0, 0, 0 };
	u32 ph[8] = { 1, 0x100, paddr, paddr, filesz, memsz, 5, 0x1000 };
	u32 mb[3] = { MB1_HEADER_MAGIC, 0, -(u32)MB1_HEADER_MAGIC };

	memset(f, 0, 0x2000);
	memcpy(f, &h, sizeof(h));
	memcpy(f + 52, ph, sizeof(ph));
	memcpy(f + 0x100, mb, sizeof(mb));
	memset(f + 0x10c, 0x90, 16);
	return 0x100 + filesz;
}

static int load_mb(const u8 *f, size_t n, const char *cmdline, struct vcpu_boot_state *boot, const char **why)
{
	struct guest_image k = { f, n, cmdline };

	return load_multiboot_guest(&vm, &k, NULL, 0, boot, why);
}

static void test_loader_modules(void **state)
{
	u8 *f = calloc(1, 0x2000);
	static const u8 initrd[5000] = { 1, 2, 3 };
	struct guest_image k = { f, make_guest(f, 0x200000, 0x20010c, 0x100, 0x1800), "kernel args" };
	struct guest_image mods[2] = { { initrd, sizeof(initrd), "initrd.img" }, { initrd, 10, "second" } };
	struct vcpu_boot_state boot;
	struct mb1_module m[2];
	struct mb1_info mbi;
	const char *why;

	assert_int_equal(load_multiboot_guest(&vm, &k, mods, 2, &boot, &why), 0);
	memcpy(&mbi, ram + boot.rbx, sizeof(mbi));
	assert_true(mbi.flags & MB1_INFO_MODS);
	assert_int_equal(mbi.mods_count, 2);
	memcpy(m, ram + mbi.mods_addr, sizeof(m));
	/* After the kernel's last byte (0x201800), page aligned, one after the other. */
	assert_int_equal(m[0].start, 0x202000);
	assert_int_equal(m[0].end, 0x202000 + sizeof(initrd));
	assert_int_equal(m[1].start, 0x204000);
	assert_memory_equal(ram + m[0].start, initrd, sizeof(initrd));
	assert_string_equal((char *)ram + m[0].cmdline, "initrd.img");
	assert_string_equal((char *)ram + m[1].cmdline, "second");

	/* Too big for the VM, too many: refused with a reason. */
	mods[0].size = RAM_SIZE;
	assert_int_equal(load_multiboot_guest(&vm, &k, mods, 1, &boot, &why), -ENOMEM);
	assert_string_equal(why, "the modules do not fit in the VM's RAM");
	assert_int_equal(load_multiboot_guest(&vm, &k, mods, GUEST_MAX_MODULES + 1, &boot, &why), -E2BIG);
	free(f);
}

static u64 rd64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A synthetic bzImage: 4 setup sectors + 1 boot sector, then the "protected-mode kernel". */
#define BZ_SETUP   (5 * 512)
#define BZ_PM_SIZE 0x3000
static size_t make_bzimage(u8 *f, u16 version, u64 pref, u32 init_size)
{
	memset(f, 0, BZ_SETUP + BZ_PM_SIZE);
	f[0x1f1] = 4;			       /* setup_sects */
	*(u32 *)(f + 0x1f4) = BZ_PM_SIZE / 16; /* syssize */
	*(u16 *)(f + 0x1fe) = 0xaa55;	       /* boot_flag */
	f[0x200] = 0xeb, f[0x201] = 0x66;      /* jmp to 0x268: the header ends there */
	memcpy(f + 0x202, "HdrS", 4);
	*(u16 *)(f + 0x206) = version;
	f[0x211] = 0x01;		  /* LOADED_HIGH */
	*(u32 *)(f + 0x22c) = 0x7fffffff; /* initrd_addr_max */
	*(u32 *)(f + 0x230) = 0x200000;	  /* kernel_alignment */
	f[0x234] = 1;			  /* relocatable */
	*(u32 *)(f + 0x238) = 2047;	  /* cmdline_size */
	*(u64 *)(f + 0x258) = pref;	  /* pref_address */
	*(u32 *)(f + 0x260) = init_size;
	for (size_t i = 0; i < BZ_PM_SIZE; i++)
		f[BZ_SETUP + i] = (u8)(i * 7 + 1);
	return BZ_SETUP + BZ_PM_SIZE;
}

static void test_linux_loader(void **state)
{
	u8 *f = calloc(1, BZ_SETUP + BZ_PM_SIZE);
	static const u8 initrd[10000] = { 0x1f, 0x8b };
	struct guest_image k = { f, make_bzimage(f, 0x020f, 0x200000, 0x100000), "console=ttyS0 keeltest=1" };
	struct guest_image rd = { initrd, sizeof(initrd), "initrd" };
	struct vcpu_boot_state boot;
	const char *why;
	u8 *zp;
	u32 rd_at;

	assert_int_equal(load_linux_guest(&vm, &k, &rd, 0xe0000, &boot, &why), 0);
	assert_null(why);
	/* 32-bit boot protocol: startup_32 at the load address, ESI = zero page. */
	assert_true(boot.protected_mode);
	assert_int_equal(boot.rip, 0x200000);
	zp = ram + boot.rsi;
	assert_memory_equal(ram + 0x200000, f + BZ_SETUP, BZ_PM_SIZE);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);		  /* type_of_loader */
	assert_int_equal(*(u32 *)(zp + 0x214), 0x200000); /* code32_start */
	assert_string_equal((char *)ram + *(u32 *)(zp + 0x228), "console=ttyS0 keeltest=1");
	rd_at = *(u32 *)(zp + 0x218);
	assert_int_equal(*(u32 *)(zp + 0x21c), sizeof(initrd));
	assert_int_equal(rd_at % 4096, 0);
	assert_true(rd_at >= 0x300000 && rd_at + sizeof(initrd) <= RAM_SIZE);
	assert_memory_equal(ram + rd_at, initrd, sizeof(initrd));
	assert_int_equal(rd64(zp + 0x070), 0xe0000); /* acpi_rsdp_addr */
	/* e820: low RAM, EBDA + BIOS area reserved, RAM from 1 MiB. */
	assert_int_equal(zp[0x1e8], 4);
	assert_int_equal(rd64(zp + 0x2d0 + 3 * 20), 0x100000);
	assert_int_equal(rd64(zp + 0x2d0 + 3 * 20 + 8), RAM_SIZE - 0x100000);
	assert_int_equal(*(u32 *)(zp + 0x2d0 + 3 * 20 + 16), 1);
	assert_int_equal(rd64(zp + 0x2d0 + 2 * 20), 0xe0000);
	assert_int_equal(*(u32 *)(zp + 0x2d0 + 2 * 20 + 16), 2);

	/* 5 GiB: RAM up to the hole at 3 GiB, the rest from 4 GiB. */
	vm.ram_size = GiB(5);
	vm.low_ram = VM_RAM_HOLE;
	memset(ram, 0, RAM_SIZE);
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), 0);
	zp = ram + boot.rsi;
	assert_int_equal(zp[0x1e8], 5);
	assert_int_equal(rd64(zp + 0x2d0 + 3 * 20 + 8), GiB(3) - 0x100000);
	assert_int_equal(rd64(zp + 0x2d0 + 4 * 20), GiB(4));
	assert_int_equal(rd64(zp + 0x2d0 + 4 * 20 + 8), GiB(2));
	assert_int_equal(*(u32 *)(zp + 0x2d0 + 4 * 20 + 16), 1);
	vm.ram_size = vm.low_ram = RAM_SIZE;

	/* No initramfs. */
	memset(ram, 0, RAM_SIZE);
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), 0);
	assert_int_equal(*(u32 *)(ram + boot.rsi + 0x218), 0);
	assert_int_equal(*(u32 *)(ram + boot.rsi + 0x21c), 0);

	/* What a hostile or broken file gets. */
	k.size = make_bzimage(f, 0x020b, 0x200000, 0x100000);
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -EINVAL);
	assert_string_equal(why, "boot protocol older than 2.12 (kernels before 3.8)");
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x100000);
	f[0x1fe] = 0;
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -EINVAL);
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x100000);
	f[0x1f1] = 200; /* setup past the end of the file */
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -EINVAL);
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x100000);
	*(u32 *)(f + 0x1f4) = 0x10000; /* syssize beyond the file */
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -EINVAL);
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x7fffffff); /* init_size beyond RAM */
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -ENOMEM);
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x1ff000); /* no room left for the initramfs */
	assert_int_equal(load_linux_guest(&vm, &k, &rd, 0, &boot, &why), -ENOMEM);
	assert_string_equal(why, "the initramfs does not fit in RAM above the kernel");
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x100000);
	*(u32 *)(f + 0x238) = 10; /* cmdline_size */
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -E2BIG);
	/* A non-relocatable kernel goes to 16 MiB: beyond this 4 MiB VM. */
	k.size = make_bzimage(f, 0x020f, 0x200000, 0x100000);
	f[0x234] = 0;
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -ENOMEM);
	/* A truncated file. */
	k.size = 0x200;
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0, &boot, &why), -EINVAL);
	free(f);
}

/* --- VM builds on several CPUs at once --------------------------------------------------- */

/* What the rest of the virtual platform (vmm/platform_*.c) needs to link; none of it runs here. */
u64 cmos_unix_time(void)
{
	return 0;
}

u64 time_ns(void)
{
	return 0;
}

u64 tsc_to_ns(u64 tsc)
{
	return tsc;
}

void sched_kick(struct sched_entity *e)
{
}

void sched_kick_boost(struct sched_entity *e)
{
}

void dregs_guest_reset(struct guest_dregs *d)
{
}

void vm_crash(struct vm *v, const char *fmt, ...)
{
}

/* The handler platform_init() gives 0xcf8-0xcff, and the power events handlers raise. */
static vm_io_fn pci_ports;
static int power_events;

int vm_io_register(struct vm *v, u16 base, u16 count, vm_io_fn fn)
{
	if (base == VPCI_PORT_FIRST)
		pci_ports = fn;
	return 0;
}

int vm_mmio_register(struct vm *v, u64 base, u64 size, vm_mmio_fn fn)
{
	return 0;
}

void vm_power_event(struct vm *v, enum vm_end how)
{
	power_events++;
}

u8 acpi_checksum(const void *p, size_t len) /* drivers/acpi/tables.c's, without its table parsers */
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* The enabled processors (Local APIC entries) in the MADT among the tables at 0xE0000, or -1. */
static int madt_cpus(const u8 *mem)
{
	for (u32 off = ACPI_GEN_BIOS_AREA_GPA; off < ACPI_GEN_BIOS_AREA_GPA + ACPI_GEN_MIN_BUF_SIZE; off += 8) {
		const u8 *t = mem + off;
		u32 len, e;
		int n = 0;

		if (memcmp(t, "APIC", 4))
			continue;
		memcpy(&len, t + 4, 4);
		/* Entries from offset 44: type, length, UID, APIC ID, flags (bit 0: enabled). */
		for (e = 44; e + 8 <= len && t[e + 1]; e += t[e + 1])
			n += t[e] == 0 && (t[e + 4] & 1);
		return n;
	}
	return -1;
}

static u64 rsdp_b;

static void build_tables_b(void)
{
	assert_int_equal(platform_write_tables(&vm_b, 3, &rsdp_b), 0);
}

static void test_concurrent_acpi_builds(void **state)
{
	u8 *alone = malloc(ACPI_GEN_MIN_BUF_SIZE);
	u64 rsdp;

	/* vm_b (3 vCPUs) is built while vm (1 vCPU) is: each gets its own tables, vm's exactly
	 * those it gets when built alone. */
	between_builds = build_tables_b;
	assert_int_equal(platform_write_tables(&vm, 1, &rsdp), 0);
	assert_null(between_builds); /* vm_b's build did run in the middle of vm's */
	assert_int_equal(madt_cpus(ram), 1);
	assert_int_equal(madt_cpus(ram_b), 3);
	assert_int_equal(rsdp, ACPI_GEN_BIOS_AREA_GPA);
	assert_int_equal(rsdp_b, ACPI_GEN_BIOS_AREA_GPA);
	memcpy(alone, ram + ACPI_GEN_BIOS_AREA_GPA, ACPI_GEN_MIN_BUF_SIZE);
	memset(ram + ACPI_GEN_BIOS_AREA_GPA, 0, ACPI_GEN_MIN_BUF_SIZE);
	assert_int_equal(platform_write_tables(&vm, 1, &rsdp), 0);
	assert_memory_equal(alone, ram + ACPI_GEN_BIOS_AREA_GPA, ACPI_GEN_MIN_BUF_SIZE);
	free(alone);
}

static u8 *bz;

static void build_linux_b(void)
{
	struct guest_image k = { bz, BZ_SETUP + BZ_PM_SIZE, "vm=b" };
	struct vcpu_boot_state boot;
	const char *why;

	assert_int_equal(load_linux_guest(&vm_b, &k, NULL, 0xe0040, &boot, &why), 0);
}

static void test_concurrent_linux_builds(void **state)
{
	struct vcpu_boot_state boot;
	const char *why;
	u8 *zp, *zp_b;

	bz = calloc(1, BZ_SETUP + BZ_PM_SIZE);
	struct guest_image k = { bz, make_bzimage(bz, 0x020f, 0x200000, 0x100000), "vm=a" };

	/* vm_b (3 MiB) is built while vm (4 MiB) is: each zero page has its own e820 and RSDP. */
	between_builds = build_linux_b;
	assert_int_equal(load_linux_guest(&vm, &k, NULL, 0xe0000, &boot, &why), 0);
	assert_null(between_builds);
	zp = ram + boot.rsi;
	zp_b = ram_b + boot.rsi;
	assert_int_equal(rd64(zp + 0x070), 0xe0000);
	assert_int_equal(rd64(zp_b + 0x070), 0xe0040);
	assert_int_equal(rd64(zp + 0x2d0 + 3 * 20 + 8), RAM_SIZE - 0x100000);
	assert_int_equal(rd64(zp_b + 0x2d0 + 3 * 20 + 8), (3u << 20) - 0x100000);
	assert_string_equal((char *)ram + *(u32 *)(zp + 0x228), "vm=a");
	assert_string_equal((char *)ram_b + *(u32 *)(zp_b + 0x228), "vm=b");
	free(bz);
}

static void test_loader(void **state)
{
	u8 *f = calloc(1, 0x2000);
	struct vcpu_boot_state boot;
	const char *why;
	size_t n = make_guest(f, 0x200000, 0x20010c, 0x100, 0x1000);
	struct mb1_info mbi;

	assert_int_equal(load_mb(f, n, "args here", &boot, &why), 0);
	assert_true(boot.protected_mode);
	assert_int_equal(boot.rip, 0x20010c);
	assert_int_equal(boot.rax, MB1_BOOT_MAGIC);
	assert_memory_equal(ram + 0x200000, f + 0x100, 0x100);
	memcpy(&mbi, ram + boot.rbx, sizeof(mbi));
	assert_true(mbi.flags & MB1_INFO_MMAP);
	assert_string_equal((char *)ram + mbi.cmdline, "args here");
	assert_int_equal(mbi.mem_upper, (RAM_SIZE - 0x100000) >> 10);
	assert_int_equal(mbi.mmap_length, 2 * sizeof(struct mb1_mmap_entry));
	/* With RAM above 4 GiB: a third map entry; mem_upper stops at the hole. */
	vm.ram_size = GiB(4);
	vm.low_ram = VM_RAM_HOLE;
	assert_int_equal(load_mb(f, n, "args here", &boot, &why), 0);
	memcpy(&mbi, ram + boot.rbx, sizeof(mbi));
	assert_int_equal(mbi.mem_upper, (GiB(3) - 0x100000) >> 10);
	assert_int_equal(mbi.mmap_length, 3 * sizeof(struct mb1_mmap_entry));
	{
		struct mb1_mmap_entry e;

		memcpy(&e, ram + mbi.mmap_addr + 2 * sizeof(e), sizeof(e));
		assert_int_equal(e.addr, GiB(4));
		assert_int_equal(e.len, GiB(1));
		assert_int_equal(e.type, 1);
	}
	vm.ram_size = vm.low_ram = RAM_SIZE;

	/* Segments outside the VM, or over the loader's low-memory data; entries outside RAM. */
	n = make_guest(f, RAM_SIZE - 0x100, RAM_SIZE - 0x100, 0x100, 0x1000);
	assert_int_equal(load_mb(f, n, "", &boot, &why), -EFAULT);
	n = make_guest(f, 0x200000, RAM_SIZE + 0x1000, 0x100, 0x1000);
	assert_int_equal(load_mb(f, n, "", &boot, &why), -EINVAL);
	assert_string_equal(why, "entry point outside the VM's RAM");
	n = make_guest(f, 0x200000, 0x20010c, 0x100, 0x7fffffff);
	assert_true(load_mb(f, n, "", &boot, &why) < 0);
	assert_string_equal(why, "a segment lies outside the VM's RAM");
	/* Not multiboot, and corrupt. */
	n = make_guest(f, 0x200000, 0x20010c, 0x100, 0x1000);
	memset(f + 0x100, 0, 12);
	assert_true(load_mb(f, n, "", &boot, &why) < 0);
	assert_string_equal(why, "not a multiboot ELF kernel");
	n = make_guest(f, 0x200000, 0x20010c, 0x100, 0x1000);
	assert_true(load_mb(f, 60, "", &boot, &why) < 0);
	assert_string_equal(why, "program header table outside the file");
	free(f);
}

/* Issue 13 item 3: only a byte access to 0xcf9 is Reset Control. Accesses the PCI model does not
 * own (a dword at 0xcfe, a word at 0xcff, a word at 0xcf9) read all-ones and write nothing. */
static void test_pci_ports_and_reset_control(void **state)
{
	static const struct {
		u16 port;
		unsigned size;
	} odd[] = { { 0xcfe, 4 }, { 0xcff, 2 }, { 0xcff, 4 }, { 0xcfd, 4 }, { 0xcf9, 2 }, { 0xcf9, 4 }, { 0xcfb, 2 } };
	u32 val;

	vm.nr_vcpus = 0;
	assert_int_equal(platform_init(&vm), 0);
	assert_non_null(pci_ports);
	power_events = 0;
	for (unsigned i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		val = 0x06060606; /* Reset Control: full reset, if it reached 0xcf9 */
		pci_ports(&vcpu, odd[i].port, odd[i].size, false, &val);
		assert_int_equal(power_events, 0);
		val = 0;
		pci_ports(&vcpu, odd[i].port, odd[i].size, true, &val);
		assert_int_equal(val, odd[i].size == 4 ? 0xffffffffu : 0xffffu);
	}
	/* CONFIG_ADDRESS still works, and a byte at 0xcf9 still resets. */
	val = 0x80000000;
	pci_ports(&vcpu, 0xcf8, 4, false, &val);
	val = 0;
	pci_ports(&vcpu, 0xcf8, 4, true, &val);
	assert_int_equal(val, 0x80000000);
	val = 0x06;
	pci_ports(&vcpu, 0xcf9, 1, false, &val);
	assert_int_equal(power_events, 1);
}

/* Issue 13 item 6: a kernel linked below 1 MiB loads; the multiboot information goes where the
 * kernel is not, and only a real overlap (the BIOS area, no room at all) is refused, by name. */
static void test_loader_low_kernel(void **state)
{
	u8 *f = calloc(1, 0x2000);
	static const u8 initrd[100] = { 7 };
	struct guest_image mods[1] = { { initrd, sizeof(initrd), "mod0" } };
	struct vcpu_boot_state boot;
	struct mb1_module m;
	struct mb1_info mbi;
	const char *why;
	size_t n;

	/* Linked at 32 KiB, 8 KiB of memory: over the default place (0x9000), so the block goes to
	 * the first free page below 640 KiB. */
	n = make_guest(f, 0x8000, 0x800c, 0x100, 0x2000);
	assert_int_equal(load_mb(f, n, "low args", &boot, &why), 0);
	assert_int_equal(boot.rip, 0x800c);
	assert_memory_equal(ram + 0x8000, f + 0x100, 0x100);
	assert_true(boot.rbx + 0x2000 <= 0x8000 || boot.rbx >= 0xa000);
	memcpy(&mbi, ram + boot.rbx, sizeof(mbi));
	assert_string_equal((char *)ram + mbi.cmdline, "low args");
	assert_string_equal((char *)ram + mbi.boot_loader_name, "Keel");
	assert_true(mbi.cmdline < 0x8000 || mbi.cmdline >= 0xa000);
	assert_true(mbi.mmap_addr < 0x8000 || mbi.mmap_addr >= 0xa000);

	/* A kernel that fills low memory from 4 KiB to 636 KiB: the block goes after it, at 1 MiB,
	 * and the modules after the block; their list and names are in it. */
	n = make_guest(f, 0x1000, 0x100c, 0x100, 0x9e000);
	struct guest_image k = { f, n, "full" };
	assert_int_equal(load_multiboot_guest(&vm, &k, mods, 1, &boot, &why), 0);
	assert_int_equal(boot.rbx, 0x100000);
	memcpy(&mbi, ram + boot.rbx, sizeof(mbi));
	assert_string_equal((char *)ram + mbi.cmdline, "full");
	memcpy(&m, ram + mbi.mods_addr, sizeof(m));
	assert_true(m.start >= 0x100000 + 0x2000);
	assert_memory_equal(ram + m.start, initrd, sizeof(initrd));
	assert_string_equal((char *)ram + m.cmdline, "mod0");

	/* Real overlaps, named: a segment over the BIOS area (where the ACPI tables are), an entry
	 * point in it. */
	n = make_guest(f, 0x90000, 0x9000c, 0x100, 0x20000);
	assert_true(load_mb(f, n, "", &boot, &why) < 0);
	assert_string_equal(why, "a segment overlaps the BIOS area 0x9fc00-0xfffff (the VM's ACPI tables)");
	n = make_guest(f, 0x8000, 0xa0000, 0x100, 0x100);
	assert_int_equal(load_mb(f, n, "", &boot, &why), -EINVAL);
	assert_string_equal(why, "entry point outside the VM's RAM");
	free(f);
}

static void test_loader_realmode(void **state)
{
	static const u8 img[] = { 0xfa, 0xf4 };
	u8 *big = calloc(1, 0x80000);
	struct vcpu_boot_state boot;
	const char *why;

	assert_int_equal(load_realmode_guest(&vm, img, sizeof(img), &boot, &why), 0);
	assert_false(boot.protected_mode);
	assert_int_equal(boot.rip, 0x7c00);
	assert_int_equal(boot.rdx, 0x80);
	assert_memory_equal(ram + 0x7c00, img, sizeof(img));
	assert_int_equal(load_realmode_guest(&vm, img, 0, &boot, &why), -EINVAL);
	/* Larger than the space below 512 KiB: refused before anything is written. */
	assert_int_equal(load_realmode_guest(&vm, big, 0x80000, &boot, &why), -EINVAL);
	assert_int_equal(load_realmode_guest(&vm, big, 0x80000 - 0x7c00, &boot, &why), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_paging_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_long_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_pae_and_32bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insn_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_realmode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_low_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_ports_and_reset_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_acpi_builds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_linux_builds, setup, teardown),
	};

	return cmocka_run_group_tests_name("vmm", tests, NULL, NULL);
}
