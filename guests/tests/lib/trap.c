// SPDX-License-Identifier: MIT
/* IDT, the C side of the exception and IRQ stubs, and the expected-exception hook. */
#include "guest.h"

/* Saved by the stubs in entry32.S / entry64.S, lowest address first. */
struct exc_frame {
#ifdef __x86_64__
	unsigned long r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
#else
	unsigned long edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pusha */
#endif
	unsigned long vector, error_code; /* 0 for vectors without an error code */
	unsigned long ip, cs, flags;	  /* pushed by the CPU (and sp, ss in long mode) */
};

#define IDT_VECTORS 48
#ifdef __x86_64__
#define CODE_SEL 0x18 /* the 64-bit code segment in entry64.S's GDT */
#else
#define CODE_SEL 0x08 /* the 32-bit code segment in entry32.S's GDT */
#endif
#define GATE_INTERRUPT 0x8e /* present, DPL 0, interrupt gate: IF is cleared on entry */

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
extern const uintptr_t exc_stubs[IDT_VECTORS];

volatile struct exc_info last_exc;
static volatile bool armed;
static volatile int armed_vector;
static volatile unsigned long armed_skip;
static volatile int taken = -1;
volatile unsigned long irq_count[16];

void trap_init(void);
void exc_dispatch(struct exc_frame *f);
void pic_eoi(unsigned irq);

void trap_init(void)
{
	for (int v = 0; v < IDT_VECTORS; v++) {
		uintptr_t a = exc_stubs[v];
		idt[v].off0 = (uint16_t)a;
		idt[v].sel = CODE_SEL;
		idt[v].type = GATE_INTERRUPT;
		idt[v].off1 = (uint16_t)(a >> 16);
#ifdef __x86_64__
		idt[v].off2 = (uint32_t)(a >> 32);
#endif
	}
	struct __attribute__((packed)) {
		uint16_t limit;
		uintptr_t base;
	} idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void idt_set_stub(unsigned vector, void (*stub)(void))
{
	uintptr_t a = (uintptr_t)stub;

	if (vector >= IDT_VECTORS)
		fail_now(GUEST_FAIL, "idt_set_stub: vector %u outside the runtime's IDT", vector);
	idt[vector].off0 = (uint16_t)a;
	idt[vector].off1 = (uint16_t)(a >> 16);
#ifdef __x86_64__
	idt[vector].off2 = (uint32_t)(a >> 32);
#endif
}

const char *vector_name(int vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS",
		"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};
	if (vector < 0)
		return "none";
	if (vector < 32 && names[vector])
		return names[vector];
	return vector < IRQ_VECTOR_BASE + 16 ? "IRQ" : "?";
}

void exc_dispatch(struct exc_frame *f)
{
	int v = (int)f->vector;
	if (v >= IRQ_VECTOR_BASE) {
		irq_count[v - IRQ_VECTOR_BASE]++;
		pic_eoi((unsigned)(v - IRQ_VECTOR_BASE));
		return;
	}
	if (!armed)
		fail_now(GUEST_FAIL_EXCEPTION, "unexpected exception %s (vector %d) error 0x%lx at ip 0x%lx cr2 0x%lx",
			 vector_name(v), v, f->error_code, f->ip, read_cr2());
	armed = false;
	last_exc.vector = v;
	last_exc.error_code = f->error_code;
	last_exc.ip = f->ip;
	last_exc.cr2 = read_cr2();
	taken = v;
	if (v != armed_vector)
		printf("%s: expected %s, got %s at ip 0x%lx\n", test_name, vector_name(armed_vector), vector_name(v),
		       f->ip);
	f->ip += armed_skip;
}

void expect_exception(int vector, unsigned long skip)
{
	last_exc.vector = -1;
	armed_vector = vector;
	armed_skip = skip;
	taken = -1;
	__asm__ volatile("" : : : "memory");
	armed = true;
	__asm__ volatile("" : : : "memory");
}

int exception_taken(void)
{
	__asm__ volatile("" : : : "memory");
	armed = false;
	return taken;
}

bool exception_check(const char *what, int vector, long err)
{
	int v = exception_taken();
	if (v < 0) {
		fail("%s: no exception, expected %s", what, vector_name(vector));
		return false;
	}
	if (v != vector) {
		fail("%s: got %s, expected %s", what, vector_name(v), vector_name(vector));
		return false;
	}
	if (err >= 0 && last_exc.error_code != (unsigned long)err) {
		fail("%s: %s error code 0x%lx, expected 0x%lx", what, vector_name(v), last_exc.error_code,
		     (unsigned long)err);
		return false;
	}
	return true;
}

/* rdmsr and wrmsr are 0f 32 and 0f 30: two bytes to skip after a #GP. */
int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	expect_exception(VEC_GP, 2);
	__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*val = ((uint64_t)hi << 32) | lo;
	return exception_taken();
}

int wrmsr_safe(uint32_t msr, uint64_t val)
{
	expect_exception(VEC_GP, 2);
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	return exception_taken();
}
