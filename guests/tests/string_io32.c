// SPDX-License-Identifier: MIT
/*
 * String port I/O outside 64-bit code (the 64-bit cases are in string_io.c): in 32-bit protected
 * mode with paging off, with segments of the guest's own that have non-zero bases and limits:
 *   - the 16-bit address size (67): DI wraps within the 64 KiB of ES (at ES's base, never
 *     above it), CX counts, and only the low halves of EDI/ECX change, up and down;
 *   - INS stores at ES's base + DI; OUTS reads through an FS override at FS's base + SI;
 *   - a segment limit: an OUTSW whose second byte lies past FS's limit raises #GP(0) and moves
 *     nothing; the byte before the limit is fine;
 *   - user mode (CPL 3 with IOPL 3, paging on): REP INSB into a user page works, into a
 *     supervisor page is #PF with error code P|W|U and EDI/ECX unmoved, as the CPU's own
 *     page-level checks would do (the hypervisor walks the page tables for the access).
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
#define SEL_UCODE      0x2b /* GDT entry 5, RPL 3 */
#define SEL_UDATA      0x33 /* GDT entry 6, RPL 3 */
#define SEL_TSS	       0x38
#define SEL_GATE       0x43	  /* GDT entry 8: the call gate back to ring 0, RPL 3 */
#define SUPERVISOR_VA  0x400100ul /* in the 4 MiB page at 4 MiB, which has U/S clear */

#define STR(x)	#x
#define XSTR(x) STR(x)

static uint8_t wrap_buf[0x10000 + 16] __attribute__((aligned(16)));
static uint8_t small_seg[16];
static uint64_t gdt[9] __attribute__((aligned(8)));

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));

static struct tss32 tss __attribute__((aligned(128)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint8_t user_buf[8];
/* What ring 3 saw, checked by ring 0. */
static volatile unsigned long u_di1, u_cx1, u_di2, u_cx2;

static uint64_t data_desc(uint32_t base, uint32_t limit, bool pages)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | (0x92ull << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((pages ? 0xcull : 0x4ull) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

void run_user(void (*fn)(void), void *stack_top);
void user_return(void);

/* run_user(fn, stack) runs fn at CPL 3 with IOPL 3; fn comes back with `lcall $SEL_GATE, $0`.
 * One instruction a line, as in a .S file. */
/* clang-format off */
__asm__(".text\n"
	".globl run_user\n"
	"run_user:\n"
	"	push %ebx\n"
	"	push %esi\n"
	"	push %edi\n"
	"	push %ebp\n"
	"	mov %esp, kernel_esp\n"
	"	mov 20(%esp), %ecx\n"
	"	mov 24(%esp), %edx\n"
	"	mov $" XSTR(SEL_UDATA) ", %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	push $" XSTR(SEL_UDATA) "\n" /* SS */
	"	push %edx\n"		      /* ESP */
	"	push $0x3002\n"	      /* EFLAGS: IF = 0, IOPL = 3 */
	"	push $" XSTR(SEL_UCODE) "\n" /* CS */
	"	push %ecx\n"		      /* EIP */
	"	iret\n"
	".globl user_return\n"
	"user_return:\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	mov kernel_esp, %esp\n"
	"	pop %ebp\n"
	"	pop %edi\n"
	"	pop %esi\n"
	"	pop %ebx\n"
	"	ret\n"
	".data\n"
	".balign 4\n"
	"kernel_esp: .long 0\n"
	".text\n");
/* clang-format on */

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
	gdt[5] = seg_desc(0, 0xfffff, 0xfa, 0xc); /* ring-3 code, 4 GiB */
	gdt[6] = seg_desc(0, 0xfffff, 0xf2, 0xc); /* ring-3 data, 4 GiB */
	gdt[7] = seg_desc((uint32_t)(unsigned long)&tss, sizeof(tss) - 1, 0x89, 0);
	gdt[8] = (uint64_t)((uint32_t)(unsigned long)user_return & 0xffff) | (uint64_t)SEL_CODE << 16 |
		 (uint64_t)0xec << 40 | (uint64_t)((uint32_t)(unsigned long)user_return >> 16) << 48;
	tss.ss0 = SEL_DATA;
	tss.esp0 = (uint32_t)(unsigned long)(ring0_stack + sizeof(ring0_stack));
	tss.iomap = sizeof(tss); /* no bitmap: IOPL 3 is what lets ring 3 at the ports */
	__asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(d), "r"(SEL_TSS) : "memory");
}

/* `insn` with ES = SEL_BIG (restored before anything else runs), DF as `down`. */
#define WITH_ES_BIG(insn, di, cx, down)                                            \
	__asm__ volatile("push %%es\n\tmov %w3, %%es\n\t"                          \
			 ".if %c4\n\tstd\n\t.endif\n\t" insn "\n\tcld\n\tpop %%es" \
			 : "+D"(di), "+c"(cx)                                      \
			 : "d"((uint16_t)UNCLAIMED_PORT), "r"(SEL_BIG), "i"(down)  \
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

static void user_main(void)
{
	unsigned long di = (unsigned long)user_buf, cx = 4;

	__asm__ volatile("rep insb" : "+D"(di), "+c"(cx) : "d"((uint16_t)UNCLAIMED_PORT) : "memory");
	u_di1 = di, u_cx1 = cx;
	di = SUPERVISOR_VA, cx = 4;
	__asm__ volatile("rep insb" : "+D"(di), "+c"(cx) : "d"((uint16_t)UNCLAIMED_PORT) : "memory");
	u_di2 = di, u_cx2 = cx;
	__asm__ volatile("lcall $" XSTR(SEL_GATE) ", $0" : : : "memory");
	__builtin_unreachable();
}

/* 4 MiB pages over [0, 8 MiB): the first user, the second supervisor-only. */
static void paging_on(void)
{
	page_dir[0] = 0x000000 | 0x80 | 0x4 | 0x2 | 0x1; /* PS U W P */
	page_dir[1] = 0x400000 | 0x80 | 0x2 | 0x1;	 /* PS W P */
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_PSE));
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	__asm__ volatile("mov %0, %%cr0" : : "r"(read_cr0() | CR0_PG) : "memory");
}

static void check_user_mode(void)
{
	memset(user_buf, 0, sizeof(user_buf));
	paging_on();
	expect_exception(VEC_PF, 2); /* f3 6c */
	run_user(user_main, user_stack + sizeof(user_stack));
	CHECK(u_di1 == (unsigned long)user_buf + 4 && u_cx1 == 0 && user_buf[3] == 0xff && user_buf[4] == 0,
	      "rep insb at CPL 3 into a user page: EDI 0x%lx ECX %lu, bytes %02x %02x", u_di1, u_cx1, user_buf[3],
	      user_buf[4]);
	if (exception_check("rep insb at CPL 3 into a supervisor page", VEC_PF, 7)) {
		CHECK(last_exc.cr2 == SUPERVISOR_VA, "rep insb at CPL 3: CR2 0x%lx, expected 0x%lx", last_exc.cr2,
		      SUPERVISOR_VA);
		CHECK(u_di2 == SUPERVISOR_VA && u_cx2 == 4,
		      "rep insb at CPL 3 #PF: EDI 0x%lx ECX %lu, expected 0x%lx 4", u_di2, u_cx2, SUPERVISOR_VA);
	}
}

void test_main(void)
{
	load_gdt();
	check_addr16();
	check_fs_override_and_limit();
	check_user_mode();
}
