/* SPDX-License-Identifier: MIT */
/*
 * SMP for the test guests: start the application processors (APs) with INIT, SIPI, SIPI through
 * the xAPIC at 0xFEE00000 (Intel SDM vol 3A, 9.4 and 11.6; MP spec 1.4, B.4), and send IPIs.
 *
 * Contract (real hardware and Keel alike): the BSP is CPU 0 with APIC ID 0 and enters through
 * multiboot; the APs wait for a SIPI and have APIC IDs 1..N-1; `cpus=N` on the command line gives
 * N (default 1). CPU index == APIC ID throughout.
 *
 * smp_init() masks the PIC, calibrates the TSC against PIT channel 0 (which it leaves running in
 * mode 2 with IRQ 0 masked), enables the BSP's local APIC and installs a 256-entry IDT (the
 * runtime's vectors 0-47, SMP_VECTOR_FIRST..SMP_VECTOR_LAST for smp_set_handler(), and the
 * spurious vector 0xff). smp_start(fn) copies the trampoline (ap_tramp.S) to SMP_TRAMP_BASE, then
 * starts the APs one at a time: each AP goes real mode -> the BSP's mode (flat 32-bit protected
 * mode, with the BSP's paging if on; or long mode) on the BSP's GDT, IDT and CR3, takes its own
 * stack, enables its local APIC (SVR bit 8, spurious vector 0xff, LVT timer masked), marks itself
 * online and calls fn(cpu) with IF = 0. If fn returns the AP parks in `cli; hlt`.
 * An AP that is not online within SMP_START_TIMEOUT_MS ends the test with fail_now().
 *
 * 64-bit guests get the 2 MiB page holding the local APIC mapped (uncached) by smp_init(); a
 * 32-bit guest that uses paging must call paging_enable() before smp_init().
 * The trampoline page [0x8000, 0x9000) is free under QEMU's -kernel, GRUB and Keel's loader (Keel
 * keeps the multiboot information, command lines and module list at [0x9000, 0xb000) when the
 * image is elsewhere, as it is for every guest linked at 2 MiB).
 * The APs do not print (the console has no lock): they record results for the BSP to check.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#define SMP_TRAMP_BASE	  0x8000 /* page-aligned, below 1 MiB: the SIPI vector is its page number */
#define SMP_MAX_CPUS	  16
#define SMP_AP_STACK_SIZE 8192

/* Offsets in the trampoline's parameter block (struct smp_tramp_params), for ap_tramp.S. */
#define TP_CR0	 0
#define TP_CR3	 4
#define TP_CR4	 8
#define TP_EFER	 12 /* low half; 64-bit guests only */
#define TP_STACK 16 /* 8 bytes: the AP's initial stack pointer */
#define TP_ENTRY 24 /* 8 bytes: the C function the AP calls, smp_ap_entry() */
#define TP_GDTR	 32 /* limit (2 bytes) then base (8 bytes): what SGDT stores in long mode */
#define TP_IDTR	 48
#define TP_SIZE	 64

/* The runtime's segment selectors (entry32.S and entry64.S use the same layout). */
#define SMP_CODE32_SEL 0x08
#define SMP_DATA_SEL   0x10
#define SMP_CODE64_SEL 0x18

#define SMP_VECTOR_FIRST    0x40
#define SMP_VECTOR_LAST	    0x4f
#define SMP_VECTOR_SPURIOUS 0xff

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* Local APIC registers (SDM vol 3A, table 11-1), xAPIC MMIO offsets. */
#define LAPIC_BASE	 0xfee00000ul
#define LAPIC_ID	 0x020
#define LAPIC_VERSION	 0x030
#define LAPIC_TPR	 0x080
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_ESR	 0x280
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_LVT_LINT0	 0x350
#define LAPIC_LVT_LINT1	 0x360
#define LAPIC_LVT_ERROR	 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	 0x390
#define LAPIC_TIMER_DIV	 0x3e0

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_MASKED (1u << 16)

/* ICR low word (SDM vol 3A, 11.6.1). */
#define ICR_FIXED	     (0u << 8)
#define ICR_NMI		     (4u << 8)
#define ICR_INIT	     (5u << 8)
#define ICR_STARTUP	     (6u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT     (1u << 14)
#define ICR_DEST_SELF	     (1u << 18)
#define ICR_DEST_ALL	     (2u << 18)
#define ICR_DEST_OTHERS	     (3u << 18) /* all excluding self */

#define SMP_START_TIMEOUT_MS 1000

struct smp_tramp_params {
	uint32_t cr0, cr3, cr4, efer;
	uint64_t stack, entry;
	uint8_t gdtr[10], pad0[6];
	uint8_t idtr[10], pad1[6];
};

extern unsigned smp_ncpus;			   /* from cpus=N; valid after smp_init() */
extern volatile unsigned smp_online[SMP_MAX_CPUS]; /* times each CPU entered C (1 for the BSP) */
extern volatile unsigned smp_spurious[SMP_MAX_CPUS];

/* Masks the PIC, calibrates the TSC, sets up the BSP's local APIC and the IDT; reads cpus=N. */
void smp_init(void);
/* Starts CPUs 1..smp_ncpus-1 in order; each calls fn(cpu) once it is online. */
void smp_start(void (*fn)(unsigned cpu));
/* This CPU's index (= its local APIC ID). */
unsigned smp_cpu(void);

/* Handler for vector SMP_VECTOR_FIRST..SMP_VECTOR_LAST, run with IF = 0; the EOI follows it. */
typedef void (*smp_handler_t)(unsigned cpu, unsigned vector);
void smp_set_handler(unsigned vector, smp_handler_t fn);

/* x2apic=1 on the command line: every CPU's local APIC runs in x2APIC mode (MSRs, 32-bit IDs). */
extern bool smp_x2apic;
#define X2APIC_MSR(reg)	   (0x800u + (reg) / 16)
#define CPUID_1_ECX_X2APIC (1u << 21)

/* Maps the local APIC's page (uncached) into the runtime's identity map. */
void lapic_map(void);
uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t val);
/* Sends an IPI: icr_lo is the ICR low word (vector, delivery mode, shorthand), dest an APIC ID
 * (ignored with a shorthand). Waits (bounded) for the delivery status to clear. */
void lapic_send_ipi(unsigned dest, uint32_t icr_lo);

/* Time, from the TSC calibrated against the PIT. */
extern uint64_t tsc_per_ms;
uint64_t tsc_after_us(uint64_t us); /* the TSC value us microseconds from now */
void udelay(uint64_t us);
uint64_t tsc_to_us(uint64_t ticks);
uint64_t udiv64(uint64_t n, uint64_t d); /* without libgcc (32-bit guests) */

/* Waits up to timeout_ms for *flag to be at least want; returns whether it got there. */
bool smp_wait_for(const volatile unsigned *flag, unsigned want, unsigned timeout_ms);
#endif

#endif
