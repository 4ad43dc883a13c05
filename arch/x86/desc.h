/* SPDX-License-Identifier: MIT */
/* GDT, TSS, IDT and the trap frame (Intel SDM vol. 3A ch. 3, 6, 8). */
#ifndef KEEL_DESC_H
#define KEEL_DESC_H

#include "kernel/percpu.h"
#include "kernel/types.h"

/* IST slots (1-based in the IDT gate). */
#define IST_NMI 1
#define IST_DF	2
#define IST_MC	3

/* Interrupt vectors Keel uses for itself. */
#define VEC_TIMER	0xf0
#define VEC_CALL	0xf1
#define VEC_KICK	0xf2 /* a vCPU needs this CPU: leave the guest and reschedule */
#define VEC_UART	0xe0 /* COM1 input, through the IOAPIC (the hypervisor console) */
#define VEC_LAPIC_ERROR 0xfe
#define VEC_SPURIOUS	0xff

/* Exception vectors. */
#define EXC_DE	0
#define EXC_DB	1
#define EXC_NMI 2
#define EXC_BP	3
#define EXC_UD	6
#define EXC_DF	8
#define EXC_GP	13
#define EXC_PF	14
#define EXC_MC	18

/* Pushed by arch/x86/isr.S: general registers, then vector and error code, then the CPU's frame. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

/*
 * Sets up this CPU's GDT and loads the shared IDT; with_tss also allocates the IST stacks and
 * loads the TSS (needs the page allocator: the BSP first runs without, then again with).
 */
int cpu_tables_init(struct percpu *p, bool with_tss);
/* Fills the IDT; with use_ist, NMI, #DF and #MC switch to their IST stacks (TSS required). */
void idt_init(bool use_ist);

typedef void (*irq_handler_t)(struct trap_frame *f);
void irq_set_handler(u8 vector, irq_handler_t h);

void trap_dispatch(struct trap_frame *f);
void dump_trap_frame(const struct trap_frame *f);

#endif
