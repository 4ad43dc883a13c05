// SPDX-License-Identifier: MIT
/*
 * The guest's own exception handling: #DE, #BP, #UD, #GP and #PF reach the guest's IDT with the
 * right vector, error code, instruction pointer and CR2. Built twice: `exceptions` (32-bit
 * protected mode; #PF after paging_enable()) and `exceptions64` (long mode; adds a non-canonical
 * #GP). Bare QEMU: PASSES.
 */
#include "guest.h"

#ifdef __x86_64__
GUEST_TEST("exceptions64");
#define INSN_ADDR(label) "lea " label "(%%rip), %[ip]\n\t"
#else
GUEST_TEST("exceptions");
#define INSN_ADDR(label) "mov $" label ", %[ip]\n\t"
#endif

#define BAD_SELECTOR 0x1238ul /* GDT index 0x247, far past our GDT's limit: #GP(selector) */
#define PF_ADDR	     (UNMAPPED_ADDR + 0x123)

static void check_ip(const char *what, unsigned long want)
{
	if (last_exc.vector >= 0 && last_exc.ip != want)
		fail("%s: reported ip 0x%lx, expected 0x%lx", what, last_exc.ip, want);
}

static void test_de(void)
{
	unsigned long ip, a = 1, d = 0;
	expect_exception(VEC_DE, 2); /* div %ecx: f7 f1 */
	__asm__ volatile(INSN_ADDR("1f") "1: div %%ecx" : [ip] "=&r"(ip), "+a"(a), "+d"(d) : "c"(0));
	if (exception_check("div by zero", VEC_DE, 0))
		check_ip("#DE", ip);
}

static void test_bp(void)
{
	unsigned long ip;
	expect_exception(VEC_BP, 0); /* a trap: the pushed ip is already past int3 */
	__asm__ volatile(INSN_ADDR("1f") "int3\n1:" : [ip] "=&r"(ip));
	if (exception_check("int3", VEC_BP, 0))
		check_ip("#BP", ip);
}

static void test_ud(void)
{
	unsigned long ip;
	expect_exception(VEC_UD, 2);
	__asm__ volatile(INSN_ADDR("1f") "1: ud2" : [ip] "=&r"(ip));
	if (exception_check("ud2", VEC_UD, 0))
		check_ip("#UD", ip);
}

static void test_gp_selector(void)
{
	unsigned long ip;
	expect_exception(VEC_GP, 2); /* mov %eax, %ds: 8e d8 */
	__asm__ volatile(INSN_ADDR("1f") "1: mov %%eax, %%ds" : [ip] "=&r"(ip) : "a"(BAD_SELECTOR) : "memory");
	if (exception_check("load of selector 0x1238 into DS", VEC_GP, (long)BAD_SELECTOR))
		check_ip("#GP", ip);
}

#ifdef __x86_64__
static void test_gp_noncanonical(void)
{
	unsigned long ip, p = 0x8000000000000000ul;
	expect_exception(VEC_GP, 2); /* mov (%rax), %eax: 8b 00 */
	__asm__ volatile(INSN_ADDR("1f") "1: mov (%%rax), %%eax" : [ip] "=&r"(ip), "+a"(p) : : "memory");
	if (exception_check("non-canonical read", VEC_GP, 0))
		check_ip("#GP (non-canonical)", ip);
}
#endif

static void test_pf(void)
{
	unsigned long ip, p = PF_ADDR, v = 0;
	paging_enable();
	expect_exception(VEC_PF, 2); /* mov (%eax/%rax), %ecx: 8b 08 */
	__asm__ volatile(INSN_ADDR("1f") "1: mov (%[p]), %%ecx" : [ip] "=&r"(ip), "+c"(v) : [p] "a"(p) : "memory");
	if (exception_check("read of an unmapped page", VEC_PF, 0)) {
		check_ip("#PF (read)", ip);
		CHECK(last_exc.cr2 == PF_ADDR, "#PF (read): CR2 0x%lx, expected 0x%lx", last_exc.cr2, PF_ADDR);
	}
	expect_exception(VEC_PF, 2); /* mov %ecx, (%eax/%rax): 89 08 */
	__asm__ volatile(INSN_ADDR("1f") "1: mov %%ecx, (%[p])" : [ip] "=&r"(ip) : [p] "a"(p + 4), "c"(v) : "memory");
	if (exception_check("write to an unmapped page", VEC_PF, PF_ERR_W)) {
		check_ip("#PF (write)", ip);
		CHECK(last_exc.cr2 == PF_ADDR + 4, "#PF (write): CR2 0x%lx, expected 0x%lx", last_exc.cr2, PF_ADDR + 4);
	}
}

void test_main(void)
{
	test_de();
	test_bp();
	test_ud();
	test_gp_selector();
#ifdef __x86_64__
	test_gp_noncanonical();
#endif
	test_pf();
	/* Each handler returned to the right place: this runs with every register the compiler
	 * relies on intact. */
	printf("delivered: #DE #BP #UD #GP%s #PF\n", sizeof(long) == 8 ? " #GP(non-canonical)" : "");
}
