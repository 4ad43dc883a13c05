// SPDX-License-Identifier: MIT
/*
 * String port I/O (INS/OUTS, with and without REP), which the hypervisor emulates against the
 * same port handlers as IN/OUT (issue 13 item 2), in 64-bit code:
 *   - OUTSB/INSB on COM1's scratch register (0x3ff, reads back the last byte written) and
 *     OUTSD/INSD on the PCI configuration address (0xcf8, reads back what was written), with DF=0
 *     and DF=1: the last element written is the one read back, RSI/RDI move by the element size
 *     in the direction DF says, RCX ends at 0;
 *   - an unclaimed port: INS stores all-ones at every width, OUTS goes nowhere but moves RSI;
 *   - a REP count of several pages (more than one exit's worth: the hypervisor serves a page per
 *     exit and re-enters with RIP on the instruction): every byte written, RDI advanced by the
 *     whole count, RCX 0; a zero count does nothing;
 *   - the 32-bit address size (67): ECX counts (RCX's upper half is ignored and cleared), EDI
 *     addresses, RDI is written zero-extended;
 *   - a #PF in the middle of a REP (and on an element that straddles into the unmapped page):
 *     CR2 is the first unmapped byte, the error code says write (INS) or read (OUTS), and
 *     RCX/RDI/RSI point at the faulting element;
 *   - segment overrides on OUTS (FS and GS with non-zero bases); INS ignores them (always ES).
 * Bare QEMU: PASSES (the CPU does it all).
 */
#include "guest.h"

GUEST_TEST("string_io");

#define COM1_SCR	0x3ff
#define PCI_CONFIG_ADDR 0xcf8
#define UNCLAIMED_PORT	0x1234
#define MSR_FS_BASE	0xc0000100u
#define MSR_GS_BASE	0xc0000101u
#define PF_EC_W		(1ul << 1)
#define BIG		(3 * 4096 + 123)

static uint8_t big[BIG + 64] __attribute__((aligned(4096)));

/* rep <insn> with RSI/RDI/RCX in and out; `pre` is a prefix line (or ""), DF set if `down`. */
#define STRING_OP(pre, insn, port, si, di, cx, down)                    \
	do {                                                            \
		if (down)                                               \
			__asm__ volatile("std\n\t" pre insn "\n\tcld"   \
					 : "+S"(si), "+D"(di), "+c"(cx) \
					 : "d"((uint16_t)(port))        \
					 : "memory", "cc");             \
		else                                                    \
			__asm__ volatile(pre insn                       \
					 : "+S"(si), "+D"(di), "+c"(cx) \
					 : "d"((uint16_t)(port))        \
					 : "memory", "cc");             \
	} while (0)

static void check_regs(const char *what, unsigned long si, unsigned long want_si, unsigned long di,
		       unsigned long want_di, unsigned long cx, unsigned long want_cx)
{
	CHECK(si == want_si, "%s: RSI 0x%lx, expected 0x%lx", what, si, want_si);
	CHECK(di == want_di, "%s: RDI 0x%lx, expected 0x%lx", what, di, want_di);
	CHECK(cx == want_cx, "%s: RCX 0x%lx, expected 0x%lx", what, cx, want_cx);
}

static void check_bytes_port(void)
{
	static uint8_t src[4] = { 0x11, 0x22, 0x33, 0x44 }, dst[8];
	unsigned long si, di = 0, cx;
	uint8_t b;

	/* OUTSB without REP: one byte, RCX untouched. */
	si = (unsigned long)src, cx = 77;
	STRING_OP("", "outsb", COM1_SCR, si, di, cx, false);
	check_regs("outsb", si, (unsigned long)src + 1, di, 0, cx, 77);
	CHECK((b = inb(COM1_SCR)) == 0x11, "outsb: scratch reads 0x%x, expected 0x11", b);

	/* REP OUTSB up and down: the last element written stays. */
	si = (unsigned long)src, cx = 4;
	STRING_OP("", "rep outsb", COM1_SCR, si, di, cx, false);
	check_regs("rep outsb", si, (unsigned long)src + 4, di, 0, cx, 0);
	CHECK((b = inb(COM1_SCR)) == 0x44, "rep outsb: scratch reads 0x%x, expected 0x44", b);
	si = (unsigned long)src + 3, cx = 4;
	STRING_OP("", "rep outsb", COM1_SCR, si, di, cx, true);
	check_regs("rep outsb (DF=1)", si, (unsigned long)src - 1, di, 0, cx, 0);
	CHECK((b = inb(COM1_SCR)) == 0x11, "rep outsb (DF=1): scratch reads 0x%x, expected 0x11", b);

	/* INSB, then REP INSB down: dst[1..4] get the scratch byte, dst[0] and dst[5] do not. */
	outb(COM1_SCR, 0x5a);
	memset(dst, 0, sizeof(dst));
	si = 0, di = (unsigned long)dst, cx = 9;
	STRING_OP("", "insb", COM1_SCR, si, di, cx, false);
	check_regs("insb", si, 0, di, (unsigned long)dst + 1, cx, 9);
	CHECK(dst[0] == 0x5a && dst[1] == 0, "insb stored %02x %02x, expected 5a 00", dst[0], dst[1]);
	outb(COM1_SCR, 0x77);
	di = (unsigned long)dst + 4, cx = 4;
	STRING_OP("", "rep insb", COM1_SCR, si, di, cx, true);
	check_regs("rep insb (DF=1)", si, 0, di, (unsigned long)dst, cx, 0);
	CHECK(dst[0] == 0x5a && dst[1] == 0x77 && dst[4] == 0x77 && dst[5] == 0,
	      "rep insb (DF=1) stored %02x %02x .. %02x %02x, expected 5a 77 .. 77 00", dst[0], dst[1], dst[4], dst[5]);
}

static void check_dwords_port(void)
{
	static uint32_t src[3] = { 0x80000100, 0x80000204, 0x80001308 }, dst[4];
	unsigned long si = (unsigned long)src, di = 0, cx = 3;
	uint32_t l;

	STRING_OP("", "rep outsl", PCI_CONFIG_ADDR, si, di, cx, false);
	check_regs("rep outsd", si, (unsigned long)(src + 3), di, 0, cx, 0);
	CHECK((l = inl(PCI_CONFIG_ADDR)) == 0x80001308, "rep outsd: 0xcf8 reads 0x%x, expected 0x80001308", l);
	si = (unsigned long)(src + 2), cx = 3;
	STRING_OP("", "rep outsl", PCI_CONFIG_ADDR, si, di, cx, true);
	check_regs("rep outsd (DF=1)", si, (unsigned long)src - 4, di, 0, cx, 0);
	CHECK((l = inl(PCI_CONFIG_ADDR)) == 0x80000100, "rep outsd (DF=1): 0xcf8 reads 0x%x, expected 0x80000100", l);

	memset(dst, 0, sizeof(dst));
	si = 0, di = (unsigned long)dst, cx = 3;
	STRING_OP("", "rep insl", PCI_CONFIG_ADDR, si, di, cx, false);
	check_regs("rep insd", si, 0, di, (unsigned long)(dst + 3), cx, 0);
	CHECK(dst[0] == 0x80000100 && dst[2] == 0x80000100 && dst[3] == 0,
	      "rep insd stored 0x%x .. 0x%x 0x%x, expected 0x80000100 .. 0x80000100 0", dst[0], dst[2], dst[3]);
	outl(PCI_CONFIG_ADDR, 0);
}

static void check_unclaimed(void)
{
	static uint16_t w[6];
	static uint32_t d[3];
	unsigned long si = 0, di = (unsigned long)w, cx = 5;

	memset(w, 0, sizeof(w));
	STRING_OP("", "rep insw", UNCLAIMED_PORT, si, di, cx, false);
	check_regs("rep insw (unclaimed)", si, 0, di, (unsigned long)(w + 5), cx, 0);
	CHECK(w[0] == 0xffff && w[4] == 0xffff && w[5] == 0, "rep insw (unclaimed) stored 0x%x .. 0x%x 0x%x", w[0],
	      w[4], w[5]);
	memset(d, 0, sizeof(d));
	di = (unsigned long)(d + 1), cx = 2;
	STRING_OP("", "rep insl", UNCLAIMED_PORT, si, di, cx, true);
	check_regs("rep insd (unclaimed, DF=1)", si, 0, di, (unsigned long)d - 4, cx, 0);
	CHECK(d[0] == 0xffffffff && d[1] == 0xffffffff && d[2] == 0, "rep insd (unclaimed) stored 0x%x 0x%x 0x%x", d[0],
	      d[1], d[2]);
	si = (unsigned long)w, di = 0, cx = 6;
	STRING_OP("", "rep outsw", UNCLAIMED_PORT, si, di, cx, false);
	check_regs("rep outsw (unclaimed)", si, (unsigned long)(w + 6), di, 0, cx, 0);
}

static void check_big_count(void)
{
	unsigned long si = 0, di = (unsigned long)big, cx = BIG;
	unsigned long bad = 0;

	memset(big, 0, sizeof(big));
	STRING_OP("", "rep insb", UNCLAIMED_PORT, si, di, cx, false);
	check_regs("rep insb of 3 pages + 123", si, 0, di, (unsigned long)big + BIG, cx, 0);
	for (unsigned long i = 0; i < BIG; i++)
		bad += big[i] != 0xff;
	CHECK(bad == 0, "rep insb of %u bytes left %lu of them unwritten", BIG, bad);
	CHECK(big[BIG] == 0, "rep insb of %u bytes wrote past the end", BIG);

	/* The same in dwords, down from the end. */
	memset(big, 0, sizeof(big));
	di = (unsigned long)big + BIG + 1 - 4, cx = (BIG + 1) / 4;
	STRING_OP("", "rep insl", UNCLAIMED_PORT, si, di, cx, true);
	check_regs("rep insd of 3 pages (DF=1)", si, 0, di, (unsigned long)big + BIG + 1 - 4 - (BIG + 1) / 4 * 4, cx,
		   0);
	bad = 0;
	for (unsigned long i = 0; i < (BIG + 1) / 4 * 4; i++)
		bad += big[i] != 0xff;
	CHECK(bad == 0, "rep insd (DF=1) left %lu bytes unwritten", bad);

	/* A zero count does nothing. */
	big[0] = 0;
	di = (unsigned long)big, cx = 0;
	STRING_OP("", "rep insb", UNCLAIMED_PORT, si, di, cx, false);
	check_regs("rep insb with RCX=0", si, 0, di, (unsigned long)big, cx, 0);
	CHECK(big[0] == 0, "rep insb with RCX=0 stored 0x%x", big[0]);
}

static void check_addr32(void)
{
	static uint8_t dst[8];
	unsigned long si = 0, di = (0xdeadul << 32) | (unsigned long)dst, cx = (1ul << 32) | 4;

	memset(dst, 0, sizeof(dst));
	STRING_OP("", ".byte 0x67\n\trep insb", UNCLAIMED_PORT, si, di, cx, false);
	check_regs("67 rep insb", si, 0, di, (unsigned long)dst + 4, cx, 0);
	CHECK(dst[3] == 0xff && dst[4] == 0, "67 rep insb stored %02x %02x, expected ff 00", dst[3], dst[4]);
}

/* The 2 MiB page at HOLE is unmapped for the #PF checks: RAM on both sides (the VM may have as
 * little as 8 MiB, so the usual UNMAPPED_ADDR, outside its RAM, would not do). */
#define HOLE	0x600000ul
#define PTE_P	1ul
#define PTE_ADR 0x000ffffffffff000ul

static uint64_t *pde_of(unsigned long va)
{
	unsigned long cr3;
	uint64_t *t;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	t = (uint64_t *)(cr3 & PTE_ADR);
	t = (uint64_t *)(t[(va >> 39) & 511] & PTE_ADR);
	t = (uint64_t *)(t[(va >> 30) & 511] & PTE_ADR);
	return &t[(va >> 21) & 511];
}

static void set_present(unsigned long va, bool present)
{
	uint64_t *pde = pde_of(va);

	*pde = present ? *pde | PTE_P : *pde & ~PTE_P;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void check_page_faults(void)
{
	unsigned long si = 0, di = HOLE - 6, cx = 10;

	set_present(HOLE, false);

	/* INSW into the unmapped page: three words land, the fourth faults. */
	expect_exception(VEC_PF, 3); /* f3 66 6d */
	STRING_OP("", "rep insw", UNCLAIMED_PORT, si, di, cx, false);
	if (exception_check("rep insw into an unmapped page", VEC_PF, PF_EC_W)) {
		CHECK(last_exc.cr2 == HOLE, "rep insw #PF: CR2 0x%lx, expected 0x%lx", last_exc.cr2, HOLE);
		check_regs("rep insw #PF", si, 0, di, HOLE, cx, 7);
	}
	/* An element straddling the boundary faults as a whole, at the first unmapped byte. */
	di = HOLE - 2, cx = 2;
	expect_exception(VEC_PF, 2); /* f3 6d */
	STRING_OP("", "rep insl", UNCLAIMED_PORT, si, di, cx, false);
	if (exception_check("rep insd across into an unmapped page", VEC_PF, PF_EC_W)) {
		CHECK(last_exc.cr2 == HOLE, "rep insd #PF: CR2 0x%lx, expected 0x%lx", last_exc.cr2, HOLE);
		check_regs("rep insd #PF", si, 0, di, HOLE - 2, cx, 2);
	}
	/* OUTSB from it: a read fault. */
	si = HOLE - 1, di = 0, cx = 3;
	expect_exception(VEC_PF, 2); /* f3 6e */
	STRING_OP("", "rep outsb", UNCLAIMED_PORT, si, di, cx, false);
	if (exception_check("rep outsb from an unmapped page", VEC_PF, 0))
		check_regs("rep outsb #PF", si, HOLE, di, 0, cx, 2);
	set_present(HOLE, true);
}

static void check_segments(void)
{
	static uint8_t src[4] = { 0xa1, 0xa2, 0xa3, 0xa4 }, dst[4];
	unsigned long si = 1, di = 0, cx = 2;
	uint8_t b;

	/* FS:[1..2] and GS:[2] are src[1..2] and src[2]; DS:[1] would be low memory. */
	wrmsr(MSR_FS_BASE, (unsigned long)src);
	wrmsr(MSR_GS_BASE, (unsigned long)src);
	STRING_OP("", "rep outsb %%fs:(%%rsi), (%%dx)", COM1_SCR, si, di, cx, false);
	check_regs("fs rep outsb", si, 3, di, 0, cx, 0);
	CHECK((b = inb(COM1_SCR)) == 0xa3, "fs rep outsb: scratch reads 0x%x, expected 0xa3 (FS:[2])", b);
	si = 1;
	STRING_OP("", "outsb %%gs:(%%rsi), (%%dx)", COM1_SCR, si, di, cx, false);
	CHECK((b = inb(COM1_SCR)) == 0xa2, "gs outsb: scratch reads 0x%x, expected 0xa2 (GS:[1])", b);
	/* INS ignores an override: ES:[RDI], ES's base being 0. */
	outb(COM1_SCR, 0x3c);
	memset(dst, 0, sizeof(dst));
	si = 0, di = (unsigned long)dst, cx = 1;
	STRING_OP("", ".byte 0x64\n\tinsb", COM1_SCR, si, di, cx, false);
	CHECK(dst[0] == 0x3c, "fs insb stored 0x%x at ES:[RDI], expected 0x3c", dst[0]);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, 0);
}

void test_main(void)
{
	check_bytes_port();
	check_dwords_port();
	check_unclaimed();
	check_big_count();
	check_addr32();
	check_page_faults();
	check_segments();
}
