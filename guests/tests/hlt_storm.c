// SPDX-License-Identifier: MIT
/*
 * Regression guest for a host-wide deadlock: halted vCPUs that cannot wake while the VM's PIT fires
 * as fast as it can, routed through the I/O APIC to every local APIC. Keel used to poll the PIT of
 * a vCPU about to block with its scheduler lock held; the I/O APIC's message then kicked a vCPU,
 * which takes that lock again, and every CPU of the host stopped.
 *
 * cpus=N, N >= 2: the BSP routes I/O APIC pin 2 (the PIT) to APIC ID 0xff (every local
 * APIC), starts PIT channel 0 at count 1 (mode 2: an interrupt every 838 ns) and halts with IF = 0,
 * for good. APs 1 .. N-2 write to the PIC and halt with IF = 0, for good (only an INIT could wake
 * them). The last AP, with IF = 0 too, writes to the PIC in a loop (a write from any vCPU but 0
 * makes Keel look at vCPU 0 again) for seconds=S (default 3, TSC; ms=M in milliseconds, for slow
 * emulators) and ends the test: PASS.
 * cpus=1 (the default): the only CPU software-disables its local APIC, routes pin 2 to it, starts the PIT at
 * count 1 and halts with IF = 1, after printing "hlt_storm: halted for good": no interrupt can
 * reach it, and it never ends (the test ends it from outside).
 * Bare QEMU: cpus=N passes (with pit=N, a slower PIT: QEMU emulates every period); cpus=1 halts
 * for good there too.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("hlt_storm");

#define IOAPIC_BASE   0xfec00000ul
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_REDTBL 0x10 /* entry n: registers 0x10 + 2n (low) and 0x11 + 2n (high) */
#define PIT_GSI	      2	   /* the PIT's IRQ 0 on pin 2, as the MADT's override and QEMU's board say */
#define STORM_VECTOR  SMP_VECTOR_FIRST
#define DEST_ALL      0xffu /* physical destination 0xff: every xAPIC */

#define PIT_CH0		 0x40
#define PIT_CMD		 0x43
#define PIT_CH0_RATE_GEN 0x34
#define PIC1_DATA	 0x21
#define PIC2_DATA	 0xa1

static volatile unsigned halting, pic_writes, go;
static unsigned long ms;

static void ioapic_write(unsigned reg, uint32_t val)
{
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WIN) = val;
}

/* Pin 2 -> STORM_VECTOR, fixed, physical destination `dest`, edge, active high, unmasked. */
static void route_pit(uint32_t dest)
{
	ioapic_write(IOAPIC_REDTBL + 2 * PIT_GSI + 1, dest << 24);
	ioapic_write(IOAPIC_REDTBL + 2 * PIT_GSI, STORM_VECTOR);
}

/* Count 1 by default; pit=N on the command line (bare QEMU emulates every period of count 1, which
 * takes it longer than the test's time limit). */
static void pit_count_1(void)
{
	unsigned long count = cmdline_ulong("pit", 1);

	outb(PIT_CMD, PIT_CH0_RATE_GEN);
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
}

static __attribute__((noreturn)) void halt_for_good(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void ap_main(unsigned cpu)
{
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	if (cpu + 1 < smp_ncpus) {
		outb(PIC1_DATA, 0xff);
		__atomic_add_fetch(&halting, 1, __ATOMIC_SEQ_CST);
		halt_for_good();
	}
	/* The last AP: it prints and ends the test, since the BSP never runs again. */
	uint64_t end = rdtsc() + tsc_per_ms * ms;

	while (rdtsc() < end) {
		outb(PIC1_DATA, 0xff);
		outb(PIC2_DATA, 0xff);
		pic_writes++;
	}
	printf("hlt_storm: %u APs halted with IF=0, %u PIC write pairs under the storm\n", halting, pic_writes);
	CHECK(halting == smp_ncpus - 2, "only %u of %u APs reached their HLT", halting, smp_ncpus - 2);
	CHECK(pic_writes > 0, "no PIC write");
	/* The runtime's report, from this CPU: test_main() never returns on the BSP. */
	if (failures())
		fail_now(GUEST_FAIL, "%d checks failed", failures());
	printf("PASS: %s\n", test_name);
	guest_exit(GUEST_PASS);
}

static __attribute__((noreturn)) void one_cpu(void)
{
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) & ~LAPIC_SVR_ENABLE);
	route_pit(0);
	pit_count_1();
	printf("hlt_storm: halted for good\n");
	for (;;)
		__asm__ volatile("sti; hlt");
}

void test_main(void)
{
	ms = cmdline_ulong("ms", 1000 * cmdline_ulong("seconds", 3));
	smp_init();
	if (smp_ncpus == 1)
		one_cpu();
	smp_start(ap_main);
	route_pit(DEST_ALL);
	pit_count_1();
	printf("hlt_storm: PIT at count 1 to every vCPU; %u vCPUs halt with IF=0 for good\n", smp_ncpus - 1);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	halt_for_good();
}
