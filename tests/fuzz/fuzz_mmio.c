/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for MMIO emulation and string port I/O: vmm/insn.c, vmm/mmio.c, vmm/emul_mem.c,
 * vmm/exit_io.c and vmm/guest_mem.c on a fake vCPU
 * with 64 KiB of fake guest RAM. The input is a seed for the vCPU state (mode, paging, flags,
 * registers) followed by the instruction bytes; the rest fills guest RAM from 0x1000, where CR3
 * points, so page walks run over fuzzed page tables. Every RAM or device access is checked
 * against its bounds here; ASan/UBSan catch the rest.
 *
 * Layout: [0] mode/paging bits, [1] rflags bits, [2..25] RCX, RSI, RDI, [26..33] RAX,
 * [34..35] offset of the exiting access in the region, [36..50] instruction (15 bytes),
 * [51..] RAM from 0x1000. The same state then runs as a string port I/O exit (the port's
 * direction, size and REP from [34..35]; the bytes at RIP decide whether it is INS/OUTS).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/regs.h"
#include "vmm/exit.h"
#include "vmm/insn.h"
#include "vmm/mmio.h"

#define RAM_SIZE    0x10000u
#define REGION_BASE 0xfee00000ull
#define REGION_SIZE 0x1000ull
#define SEED_LEN    36
#define SEED_BYTES  (SEED_LEN + 15) /* the state and the instruction */
#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static u8 *ram;		  /* malloc'ed at its exact size: ASan flags any overrun */
static u64 regs[VREG_NR]; /* the read-only ones (CPL, segments) stay 0 */
static unsigned dev_calls;

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

int gpa_write(struct vm *vm, gpa_t gpa, const void *buf, u64 len)
{
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(ram + gpa, buf, len);
	return 0;
}

#define FAKE_GPA_RAM  ram
#define FAKE_GPA_SIZE RAM_SIZE
#include "../unit/fake_gpa.h"

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	CHECK((unsigned)r < VREG_NR);
	return regs[r];
}

static void fake_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	CHECK((unsigned)r <= VREG_CS_ATTR);
	regs[r] = val;
}

static unsigned injections;
static void fake_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	CHECK(vector == 6 || vector == 12 || vector == 13 || vector == 14);
	injections++;
}

static const struct vcpu_ops fake_ops = { .name = "fuzz", .get = fake_get, .set = fake_set, .inject = fake_inject };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static bool crashed;
void vm_crash(struct vm *vm, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	crashed = true;
}

/* Kernel log and panic, for any source that logs. */
void klog(int level, const char *fmt, ...);
void klog(int level, const char *fmt, ...)
{
}

static void dev(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	CHECK(gpa >= REGION_BASE && gpa - REGION_BASE <= REGION_SIZE - size);
	if (!write)
		*val = 0x8877665544332211ull * (dev_calls + 1);
	dev_calls++;
}

static unsigned port_calls;
static void port(struct vcpu *v, u16 p, unsigned size, bool in, u32 *val)
{
	CHECK(size == 1 || size == 2 || size == 4);
	if (in)
		*val = 0x44332211u * (port_calls + 1);
	port_calls++;
}

static u64 get64(const u8 *p)
{
	u64 x;

	memcpy(&x, p, 8);
	return x;
}

/* The vCPU and RAM as the input says (see the layout above). */
static void setup(const uint8_t *data, size_t size, u8 *seed, struct vcpu *vcpup)
{
	struct vcpu *v = vcpup;

	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memcpy(seed, data, size < SEED_BYTES ? size : SEED_BYTES);
	if (size > SEED_BYTES)
		memcpy(ram + 0x1000, data + SEED_BYTES,
		       size - SEED_BYTES < RAM_SIZE - 0x1000 ? size - SEED_BYTES : RAM_SIZE - 0x1000);

	/* Mode: bits 0-1 code size (3 = 64-bit), 2 paging, 3 PAE, 4 PSE, 5 WP, 6 PE, 7 CR3 0x1020.
	 * 64-bit code without paging is not architectural, but reaches the emulator's flat path. */
	unsigned m = seed[0] & 3;
	bool lma = m == 3;

	memset(regs, 0, sizeof(regs));
	regs[VREG_EFER] = lma ? EFER_LMA | EFER_LME : 0;
	regs[VREG_CS_ATTR] = lma ? CS_ATTR_L : m == 1 ? CS_ATTR_DB : 0;
	regs[VREG_CR0] =
	    (seed[0] & 0x40 || lma ? CR0_PE : 0) | (seed[0] & 4 ? CR0_PG : 0) | (seed[0] & 0x20 ? CR0_WP : 0);
	regs[VREG_CR4] = (seed[0] & 8 || lma ? CR4_PAE : 0) | (seed[0] & 0x10 ? CR4_PSE : 0);
	regs[VREG_CR3] = 0x1000 | (seed[0] & 0x80 ? 0x20 : 0);
	/* Flat 4 GiB segments outside 64-bit code, or byte-granular 64 KiB ones (seed[1] bit 0). */
	for (enum vcpu_reg r = VREG_SS_LIMIT; r <= VREG_GS_LIMIT; r++)
		if (r == VREG_SS_LIMIT || r == VREG_DS_LIMIT || r == VREG_ES_LIMIT || r == VREG_CS_LIMIT ||
		    r == VREG_FS_LIMIT || r == VREG_GS_LIMIT)
			regs[r] = seed[1] & 1 ? 0xffff : 0xffffffff;
	regs[VREG_RFLAGS] = 2 | (seed[1] & 1) | ((u64)(seed[1] & 0xfe) << 3); /* CF, PF..OF, DF */
	v->gprs = (struct vcpu_gprs){ 0 };
	v->gprs.rcx = get64(seed + 2);
	v->gprs.rsi = get64(seed + 10);
	v->gprs.rdi = get64(seed + 18);
	v->gprs.rax = get64(seed + 26);
	regs[VREG_RSP] = v->gprs.rax ^ v->gprs.rcx;

	/* The instruction at RIP 0: identity-mapped when paging is off; with paging on, the fuzzed
	 * tables decide (often nothing is fetched, which must end the VM cleanly). */
	memcpy(ram, seed + SEED_LEN, 15);
	regs[VREG_CS_BASE] = 0;
	regs[VREG_RIP] = 0;
	crashed = false;
	dev_calls = injections = port_calls = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct vcpu vcpu = { .vm = &vm };
	static const struct vm_mmio_handler region = { .base = REGION_BASE, .size = REGION_SIZE, .fn = dev };
	static u8 io_map[VM_IO_PORTS];
	u8 seed[SEED_BYTES] = { 0 };
	u64 rip0 = 0;
	struct vm_exit e = { .reason = EXIT_IO };

	/* The decoder alone, on a buffer of exactly the instruction's bytes: it never reads past them
	 * (ASan) nor claims more. */
	if (size > SEED_LEN) {
		unsigned n = size - SEED_LEN < 15 ? (unsigned)(size - SEED_LEN) : 15;
		u8 *exact = malloc(n);
		struct insn in;

		memcpy(exact, data + SEED_LEN, n);
		for (int mode = MODE_16; mode <= MODE_64; mode++)
			if (insn_decode(exact, n, (enum insn_mode)mode, &in) == 0)
				CHECK(in.len >= 1 && in.len <= n && in.mem_size >= 1 && in.mem_size <= 8);
		free(exact);
	}

	setup(data, size, seed, &vcpu);
	mmio_emulate(&vcpu, &region, REGION_BASE + ((seed[34] | (u64)seed[35] << 8) & (REGION_SIZE - 1)));

	/* One outcome: the VM ended, a fault was injected, or RIP moved by at most 15 (or stayed,
	 * for a REP batch). */
	CHECK(regs[VREG_RIP] - rip0 <= 15);
	CHECK(!(crashed && regs[VREG_RIP] != rip0));
	CHECK(injections <= 1);
	CHECK(!(injections && regs[VREG_RIP] != rip0));
	CHECK(dev_calls <= 2 * 1024 + 2);

	/* String port I/O on the same state: port 0x60 is claimed, the rest are not. */
	setup(data, size, seed, &vcpu);
	vm.io_map = io_map;
	io_map[0x60] = 1;
	vm.io[0].fn = port;
	vm.state = VM_RUNNING;
	e.io.port = seed[35] & 1 ? 0x60 : 0x1234;
	e.io.size = (u8)(1u << (seed[34] % 3));
	e.io.in = seed[34] & 4;
	e.io.rep = seed[34] & 8;
	e.io.string = true;
	e.next_rip = seed[34] & 16 ? 0 : 1 + (seed[35] >> 4);
	handle_io(&vcpu, &e);
	CHECK(regs[VREG_RIP] - rip0 <= 16);
	CHECK(!(crashed && regs[VREG_RIP] != rip0));
	CHECK(injections <= 1);
	CHECK(!(injections && regs[VREG_RIP] != rip0));
	CHECK(port_calls <= 4096 && dev_calls <= 4096);
	vm.io_map = NULL;
	return 0;
}
