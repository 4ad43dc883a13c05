// SPDX-License-Identifier: MIT
/*
 * String port I/O outside 64-bit code (the 64-bit cases are in string_io.c): in 32-bit protected
 * mode with paging off, with segments of the guest's own that have non-zero bases and limits:
 *   - the 16-bit address size (67): DI wraps within the 64 KiB of ES (at ES's base, never
 *     above it), CX counts, and only the low halves of EDI/ECX change, up and down;
 *   - INS stores at ES's base + DI; OUTS reads through an FS override at FS's base + SI;
 *   - a segment limit: an OUTSW whose second byte lies past FS's limit raises #GP(0) and moves
 *     nothing; the byte before the limit is fine.
 * Bare QEMU: FAILS the limit check only (its TCG does not check data segment limits; the
 * hypervisor, which emulates the access, does, as the CPU would).
 */
#include "guest.h"

GUEST_TEST("string_io32");

#define COM1_SCR       0x3ff
#define UNCLAIMED_PORT 0x1234
#define SEL_CODE       0x08
#define SEL_DATA       0x10
#define SEL_SMALL      0x18 /* data, base = small_seg, limit 0xffff bytes */
#define SEL_BIG	       0x20 /* data, base = wrap_buf, limit 4 GiB */

static uint8_t wrap_buf[0x10000 + 16] __attribute__((aligned(16)));
static uint8_t small_seg[16];
static uint64_t gdt[5] __attribute__((aligned(8)));

static uint64_t data_desc(uint32_t base, uint32_t limit, bool pages)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | (0x92ull << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((pages ? 0xcull : 0x4ull) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static void load_gdt(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) d = { sizeof(gdt) - 1, (uint32_t)(unsigned long)gdt };

	gdt[1] = 0x00cf9a000000ffffull; /* the runtime's code and data, same selectors */
	gdt[2] = 0x00cf92000000ffffull;
	gdt[3] = data_desc((uint32_t)(unsigned long)small_seg, 0xffff, false);
	gdt[4] = data_desc((uint32_t)(unsigned long)wrap_buf, 0xfffff, true);
	__asm__ volatile("lgdt %0" : : "m"(d) : "memory");
}

/* `insn` with ES = SEL_BIG (restored before anything else runs), DF as `down`. */
#define WITH_ES_BIG(insn, di, cx, down)                                                                \
	__asm__ volatile("push %%es\n\tmov %w3, %%es\n\t" ".if %c4\n\tstd\n\t.endif\n\t" insn          \
			 "\n\tcld\n\tpop %%es"                                                          \
			 : "+D"(di), "+c"(cx)                                                           \
			 : "d"((uint16_t)UNCLAIMED_PORT), "r"(SEL_BIG), "i"(down)                       \
			 : "memory", "cc")

static void check_addr16(void)
{
	unsigned long di = 0x1234fffe, cx = 0xabcd0004;

	memset(wrap_buf, 0, sizeof(wrap_buf));
	WITH_ES_BIG(".byte 0x67\n\trep insb", di, cx, 0);
	CHECK(di == 0x12340002, "67 rep insb: EDI 0x%lx, expected 0x12340002 (DI wraps, upper half kept)", di);
	CHECK(cx == 0xabcd0000, "67 rep insb: ECX 0x%lx, expected 0xabcd0000 (CX counts)", cx);
	CHECK(wrap_buf[0xfffe] == 0xff && wrap_buf[0xffff] == 0xff && wrap_buf[0] == 0xff && wrap_buf[1] == 0xff,
	      "67 rep insb: ES:FFFE..ES:0001 hold %02x %02x %02x %02x, expected ff ff ff ff", wrap_buf[0xfffe],
	      wrap_buf[0xffff], wrap_buf[0], wrap_buf[1]);
	CHECK(wrap_buf[2] == 0 && wrap_buf[0xfffd] == 0 && wrap_buf[0x10000] == 0,
	      "67 rep insb wrote outside ES:FFFE..ES:0001 (%02x %02x %02x)", wrap_buf[0xfffd], wrap_buf[2],
	      wrap_buf[0x10000]);

	/* Down across the wrap: 0001, 0000, FFFF, then DI = FFFE. */
	memset(wrap_buf, 0, sizeof(wrap_buf));
	di = 0x00010001, cx = 3;
	WITH_ES_BIG(".byte 0x67\n\trep insb", di, cx, 1);
	CHECK(di == 0x0001fffe && cx == 0, "67 rep insb (DF=1): EDI 0x%lx ECX 0x%lx, expected 0x1fffe 0", di, cx);
	CHECK(wrap_buf[1] == 0xff && wrap_buf[0] == 0xff && wrap_buf[0xffff] == 0xff && wrap_buf[0xfffe] == 0 &&
		      wrap_buf[2] == 0,
	      "67 rep insb (DF=1) stored %02x %02x %02x, expected ff ff ff at ES:0001, 0000, FFFF", wrap_buf[1],
	      wrap_buf[0], wrap_buf[0xffff]);
}

static void check_fs_override_and_limit(void)
{
	unsigned long si = 1, cx = 2;
	uint8_t b;

	for (unsigned i = 0; i < sizeof(small_seg); i++)
		small_seg[i] = (uint8_t)(0xb0 + i);
	__asm__ volatile("push %%fs\n\tmov %w3, %%fs\n\trep outsb %%fs:(%%esi), (%%dx)\n\tpop %%fs"
			 : "+S"(si), "+c"(cx)
			 : "d"((uint16_t)COM1_SCR), "r"(SEL_SMALL)
			 : "memory", "cc");
	CHECK(si == 3 && cx == 0, "fs rep outsb: ESI 0x%lx ECX 0x%lx, expected 3 0", si, cx);
	CHECK((b = inb(COM1_SCR)) == 0xb2, "fs rep outsb: scratch reads 0x%x, expected 0xb2 (FS:[2])", b);

	/* FS:FFFF is the last byte of the segment: a byte is fine, a word is #GP(0). */
	si = 0xffff;
	expect_exception(VEC_GP, 3); /* 64 66 6f */
	__asm__ volatile("push %%fs\n\tmov %w2, %%fs\n\toutsw %%fs:(%%esi), (%%dx)\n\tpop %%fs"
			 : "+S"(si)
			 : "d"((uint16_t)UNCLAIMED_PORT), "r"(SEL_SMALL)
			 : "memory", "cc");
	if (exception_check("outsw past FS's limit", VEC_GP, 0))
		CHECK(si == 0xffff, "outsw past FS's limit moved ESI to 0x%lx", si);
}

void test_main(void)
{
	load_gdt();
	check_addr16();
	check_fs_override_and_limit();
}
