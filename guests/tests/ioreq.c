// SPDX-License-Identifier: MIT
/*
 * I/O requests end to end: this guest's ports 0x500-0x50f, MMIO page 0xd0000000 and PCI function
 * 00:05.0 are served by keel-iotest, a device model in the management VM (guests/mgmt/tools/
 * keel-iotest.c, which documents the registers). Both vCPUs at once check every width and
 * direction, string and REP I/O both ways, read-modify-write instructions on MMIO, doorbells and
 * MSIs; vCPU 0 also checks PCI configuration cycles and a level-triggered INTx through the I/O
 * APIC. Until the device model has claimed the ports they read all-ones (the handshake).
 * kill=1: after the handshake, read the port whose device model kills itself in the middle of
 * the request; Keel must end this VM ("device model gone"). hold=1: after the handshake, read the
 * scratch register for ever; the management VM powers off meanwhile, and Keel must end this VM
 * ("management VM ended"). reset=1: after the handshake, reset the machine (0xCF9): a VM a device
 * model serves is not built again, it ends (the device model sees it end). bench=1: after the handshake, print "BENCH <what> <TSC ticks>" medians
 * (tests/bench/bench_ioreq.py runs it under -icount, where ticks are instructions) and end.
 * Needs keel-iotest: not for bare QEMU.
 */
#include "guest.h"
#include "smp.h"

GUEST_TEST("ioreq");

#define P_MAGIC	  0x500 /* dword: IOTEST_MAGIC once served */
#define P_SCRATCH 0x504 /* dword per vCPU, any width */
#define P_SEQ	  0x508 /* byte: IN gives 0, 1, 2... (per vCPU); OUT adds to the sum */
#define P_CMD	  0x509 /* byte: commands below */
#define P_BELLS	  0x50a /* word: PIO doorbell sets the device model saw */
#define P_SUM	  0x50c /* word: sum of the bytes written to P_SEQ (per vCPU) */
#define P_BELL	  0x50e /* word: the PIO doorbell */
#define P_HANG	  0x50b /* byte: kill=1's device model dies on this read */
#define CMD_MSI	  1	/* an MSI to the writing vCPU, vector V_MSI */
#define CMD_INTX  2	/* INTx (GSI GSI_INTX) asserted */
#define CMD_DEASS 3	/* deasserted */
#define CMD_RESET 4	/* this vCPU's sequence and sum back to 0 */

#define MMIO	     0xd0000000ul
#define M_STORE	     0x000 /* 256 bytes per vCPU, any width */
#define M_BELL	     0x800 /* dword doorbell, data 0x1234 */
#define M_BELLS	     0x808 /* dword: MMIO doorbell sets seen */
#define M_ECHO	     0x810 /* dword: GPA where the device model writes its PIO doorbell count */
#define BELL_DATA    0x1234
#define IOAPIC	     0xfec00000ul
#define V_MSI	     0x41
#define V_INTX	     0x42
#define GSI_INTX     17 /* 00:05.0's INTA by the DSDT's _PRT */
#define PCI_DEV	     5
#define PCI_ID	     0x01054b45u
#define IOTEST_MAGIC 0x4b454f49u
#define V_TICK	     0x43 /* the PIT through I/O APIC pin 2, while waiting for the device model */

static volatile unsigned msi_count[SMP_MAX_CPUS], intx_count, ap_done;
static volatile unsigned ap_fail_line;
static volatile unsigned long ap_fail_val;

/* A failed check on either vCPU: the first one is kept (APs do not print). */
#define EXPECT(cond, val)                                   \
	do {                                                \
		if (!(cond) && !ap_fail_line) {             \
			ap_fail_val = (unsigned long)(val); \
			ap_fail_line = __LINE__;            \
		}                                           \
	} while (0)

static inline void mw8(unsigned long a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline void mw16(unsigned long a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void mw32(unsigned long a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline void mw64(unsigned long a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}
static inline uint8_t mr8(unsigned long a)
{
	return *(volatile uint8_t *)a;
}
static inline uint16_t mr16(unsigned long a)
{
	return *(volatile uint16_t *)a;
}
static inline uint32_t mr32(unsigned long a)
{
	return *(volatile uint32_t *)a;
}
static inline uint64_t mr64(unsigned long a)
{
	return *(volatile uint64_t *)a;
}

static volatile unsigned ticks;
static volatile uint64_t msi_tsc;
static void tick_handler(unsigned cpu, unsigned vector)
{
	ticks++;
}

static void msi_handler(unsigned cpu, unsigned vector)
{
	msi_tsc = rdtsc();
	msi_count[cpu]++;
}

static void intx_handler(unsigned cpu, unsigned vector)
{
	intx_count++;
	outb(P_CMD, CMD_DEASS); /* the device lowers its line before the EOI that follows */
}

/* Page-table bits (SDM vol. 3A §4.5) for map_uc. */
#define PTE_P	0x001u
#define PTE_W	0x002u
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_PS	0x080u

static unsigned long read_cr3(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* Maps a 2 MiB page of [3 GiB, 4 GiB) uncached, beside the local APIC's (lapic_map). */
static void map_uc(unsigned long addr)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
	uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[addr >> 30] & ~0xfffull);

	pd[(addr >> 21) & 511] = (addr & ~0x1ffffful) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	__asm__ volatile("mov %0, %%cr3" : : "r"(read_cr3()) : "memory");
}

static void pio_checks(unsigned cpu)
{
	uint32_t base = 0x11223300u + cpu;

	/* Every width, both directions; the register is this vCPU's own. */
	outl(P_SCRATCH, base);
	EXPECT(inl(P_SCRATCH) == base, inl(P_SCRATCH));
	outb(P_SCRATCH + 1, 0xaa);
	EXPECT(inl(P_SCRATCH) == ((base & ~0xff00u) | 0xaa00u), inl(P_SCRATCH));
	outw(P_SCRATCH + 2, 0xbeef);
	EXPECT(inw(P_SCRATCH + 2) == 0xbeef, inw(P_SCRATCH + 2));
	EXPECT(inb(P_SCRATCH) == (uint8_t)base, inb(P_SCRATCH));
	EXPECT(inb(P_SCRATCH + 3) == 0xbe, inb(P_SCRATCH + 3));

	/* REP OUTSB: each element a request, in order; REP INSB likewise. */
	static uint8_t out[SMP_MAX_CPUS][48], in[SMP_MAX_CPUS][32];
	unsigned sum = 0;

	outb(P_CMD, CMD_RESET);
	for (unsigned i = 0; i < sizeof(out[0]); i++)
		sum += out[cpu][i] = (uint8_t)(i * 7 + cpu);
	void *src = out[cpu], *dst = in[cpu];
	unsigned long n = sizeof(out[0]);
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(P_SEQ) : "memory");
	EXPECT(n == 0 && src == out[cpu] + sizeof(out[0]), n);
	EXPECT(inw(P_SUM) == (uint16_t)sum, inw(P_SUM));
	n = sizeof(in[0]);
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(P_SEQ) : "memory");
	for (unsigned i = 0; i < sizeof(in[0]); i++)
		EXPECT(in[cpu][i] == i, i);
	/* One OUTSW without REP. */
	static uint16_t w[SMP_MAX_CPUS] = { 0x0102, 0x0304 };
	src = &w[cpu];
	outb(P_CMD, CMD_RESET);
	__asm__ volatile("outsw" : "+S"(src) : "d"(P_SEQ) : "memory");
	EXPECT(inw(P_SUM) == (w[cpu] & 0xff), inw(P_SUM)); /* P_SEQ keeps the low byte */
}

static void mmio_checks(unsigned cpu)
{
	unsigned long m = MMIO + M_STORE;

	mw64(m, 0x0102030405060708ull + cpu);
	EXPECT(mr64(m) == 0x0102030405060708ull + cpu, mr64(m));
	EXPECT(mr32(m + 4) == 0x01020304u, mr32(m + 4));
	EXPECT(mr16(m + 2) == 0x0506, mr16(m + 2));
	EXPECT(mr8(m) == 0x08 + cpu, mr8(m));
	mw8(m + 1, 0xee);
	mw16(m + 6, 0xcafe);
	mw32(m + 8, 0xdeadbeef);
	EXPECT(mr64(m) == (0xcafe030405060008ull | 0xee00 | (0x08 + cpu)), mr64(m));
	EXPECT(mr32(m + 8) == 0xdeadbeef, mr32(m + 8));

	/* Read-modify-write instructions: a read request, then a write request. */
	uint32_t *p = (uint32_t *)(m + 16);
	*(volatile uint32_t *)p = 0x10;
	__asm__ volatile("lock orl $0xf0, %0" : "+m"(*p));
	EXPECT(mr32(m + 16) == 0xf0, mr32(m + 16));
	__asm__ volatile("addl $5, %0" : "+m"(*p));
	EXPECT(mr32(m + 16) == 0xf5, mr32(m + 16));
	uint32_t x = 0x12345678;
	__asm__ volatile("xchgl %0, %1" : "+r"(x), "+m"(*p));
	EXPECT(x == 0xf5, x);
	EXPECT(mr32(m + 16) == 0x12345678, mr32(m + 16));
	unsigned char cf;
	__asm__ volatile("btsl $31, %0; setc %1" : "+m"(*p), "=q"(cf));
	EXPECT(!cf && mr32(m + 16) == 0x92345678, mr32(m + 16));
	uint64_t r = 0;
	__asm__ volatile("movq %1, %0; addq %1, %0" : "+r"(r) : "m"(*(volatile uint64_t *)(m + 8)));
	EXPECT(r == 2 * mr64(m + 8), r);

	/* REP MOVS both ways, REP STOS: one element per request. */
	static uint8_t buf[SMP_MAX_CPUS][40], back[SMP_MAX_CPUS][40];
	for (unsigned i = 0; i < sizeof(buf[0]); i++)
		buf[cpu][i] = (uint8_t)(0x30 + i + cpu);
	void *s = buf[cpu], *d = (void *)(m + 0x40);
	unsigned long n = sizeof(buf[0]);
	__asm__ volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	s = (void *)(m + 0x40);
	d = back[cpu];
	n = sizeof(back[0]) / 8;
	__asm__ volatile("rep movsq" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	EXPECT(!memcmp(buf[cpu], back[cpu], sizeof(buf[0])), 0);
	d = (void *)(m + 0x80);
	n = 4;
	__asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(0x5a5a0000u + cpu) : "memory");
	EXPECT(mr32(m + 0x8c) == 0x5a5a0000u + cpu, mr32(m + 0x8c));
	EXPECT(n == 0 && d == (void *)(m + 0x90), n);
}

static void bell_and_msi_checks(unsigned cpu)
{
	unsigned i;

	/* Doorbells complete at once; the device model sees them (coalesced) soon after. */
	for (i = 0; i < 3; i++)
		outw(P_BELL, (uint16_t)i);
	for (i = 0; i < 10000 && !inw(P_BELLS); i++)
		pause();
	EXPECT(inw(P_BELLS) != 0, i);
	mw32(MMIO + M_BELL, BELL_DATA);
	for (i = 0; i < 10000 && !mr32(MMIO + M_BELLS); i++)
		pause();
	EXPECT(mr32(MMIO + M_BELLS) != 0, i);

	/* An MSI the device model sends to this vCPU before it completes the command's write. */
	unsigned before = msi_count[cpu];
	sti();
	outb(P_CMD, CMD_MSI);
	for (i = 0; i < 1000000 && msi_count[cpu] == before; i++)
		pause();
	cli();
	EXPECT(msi_count[cpu] == before + 1, msi_count[cpu] - before);
}

static void vcpu_checks(unsigned cpu)
{
	pio_checks(cpu);
	mmio_checks(cpu);
	bell_and_msi_checks(cpu);
}

static void ap_main(unsigned cpu)
{
	vcpu_checks(cpu);
	__atomic_store_n(&ap_done, 1, __ATOMIC_RELEASE);
}

static void pci_checks(void)
{
	outl(0xcf8, 0x80000000u | PCI_DEV << 11);
	CHECK(inl(0xcfc) == PCI_ID, "00:05.0 ID 0x%x, expected 0x%x", inl(0xcfc), PCI_ID);
	CHECK(inw(0xcfe) == PCI_ID >> 16, "00:05.0 device ID (word) 0x%x", inw(0xcfe));
	CHECK(inb(0xcfd) == ((PCI_ID >> 8) & 0xff), "00:05.0 byte 1 0x%x", inb(0xcfd));
	outl(0xcf8, 0x80000000u | PCI_DEV << 11 | 0x40);
	outl(0xcfc, 0xcafe0011);
	CHECK(inl(0xcfc) == 0xcafe0011, "00:05.0 register 0x40 reads 0x%x after writing 0xcafe0011", inl(0xcfc));
	outb(0xcfd, 0x77);
	CHECK(inl(0xcfc) == 0xcafe7711, "00:05.0 register 0x40 reads 0x%x after a byte write", inl(0xcfc));
	/* An unclaimed, empty slot still reads all-ones (Keel's bus). */
	outl(0xcf8, 0x80000000u | 6 << 11);
	CHECK(inl(0xcfc) == 0xffffffffu, "00:06.0 reads 0x%x", inl(0xcfc));
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mw32(IOAPIC, reg);
	mw32(IOAPIC + 0x10, v);
}

static void intx_checks(void)
{
	/* Level-triggered, active low, as the DSDT declares PCI INTx; to vCPU 0. */
	ioapic_write(0x11 + 2 * GSI_INTX, 0);
	ioapic_write(0x10 + 2 * GSI_INTX, V_INTX | 1u << 13 | 1u << 15);
	unsigned before = intx_count;
	sti();
	outb(P_CMD, CMD_INTX);
	for (unsigned i = 0; i < 1000000 && intx_count == before; i++)
		pause();
	cli();
	CHECK(intx_count == before + 1, "INTx: %u interrupts, expected 1", intx_count - before);
	ioapic_write(0x10 + 2 * GSI_INTX, 1u << 16);
}

/* Round trips, median of BENCH_SAMPLES, TSC ticks (lfence'd RDTSC pairs, the empty pair taken off). */
#define BENCH_SAMPLES 101
static uint64_t samples[BENCH_SAMPLES];
static volatile uint32_t bell_echo __attribute__((aligned(64)));

static inline uint64_t tsc_fenced(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t median(void)
{
	for (int i = 1; i < BENCH_SAMPLES; i++) /* insertion sort */
		for (int j = i; j > 0 && samples[j - 1] > samples[j]; j--) {
			uint64_t t = samples[j];
			samples[j] = samples[j - 1];
			samples[j - 1] = t;
		}
	return samples[BENCH_SAMPLES / 2];
}

static uint64_t measure(int what)
{
	for (int i = 0; i < BENCH_SAMPLES; i++) {
		uint64_t t0, t1;

		if (what == 6) { /* a doorbell, until the device model's store (through its window) shows */
			bell_echo = 0;
			t0 = tsc_fenced();
			outw(P_BELL, (uint16_t)i);
			while (!bell_echo)
				pause();
			samples[i] = tsc_fenced() - t0;
			continue;
		}
		if (what == 4) { /* an MSI the device model sends, until the handler's RDTSC */
			unsigned before = msi_count[0];
			sti();
			t0 = tsc_fenced();
			outb(P_CMD, CMD_MSI);
			while (msi_count[0] == before)
				pause();
			cli();
			samples[i] = msi_tsc - t0;
			continue;
		}
		t0 = tsc_fenced();
		if (what == 1)
			outb(P_SCRATCH, (uint8_t)i);
		else if (what == 2)
			(void)inb(P_SCRATCH);
		else if (what == 3)
			outw(P_BELL, (uint16_t)i);
		else if (what == 5)
			(void)inb(0x80); /* unclaimed: Keel's fast path */
		t1 = tsc_fenced();
		samples[i] = t1 - t0;
	}
	return median();
}

static void bench(void)
{
	static const char *const names[] = {
		"empty", "dm_out", "dm_in", "doorbell", "msi", "port_in", "doorbell_seen"
	};
	uint64_t base = measure(0);

	/* The device model maps this VM's RAM (its window) and stores its doorbell count here. */
	mw32(MMIO + M_ECHO, (uint32_t)(unsigned long)&bell_echo);
	for (int w = 0; w < 7; w++) {
		uint64_t m = measure(w);

		printf("BENCH %s %lu\n", names[w], (unsigned long)(w ? m - base : m));
	}
}

void test_main(void)
{
	unsigned long kill = cmdline_ulong("kill", 0), hold = cmdline_ulong("hold", 0);
	uint32_t magic;
	unsigned tries = 0;

	smp_init();
	map_uc(MMIO);
	map_uc(IOAPIC);
	smp_set_handler(V_MSI, msi_handler);
	smp_set_handler(V_INTX, intx_handler);
	smp_set_handler(V_TICK, tick_handler);
	/* The handshake: the management VM boots Linux and the device model claims the ports;
	 * until then they read all-ones. A read at each PIT tick (smp_init left it running), halted
	 * in between so that the wait costs the management VM no CPU time. */
	ioapic_write(0x11 + 2 * 2, 0);
	ioapic_write(0x10 + 2 * 2, V_TICK);
	while ((magic = inl(P_MAGIC)) == 0xffffffffu) {
		__asm__ volatile("sti; hlt; cli" : : : "memory");
		if (++tries % 2000 == 0)
			printf("still waiting for the device model (%u ticks)\n", ticks);
	}
	ioapic_write(0x10 + 2 * 2, 1u << 16);
	CHECK(magic == IOTEST_MAGIC, "port 0x500 reads 0x%x, expected 0x%x", magic, IOTEST_MAGIC);
	printf("device model answered after %u polls\n", tries);
	if (kill) {
		expect_crash("reading the port whose device model dies during the request");
		uint8_t v = inb(P_HANG);
		fail_now(GUEST_FAIL_SURVIVED, "the read returned 0x%x and the VM went on", v);
	}
	if (cmdline_ulong("bench", 0)) {
		bench();
		return;
	}
	if (cmdline_ulong("reset", 0)) {
		/* Not a crash: a reset, which ends a served VM instead of building it again. A guest
		 * that runs on (or runs again from its start, which prints the banner again) fails. */
		printf("resetting while served\n");
		outb(0xcf9, 0x02);
		outb(0xcf9, 0x06);
		fail_now(GUEST_FAIL_SURVIVED, "the reset did nothing");
	}
	if (hold) {
		expect_crash("the management VM ends while this VM waits for its device model");
		for (;;)
			inl(P_SCRATCH);
	}
	smp_start(ap_main);
	vcpu_checks(0);
	pci_checks();
	intx_checks();
	if (!smp_wait_for(&ap_done, 1, 60000))
		fail("vCPU 1 did not finish its checks");
	if (ap_fail_line)
		fail("check at ioreq.c:%u failed (value 0x%lx)", ap_fail_line, ap_fail_val);
	printf("checks done: MSIs %u+%u, INTx %u\n", msi_count[0], msi_count[1], intx_count);
}
