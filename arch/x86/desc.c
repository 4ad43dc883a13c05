/* SPDX-License-Identifier: MIT */
#include "arch/x86/desc.h"

#include "arch/x86/memlayout.h"
#include "arch/x86/paging.h"
#include "arch/x86/regs.h"

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout (SDM vol. 3A §6.14.1)");

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define ISR_STUB_SIZE  16

extern char isr_stubs[];
static struct idt_gate idt[256] __aligned(16);

void idt_init(bool use_ist)
{
	for (unsigned v = 0; v < 256; v++) {
		u64 addr = (u64)(uintptr_t)(isr_stubs + v * ISR_STUB_SIZE);
		u8 ist = !use_ist ? 0 : v == EXC_NMI ? IST_NMI : v == EXC_DF ? IST_DF : v == EXC_MC ? IST_MC : 0;

		idt[v] = (struct idt_gate){
			.offset_lo = (u16)addr,
			.selector = GDT_KERNEL_CS,
			.ist = ist,
			.type_attr = GATE_INTERRUPT,
			.offset_mid = (u16)(addr >> 16),
			.offset_hi = (u32)(addr >> 32),
		};
	}
}

static void load_idt(void)
{
	struct desc_ptr p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

	__asm__ volatile("lidt %0" ::"m"(p));
}

int cpu_tables_init(struct percpu *p, bool with_tss)
{
	u64 tss = (u64)(uintptr_t)&p->tss;
	struct desc_ptr gp = { sizeof(p->gdt) - 1, (u64)(uintptr_t)p->gdt };
	static const u8 ists[] = { IST_NMI, IST_DF, IST_MC };

	for (unsigned i = 0; with_tss && i < ARRAY_SIZE(ists); i++) {
		void *top = stack_alloc(ISTACK_SIZE);

		if (!top)
			return -ENOMEM;
		p->tss.ist[ists[i] - 1] = (u64)(uintptr_t)top;
	}
	p->tss.iomap_base = sizeof(p->tss); /* no I/O permission bitmap */

	p->gdt[0] = 0;
	p->gdt[GDT_KERNEL_CS / 8] = 0x00af9a000000ffffULL;
	p->gdt[GDT_KERNEL_DS / 8] = 0x00cf92000000ffffULL;
	/* 64-bit TSS descriptor: 16 bytes, type 9 (available), present. */
	p->gdt[GDT_TSS / 8] =
	    !with_tss ? 0
		      : (sizeof(p->tss) - 1) | ((tss & 0xffffff) << 16) | (0x89ULL << 40) | ((tss >> 24) & 0xff) << 56;
	p->gdt[GDT_TSS / 8 + 1] = with_tss ? tss >> 32 : 0;

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 :
			 : "m"(gp), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS)
			 : "rax", "memory");
	if (with_tss)
		__asm__ volatile("ltr %w0" ::"r"((u16)GDT_TSS) : "memory");
	load_idt();
	return 0;
}
