// SPDX-License-Identifier: MIT
/*
 * Hypercalls from user space (issue 11, item 7). The guest drops to ring 3 (a GDT with DPL-3 code
 * and data segments, a TSS with the ring-0 stack, IRET to CPL 3) and calls HC_VERSION,
 * HC_CONSOLE_WRITE ("CPL3-LEAK", which must not appear on Keel's console), an unknown number and
 * HC_EXIT(42) (which must not end the VM): each must return -EPERM. It comes back to ring 0
 * through a DPL-3 call gate, where HC_CONSOLE_WRITE ("CPL0-CONSOLE-OK") works again.
 * Bare QEMU: FAILS as expected (VMMCALL raises #UD without a hypervisor).
 */
#include "guest.h"

GUEST_TEST("hypercall_cpl3");

/* KCODE_SEL and KDATA_SEL are the runtime's (entry32.S), which its IDT and stack use. */
#define KCODE_SEL  0x08
#define KDATA_SEL  0x10
#define UCODE_SEL  0x1b /* GDT entry 3, RPL 3 */
#define UDATA_SEL  0x23 /* GDT entry 4, RPL 3 */
#define TSS_SEL	   0x28
#define GATE_SEL   0x33 /* GDT entry 6: the call gate back to ring 0, RPL 3 */
#define EXIT_MAGIC 42

#define STR(x)	#x
#define XSTR(x) STR(x)

/* Descriptor access bytes (SDM vol. 3A §3.4.5, §7.2.2, §5.8.3): present, DPL, type. */
#define ACC_KCODE    0x9a
#define ACC_KDATA    0x92
#define ACC_UCODE    0xfa
#define ACC_UDATA    0xf2
#define ACC_TSS32    0x89 /* available 32-bit TSS */
#define ACC_CALLGATE 0xec /* 32-bit call gate, DPL 3 */
#define FLAGS_4G32   0xc  /* G (4 KiB granularity), D/B (32-bit) */

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 104, "a 32-bit TSS is 104 bytes");

static struct tss32 tss __attribute__((aligned(128)));
static uint64_t gdt[7] __attribute__((aligned(8)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static const char leak[] = "CPL3-LEAK: user space wrote this with HC_CONSOLE_WRITE\n";
static const char ok[] = "CPL0-CONSOLE-OK: the kernel can still write\n";

/* What ring 3 saw; it cannot print (no I/O permission), so ring 0 checks these. */
static volatile unsigned long user_cpl;
static volatile long user_version, user_write, user_unknown, user_exit;

/* run_user(fn, stack) runs fn at CPL 3 on `stack`; fn comes back with `lcall $GATE_SEL, $0`,
 * which enters user_return at CPL 0 on the TSS's ring-0 stack, and run_user returns. */
void run_user(void (*fn)(void), void *stack_top);
void user_return(void);

/* One instruction a line, as in a .S file. */
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
	"	mov $" XSTR(UDATA_SEL) ", %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	push $" XSTR(UDATA_SEL) "\n" /* SS */
	"	push %edx\n"		     /* ESP */
	"	push $2\n"		     /* EFLAGS: IF = 0, IOPL = 0 */
	"	push $" XSTR(UCODE_SEL) "\n" /* CS */
	"	push %ecx\n"		     /* EIP */
	"	iret\n"
	".globl user_return\n"
	"user_return:\n"
	"	mov $" XSTR(KDATA_SEL) ", %eax\n"
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

static void user_main(void)
{
	unsigned long cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	user_cpl = cs & 3;
	user_version = hypercall(HC_VERSION, 0, 0, 0);
	user_write = hypercall(HC_CONSOLE_WRITE, (unsigned long)leak, sizeof(leak) - 1, 0);
	user_unknown = hypercall(0x7fff, 0, 0, 0);
	user_exit = hypercall(HC_EXIT, EXIT_MAGIC, 0, 0);
	__asm__ volatile("lcall $" XSTR(GATE_SEL) ", $0" : : : "memory");
	__builtin_unreachable();
}

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

static uint64_t call_gate(uint16_t sel, uint32_t offset)
{
	return (uint64_t)(offset & 0xffff) | (uint64_t)sel << 16 | (uint64_t)ACC_CALLGATE << 40 |
	       (uint64_t)(offset >> 16) << 48;
}

static void check_refused(const char *what, long r)
{
	CHECK(r == -KEEL_EPERM, "%s from CPL 3 returned %ld, expected %d (-EPERM)", what, r, -KEEL_EPERM);
}

void test_main(void)
{
	long version = hypercall_version();
	if (version < 0)
		return;

	gdt[1] = seg_desc(0, 0xfffff, ACC_KCODE, FLAGS_4G32);
	gdt[2] = seg_desc(0, 0xfffff, ACC_KDATA, FLAGS_4G32);
	gdt[3] = seg_desc(0, 0xfffff, ACC_UCODE, FLAGS_4G32);
	gdt[4] = seg_desc(0, 0xfffff, ACC_UDATA, FLAGS_4G32);
	gdt[5] = seg_desc((uint32_t)(uintptr_t)&tss, sizeof(tss) - 1, ACC_TSS32, 0);
	gdt[6] = call_gate(KCODE_SEL, (uint32_t)(uintptr_t)user_return);
	tss.ss0 = KDATA_SEL;
	tss.esp0 = (uint32_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.iomap = sizeof(tss); /* no I/O bitmap: ring 3 has no port */
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} gdtr = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };
	/* Entries 1 and 2 are the runtime's own, so CS, DS and SS stay valid across LGDT. */
	__asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(gdtr), "r"(TSS_SEL) : "memory");

	run_user(user_main, user_stack + sizeof(user_stack));

	CHECK(user_cpl == 3, "ran at CPL %lu, not 3", user_cpl);
	check_refused("HC_VERSION", user_version);
	check_refused("HC_CONSOLE_WRITE", user_write);
	check_refused("hypercall 0x7fff", user_unknown);
	check_refused("HC_EXIT", user_exit);
	printf("CPL 3: HC_VERSION %ld, HC_CONSOLE_WRITE %ld, 0x7fff %ld, HC_EXIT %ld\n", user_version, user_write,
	       user_unknown, user_exit);

	long r = hypercall(HC_CONSOLE_WRITE, (unsigned long)ok, sizeof(ok) - 1, 0);
	CHECK(r == (long)(sizeof(ok) - 1), "HC_CONSOLE_WRITE from CPL 0 returned %ld", r);
	r = hypercall(HC_VERSION, 0, 0, 0);
	CHECK(r == version, "HC_VERSION from CPL 0 returned %ld (before: %ld)", r, version);
}
