/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime. A guest is one C file that names itself with GUEST_TEST("name") and
 * defines test_main(); the runtime (entry32.S or entry64.S, then runtime_main) sets up a GDT, an
 * IDT and COM1, calls test_main() and reports:
 *   "PASS: <name>" or "FAIL: <name>: <first reason>" on COM1, then the status byte below on the
 *   debug-exit port (KEEL_DEBUG_EXIT_PORT), then `cli; hlt` forever.
 * Under bare QEMU with isa-debug-exit the process exits with (status << 1) | 1.
 * A guest that expects the hypervisor to end it prints "EXPECT-CRASH: <name>: <what>" first.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel_hypercall.h" /* vmm/public/, the ABI Keel compiles */
#include "x86.h"

/* Status written to the debug-exit port. */
#define GUEST_PASS	     0 /* every check passed */
#define GUEST_FAIL	     1 /* a check failed */
#define GUEST_FAIL_EXCEPTION 2 /* an exception the test did not expect */
#define GUEST_FAIL_SURVIVED  3 /* the guest ran past a point where the hypervisor must end it */

#define GUEST_TEST(name) const char test_name[] = name
extern const char test_name[];
void test_main(void);

#define __printf(a, b) __attribute__((format(printf, a, b)))

/* COM1, polled; '\n' is sent as is. %d %i %u %x %X %p %s %c %% with '-', '0', width, l, ll, z. */
void console_putc(char c);
int printf(const char *fmt, ...) __printf(1, 2);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __printf(3, 0);

/* Reporting. fail() records a failed check (the first reason goes on the FAIL line) and lets the
 * test go on; CHECK() calls it when cond is false. */
void fail(const char *fmt, ...) __printf(1, 2);
#define CHECK(cond, ...)                   \
	do {                               \
		if (!(cond))               \
			fail(__VA_ARGS__); \
	} while (0)
int failures(void);
void expect_crash(const char *fmt, ...) __printf(1, 2);
/* Prints the FAIL line now and exits with status (GUEST_FAIL_SURVIVED after EXPECT-CRASH). */
__attribute__((noreturn)) void fail_now(int status, const char *fmt, ...) __printf(2, 3);
__attribute__((noreturn)) void guest_exit(int status);

/* What the loader passed (multiboot1 or multiboot2). */
struct boot_info {
	uint32_t magic;
	bool multiboot2;
	const char *cmdline; /* "" when none */
	uint64_t ram_top;    /* end of the RAM block at 1 MiB, 0 when the loader did not say */
	uint32_t info;	     /* where the loader put its multiboot information (EBX at entry) */
};
extern struct boot_info boot;
#define MB1_BOOT_MAGIC 0x2badb002u
#define MB2_BOOT_MAGIC 0x36d76289u
/* The value of "key=N" (decimal or 0x hex) on the command line, or def. */
unsigned long cmdline_ulong(const char *key, unsigned long def);

/*
 * Expected exceptions. expect_exception(vector, skip) arms the handler for the next exception:
 * it records vector, error code (0 for vectors without one), the faulting IP and CR2 in last_exc,
 * disarms, and resumes at the pushed IP + skip (skip = the faulting instruction's length for a
 * fault, 0 for a trap such as int3). An exception while not armed ends the test with
 * GUEST_FAIL_EXCEPTION. exception_taken() disarms and returns the vector taken since the last
 * expect_exception(), or -1.
 */
struct exc_info {
	int vector;
	unsigned long error_code, ip, cr2;
};
extern volatile struct exc_info last_exc;
void expect_exception(int vector, unsigned long skip);
int exception_taken(void);
/* exception_taken() and fail() unless it was `vector` (and error code `err` when err >= 0). */
bool exception_check(const char *what, int vector, long err);
const char *vector_name(int vector);

/*
 * A vector (below 48) of the runtime's IDT handled by the guest's own entry point instead of the
 * runtime's stubs (an interrupt gate with the same code segment). smp_init() copies the IDT, so
 * call it before. GUEST_RAW_HANDLER(stub, fn) defines such an entry point in a 64-bit guest: it
 * saves the caller-saved registers, calls fn(frame) with frame pointing at what the CPU pushed
 * (ip, cs, flags, sp, ss) and returns with IRETQ.
 */
void idt_set_stub(unsigned vector, void (*stub)(void));
struct iret_frame {
	unsigned long ip, cs, flags, sp, ss;
};
#define GUEST_RAW_HANDLER(stub, fn)                                       \
	void stub(void);                                                  \
	void fn(struct iret_frame *f);                                    \
	__asm__(".text\n.globl " #stub "\n" #stub ":\n"                   \
		"push %rax\npush %rcx\npush %rdx\npush %rsi\npush %rdi\n" \
		"push %r8\npush %r9\npush %r10\npush %r11\n"              \
		"lea 72(%rsp), %rdi\ncld\ncall " #fn "\n"                 \
		"pop %r11\npop %r10\npop %r9\npop %r8\n"                  \
		"pop %rdi\npop %rsi\npop %rdx\npop %rcx\npop %rax\niretq\n")

/* MSR access that catches #GP: returns -1 on success, else the vector taken. */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);

/* 8259 PIC (IRQ 0-15 at vectors 32-47) and PIT channel 0. irq_count counts each IRQ's
 * interrupts; the runtime sends the EOI. pic_init() masks every IRQ. */
#define IRQ_VECTOR_BASE 32
extern volatile unsigned long irq_count[16];
void pic_init(void);
bool pic_present(void);
void pic_unmask(unsigned irq);
bool pic_irq_pending(unsigned irq);
/* Polls the PIC until `irq` is pending (in the IRR), at most `spins` reads; false if it never was. */
bool pic_wait_pending(unsigned irq, unsigned long spins);
void pit_start(unsigned hz);

/* Hypercall: VMMCALL on AMD (and Hygon), VMCALL on Intel; registers in keel_hypercall.h. */
long hypercall(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2);
/* HC_VERSION, catching the #UD a machine without a hypervisor raises: the ABI version, or -1
 * after fail() ("... raised #UD: no hypervisor answered"). */
long hypercall_version(void);

/* Paging: 64-bit guests run on identity-mapped 2 MiB pages covering [0, 1 GiB). 32-bit guests call
 * paging_enable() for the same map with 4 MiB PSE pages. Nothing at or above UNMAPPED_ADDR is
 * mapped. */
#define UNMAPPED_ADDR 0x40000000ul
void paging_enable(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif
