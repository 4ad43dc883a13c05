// SPDX-License-Identifier: MIT
/*
 * A VM that arms the fastest timers it can, masked, and halts: its local APIC timer periodic every
 * 2 us with the LVT masked, and PIT channel 0 at count 1 (an interrupt every 838 ns) with IRQ 0
 * masked at the PIC and at the I/O APIC. None of them can interrupt it, so none may wake it or
 * cost its CPU anything: a VM pinned beside it must keep its share of that CPU. The only interrupt
 * it takes is the RTC's periodic one (2 Hz, through I/O APIC pin 8), by which it counts seconds=S
 * (default 3) in HLT and ends: PASS if the masked timers raised nothing.
 * Bare QEMU: PASSES (one CPU) with pit=N: QEMU emulates every period of a count of 1, which takes
 * it longer than the test's time limit.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("timer_storm");

#define IOAPIC_BASE   0xfec00000ul
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_REDTBL 0x10 /* entry n: registers 0x10 + 2n (low) and 0x11 + 2n (high) */
#define IOAPIC_MASKED (1u << 16)
#define PIT_GSI	      2
#define RTC_GSI	      8

#define RTC_VECTOR   SMP_VECTOR_FIRST
#define TIMER_VECTOR (SMP_VECTOR_FIRST + 1)
#define PIT_VECTOR   (SMP_VECTOR_FIRST + 2)

#define LVT_PERIODIC	 (1u << 17)
#define TIMER_DIV_BY_1	 0xb
#define TIMER_2US_AT_1NS 2000 /* Keel's (and QEMU's) APIC timer input is 1 GHz */

#define CMOS_INDEX   0x70
#define CMOS_DATA    0x71
#define CMOS_NMI_OFF 0x80
#define RTC_REG_A    0x0a
#define RTC_REG_B    0x0b
#define RTC_REG_C    0x0c
#define RTC_A_2HZ    0x2f /* 32.768 kHz time base, rate 15: 2 Hz */
#define RTC_B_PIE    0x40

#define PIT_CH0		 0x40
#define PIT_CMD		 0x43
#define PIT_CH0_RATE_GEN 0x34

static volatile unsigned rtc_ticks, timer_irqs, pit_irqs;

static void ioapic_write(unsigned reg, uint32_t val)
{
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WIN) = val;
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
	return inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t val)
{
	outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
	outb(CMOS_DATA, val);
}

static void on_irq(unsigned cpu, unsigned vector)
{
	if (vector == RTC_VECTOR) {
		cmos_read(RTC_REG_C); /* acknowledges the periodic flag, so the RTC interrupts again */
		rtc_ticks++;
	} else if (vector == TIMER_VECTOR) {
		timer_irqs++;
	} else {
		pit_irqs++;
	}
}

void test_main(void)
{
	unsigned long seconds = cmdline_ulong("seconds", 3);
	unsigned long pit = cmdline_ulong("pit", 1); /* the PIT's count: 1 unless pit=N */

	smp_init(); /* the PIC stays masked */
	smp_set_handler(RTC_VECTOR, on_irq);
	smp_set_handler(TIMER_VECTOR, on_irq);
	smp_set_handler(PIT_VECTOR, on_irq);

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_BY_1);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LVT_PERIODIC | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, TIMER_2US_AT_1NS);

	ioapic_write(IOAPIC_REDTBL + 2 * PIT_GSI + 1, 0);
	ioapic_write(IOAPIC_REDTBL + 2 * PIT_GSI, IOAPIC_MASKED | PIT_VECTOR);
	outb(PIT_CMD, PIT_CH0_RATE_GEN);
	outb(PIT_CH0, (uint8_t)pit);
	outb(PIT_CH0, (uint8_t)(pit >> 8));

	cmos_write(RTC_REG_A, RTC_A_2HZ);
	cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) | RTC_B_PIE);
	cmos_read(RTC_REG_C);
	ioapic_write(IOAPIC_REDTBL + 2 * RTC_GSI + 1, 0);
	ioapic_write(IOAPIC_REDTBL + 2 * RTC_GSI, RTC_VECTOR);
	printf("timer_storm: masked APIC timer every 2 us and PIT at count 1; halting for %lu s\n", seconds);

	while (rtc_ticks < 2 * seconds)
		__asm__ volatile("sti; hlt; cli");
	cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) & ~RTC_B_PIE);
	printf("timer_storm: %u RTC ticks, %u APIC timer and %u PIT interrupts\n", rtc_ticks, timer_irqs, pit_irqs);
	CHECK(timer_irqs == 0 && pit_irqs == 0, "a masked timer interrupted");
}
