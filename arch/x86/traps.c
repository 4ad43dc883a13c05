/* SPDX-License-Identifier: MIT */
/* Exceptions and interrupts taken in Keel itself. Any exception in the hypervisor is a bug: it
 * prints everything needed to find it and panics. */
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/lapic.h"
#include "kernel/ksyms.h"
#include "kernel/log.h"
#include "kernel/panic.h"

static const char *const exc_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved 15",
	"#MF x87 error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD error",
	"#VE virtualization",
	"#CP control protection",
	"reserved 22",
	"reserved 23",
	"reserved 24",
	"reserved 25",
	"reserved 26",
	"reserved 27",
	"#HV hypervisor injection",
	"#VC VMM communication",
	"#SX security",
	"reserved 31",
};

static irq_handler_t handlers[256];

void irq_set_handler(u8 vector, irq_handler_t h)
{
	handlers[vector] = h;
}

void dump_trap_frame(const struct trap_frame *f)
{
	pr_err("RIP %016llx CS %04llx RFLAGS %016llx\n", (unsigned long long)f->rip, (unsigned long long)f->cs,
	       (unsigned long long)f->rflags);
	pr_err("RSP %016llx SS %04llx CR2 %016llx CR3 %016llx\n", (unsigned long long)f->rsp, (unsigned long long)f->ss,
	       (unsigned long long)read_cr2(), (unsigned long long)read_cr3());
	pr_err("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", (unsigned long long)f->rax,
	       (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	pr_err("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n", (unsigned long long)f->rsi,
	       (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
	pr_err("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n", (unsigned long long)f->r9,
	       (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
	pr_err("R13 %016llx R14 %016llx R15 %016llx CR0 %016llx CR4 %016llx\n", (unsigned long long)f->r13,
	       (unsigned long long)f->r14, (unsigned long long)f->r15, (unsigned long long)read_cr0(),
	       (unsigned long long)read_cr4());
	backtrace_print(f->rip, f->rbp);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == EXC_NMI && panic_in_progress())
		cpu_stop(); /* another CPU panicked and asked everyone to stop */
	if (f->vector < 32) {
		panic_begin();
		pr_err("EXCEPTION %llu (%s) error code 0x%llx on CPU %u\n", (unsigned long long)f->vector,
		       exc_names[f->vector], (unsigned long long)f->error, this_cpu()->cpu);
		dump_trap_frame(f);
		panic_finish();
	}
	this_cpu()->nr_irqs++;
	if (handlers[f->vector]) {
		handlers[f->vector](f);
	} else {
		pr_warn("unexpected interrupt vector %llu on CPU %u\n", (unsigned long long)f->vector, this_cpu()->cpu);
		lapic_eoi();
	}
}
