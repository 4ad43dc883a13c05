// SPDX-License-Identifier: MIT
/* AP start-up, the local APIC, IPIs and TSC time for the test guests (see smp.h). */
#include "guest.h"
#include "smp.h"

#define MSR_APIC_BASE	    0x0000001bu
#define APIC_BASE_BSP	    (1ull << 8)
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_EN	    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0xfffff000ull
#define CPUID_1_EDX_APIC    (1u << 9)

#define PIT_CH0		 0x40
#define PIT_CMD		 0x43
#define PIT_CH0_RATE_GEN 0x34 /* channel 0, lobyte/hibyte, mode 2 */
#define PIT_CH0_LATCH	 0x00
#define PIT_HZ		 1193182u
#define CAL_MS		 50
#define CAL_PIT_TICKS	 (PIT_HZ * CAL_MS / 1000)
#define CAL_STUCK_POLLS	 100000 /* PIT reads without a change before we call it stopped */

#define PTE_P	0x001u
#define PTE_W	0x002u
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_PS	0x080u

#define INIT_DELAY_US 10000 /* INIT to SIPI (MP spec B.4) */
#define SIPI_DELAY_US 200   /* between the two SIPIs */
#define ICR_IDLE_MS   100   /* bound on the ICR's delivery status */

_Static_assert(offsetof(struct smp_tramp_params, cr0) == TP_CR0, "TP_CR0");
_Static_assert(offsetof(struct smp_tramp_params, cr3) == TP_CR3, "TP_CR3");
_Static_assert(offsetof(struct smp_tramp_params, cr4) == TP_CR4, "TP_CR4");
_Static_assert(offsetof(struct smp_tramp_params, efer) == TP_EFER, "TP_EFER");
_Static_assert(offsetof(struct smp_tramp_params, stack) == TP_STACK, "TP_STACK");
_Static_assert(offsetof(struct smp_tramp_params, entry) == TP_ENTRY, "TP_ENTRY");
_Static_assert(offsetof(struct smp_tramp_params, gdtr) == TP_GDTR, "TP_GDTR");
_Static_assert(offsetof(struct smp_tramp_params, idtr) == TP_IDTR, "TP_IDTR");
_Static_assert(sizeof(struct smp_tramp_params) == TP_SIZE, "TP_SIZE");

#define GATE_INTERRUPT 0x8e
#define IDT_ENTRIES    256
#define SMP_STUBS      (SMP_VECTOR_LAST - SMP_VECTOR_FIRST + 2)

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uintptr_t base;
};

extern const char ap_tramp_start[], ap_tramp_end[], ap_tramp_params[];
extern const uintptr_t smp_stubs[SMP_STUBS];

void smp_irq(unsigned long vector);
__attribute__((noreturn)) void smp_ap_entry(void);

unsigned smp_ncpus = 1;
volatile unsigned smp_online[SMP_MAX_CPUS];
volatile unsigned smp_spurious[SMP_MAX_CPUS];
uint64_t tsc_per_ms;

static struct idt_gate smp_idt[IDT_ENTRIES] __attribute__((aligned(16)));
static smp_handler_t handlers[SMP_VECTOR_LAST - SMP_VECTOR_FIRST + 1];
static void (*volatile ap_fn)(unsigned cpu);
static uint8_t ap_stacks[SMP_MAX_CPUS][SMP_AP_STACK_SIZE] __attribute__((aligned(16)));
static char cmdline_copy[256];

bool smp_x2apic;
static uint32_t icr_hi[SMP_MAX_CPUS]; /* x2APIC: the destination, written with ICR_LO as one MSR */

/* xAPIC: the MMIO page; x2APIC (SDM vol. 3A §11.12.1.2): MSR 0x800 + offset / 16, where the ICR
 * is one 64-bit MSR with the destination in bits 63:32. */
uint32_t lapic_read(unsigned reg)
{
	if (smp_x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR(reg));
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

void lapic_write(unsigned reg, uint32_t val)
{
	if (!smp_x2apic) {
		*(volatile uint32_t *)(LAPIC_BASE + reg) = val;
		return;
	}
	unsigned cpu = (unsigned)rdmsr(X2APIC_MSR(LAPIC_ID)) % SMP_MAX_CPUS;
	if (reg == LAPIC_ICR_HI)
		icr_hi[cpu] = val;
	else if (reg == LAPIC_ICR_LO)
		wrmsr(X2APIC_MSR(LAPIC_ICR_LO), (uint64_t)icr_hi[cpu] << 32 | val);
	else
		wrmsr(X2APIC_MSR(reg), val);
}

unsigned smp_cpu(void)
{
	/* The x2APIC ID register holds the whole 32-bit ID; the xAPIC one has it in bits 31:24. */
	return smp_x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
}

uint64_t udiv64(uint64_t n, uint64_t d)
{
	uint64_t q = 0, r = 0;
	for (int bit = 63; bit >= 0; bit--) {
		r = (r << 1) | ((n >> bit) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << bit;
		}
	}
	return q;
}

uint64_t tsc_after_us(uint64_t us)
{
	return rdtsc() + udiv64(us * tsc_per_ms, 1000);
}

uint64_t tsc_to_us(uint64_t ticks)
{
	return udiv64(ticks * 1000, tsc_per_ms);
}

void udelay(uint64_t us)
{
	uint64_t end = tsc_after_us(us);
	while (rdtsc() < end)
		pause();
}

bool smp_wait_for(const volatile unsigned *flag, unsigned want, unsigned timeout_ms)
{
	uint64_t end = tsc_after_us((uint64_t)timeout_ms * 1000);
	while (*flag < want) {
		if (rdtsc() > end)
			return *flag >= want;
		pause();
	}
	return true;
}

void lapic_send_ipi(unsigned dest, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, smp_x2apic ? dest : dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	uint64_t end = tsc_after_us(ICR_IDLE_MS * 1000);
	while (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING) {
		if (rdtsc() > end)
			fail_now(GUEST_FAIL, "cpu %u: IPI 0x%x to %u still pending after %u ms", smp_cpu(), icr_lo,
				 dest, ICR_IDLE_MS);
		pause();
	}
}

void smp_set_handler(unsigned vector, smp_handler_t fn)
{
	if (vector < SMP_VECTOR_FIRST || vector > SMP_VECTOR_LAST)
		fail_now(GUEST_FAIL, "smp_set_handler: vector 0x%x outside 0x%x-0x%x", vector, SMP_VECTOR_FIRST,
			 SMP_VECTOR_LAST);
	handlers[vector - SMP_VECTOR_FIRST] = fn;
}

void smp_irq(unsigned long vector)
{
	unsigned cpu = smp_cpu();
	if (cpu >= SMP_MAX_CPUS)
		fail_now(GUEST_FAIL, "interrupt 0x%lx on a CPU with APIC ID %u", vector, cpu);
	if (vector == SMP_VECTOR_SPURIOUS) {
		smp_spurious[cpu]++; /* no EOI for the spurious vector (SDM vol 3A, 11.9) */
		return;
	}
	smp_handler_t h = handlers[vector - SMP_VECTOR_FIRST];
	if (!h)
		fail_now(GUEST_FAIL_EXCEPTION, "cpu %u: unexpected interrupt, vector 0x%lx", cpu, vector);
	h(cpu, (unsigned)vector);
	lapic_write(LAPIC_EOI, 0);
}

static unsigned long read_cr3(void)
{
	unsigned long v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static void write_cr3(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/* The runtime's identity map stops at 1 GiB: add the local APIC's page, uncached. */
void lapic_map(void)
{
#ifdef __x86_64__
	static uint64_t apic_pd[512] __attribute__((aligned(4096)));
	uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
	uint64_t *pde = &pdpt[LAPIC_BASE >> 30];
	if (!(*pde & PTE_P))
		*pde = (uintptr_t)apic_pd | PTE_P | PTE_W;
	uint64_t *pd = (uint64_t *)(uintptr_t)(*pde & ~0xfffull);
	pd[(LAPIC_BASE >> 21) & 511] = (LAPIC_BASE & ~0x1ffffful) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	write_cr3(read_cr3());
#else
	if (!(read_cr0() & CR0_PG))
		return;
	uint32_t *pd = (uint32_t *)(read_cr3() & ~0xffful);
	pd[LAPIC_BASE >> 22] = (LAPIC_BASE & ~0x3ffffful) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	write_cr3(read_cr3());
#endif
}

static uint16_t pit_count(void)
{
	outb(PIT_CMD, PIT_CH0_LATCH);
	uint8_t lo = inb(PIT_CH0);
	uint8_t hi = inb(PIT_CH0);
	return (uint16_t)(lo | hi << 8);
}

/* TSC ticks per millisecond, over CAL_MS of PIT channel 0 (mode 2, reload 65536, polled far more
 * often than its 55 ms period). */
static void calibrate_tsc(void)
{
	outb(PIT_CMD, PIT_CH0_RATE_GEN);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
	uint16_t prev = pit_count();
	unsigned long polls = 0;
	while (pit_count() == prev)
		if (++polls == CAL_STUCK_POLLS)
			fail_now(GUEST_FAIL, "smp: PIT channel 0 does not count (read 0x%x %lu times)", prev, polls);
	prev = pit_count();
	uint64_t t0 = rdtsc();
	uint32_t elapsed = 0;
	while (elapsed < CAL_PIT_TICKS) {
		uint16_t now = pit_count();
		elapsed += (uint16_t)(prev - now);
		prev = now;
	}
	uint64_t t1 = rdtsc();
	tsc_per_ms = udiv64((t1 - t0) * PIT_HZ, (uint64_t)elapsed * 1000);
	if (!tsc_per_ms)
		fail_now(GUEST_FAIL, "smp: the TSC does not advance (%llu ticks in %u ms)",
			 (unsigned long long)(t1 - t0), CAL_MS);
}

static void set_gate(unsigned vector, uintptr_t handler, uint16_t sel)
{
	struct idt_gate *g = &smp_idt[vector];
	g->off0 = (uint16_t)handler;
	g->sel = sel;
	g->type = GATE_INTERRUPT;
	g->off1 = (uint16_t)(handler >> 16);
#ifdef __x86_64__
	g->off2 = (uint32_t)(handler >> 32);
#endif
}

/* A 256-entry copy of the runtime's IDT plus the SMP vectors; the APs load it too. */
static void install_idt(void)
{
	struct desc_ptr old;
	uint16_t cs;
	__asm__ volatile("sidt %0" : "=m"(old));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (old.limit + 1u <= sizeof(smp_idt))
		memcpy(smp_idt, (const void *)old.base, old.limit + 1u);
	for (unsigned i = 0; i < SMP_STUBS - 1; i++)
		set_gate(SMP_VECTOR_FIRST + i, smp_stubs[i], cs);
	set_gate(SMP_VECTOR_SPURIOUS, smp_stubs[SMP_STUBS - 1], cs);
	struct desc_ptr idtr = { sizeof(smp_idt) - 1, (uintptr_t)smp_idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Software-enable this CPU's local APIC with the spurious vector; no interrupt source but IPIs.
 * With smp_x2apic, first switch it to x2APIC mode (EN and EXTD in IA32_APIC_BASE, §11.12.1). */
static void lapic_enable(void)
{
	if (smp_x2apic)
		wrmsr(MSR_APIC_BASE, (rdmsr(MSR_APIC_BASE) & ~0xfffull) | APIC_BASE_EN | APIC_BASE_X2APIC |
					 (rdmsr(MSR_APIC_BASE) & 0x100));
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SMP_VECTOR_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
}

void smp_init(void)
{
	/* The trampoline page must not hold the command line we still read. */
	const char *cl = boot.cmdline;
	if ((uintptr_t)cl < SMP_TRAMP_BASE + 0x1000 && (uintptr_t)cl + strlen(cl) >= SMP_TRAMP_BASE) {
		size_t n = strlen(cl) < sizeof(cmdline_copy) - 1 ? strlen(cl) : sizeof(cmdline_copy) - 1;
		memcpy(cmdline_copy, cl, n);
		boot.cmdline = cmdline_copy;
	}
	unsigned long n = cmdline_ulong("cpus", 1);
	if (n < 1 || n > SMP_MAX_CPUS)
		fail_now(GUEST_FAIL, "smp: cpus=%lu outside 1..%u", n, SMP_MAX_CPUS);
	smp_ncpus = (unsigned)n;

	if (!(cpuid(1, 0).edx & CPUID_1_EDX_APIC))
		fail_now(GUEST_FAIL, "smp: CPUID.1:EDX reports no local APIC");
	uint64_t apic_base;
	if (rdmsr_safe(MSR_APIC_BASE, &apic_base) < 0) {
		if (apic_base & APIC_BASE_X2APIC)
			fail_now(GUEST_FAIL, "smp: the local APIC is in x2APIC mode (IA32_APIC_BASE 0x%llx)",
				 (unsigned long long)apic_base);
		if ((apic_base & APIC_BASE_ADDR_MASK) != LAPIC_BASE)
			fail_now(GUEST_FAIL, "smp: the local APIC is at 0x%llx, not 0x%lx",
				 (unsigned long long)(apic_base & APIC_BASE_ADDR_MASK), LAPIC_BASE);
		if (!(apic_base & APIC_BASE_EN))
			wrmsr(MSR_APIC_BASE, apic_base | APIC_BASE_EN);
	}

	if (cmdline_ulong("x2apic", 0)) {
		if (!(cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC))
			fail_now(GUEST_FAIL, "smp: x2apic=1, but CPUID.1:ECX does not offer x2APIC");
		smp_x2apic = true;
	}
	pic_init();
	calibrate_tsc();
	lapic_map();
	install_idt();
	lapic_enable();
	smp_online[0] = 1;
	unsigned id = smp_cpu();
	if (id != 0)
		fail_now(GUEST_FAIL, "smp: the BSP has APIC ID %u, expected 0", id);
}

void smp_ap_entry(void)
{
	lapic_enable();
	unsigned cpu = smp_cpu();
	if (cpu < SMP_MAX_CPUS) {
		__atomic_add_fetch(&smp_online[cpu], 1, __ATOMIC_SEQ_CST);
		ap_fn(cpu);
	}
	for (;;)
		__asm__ volatile("cli; hlt");
}

void smp_start(void (*fn)(unsigned cpu))
{
	if (smp_ncpus < 2)
		return;
	size_t size = (size_t)(ap_tramp_end - ap_tramp_start);
	if (size > 0x1000)
		fail_now(GUEST_FAIL, "smp: the trampoline is %zu bytes, more than a page", size);
	ap_fn = fn;
	memcpy((void *)SMP_TRAMP_BASE, ap_tramp_start, size);
	struct smp_tramp_params *p =
	    (struct smp_tramp_params *)(SMP_TRAMP_BASE + (uintptr_t)(ap_tramp_params - ap_tramp_start));
	p->cr0 = (uint32_t)read_cr0();
	p->cr3 = (uint32_t)read_cr3();
	p->cr4 = (uint32_t)read_cr4();
#ifdef __x86_64__
	p->efer = (uint32_t)(rdmsr(MSR_EFER) & ~EFER_LMA);
#endif
	p->entry = (uintptr_t)smp_ap_entry;
	__asm__ volatile("sgdt %0" : "=m"(p->gdtr));
	__asm__ volatile("sidt %0" : "=m"(p->idtr));

	/* One AP at a time: each gets the stack the parameter block names when it starts. */
	for (unsigned k = 1; k < smp_ncpus; k++) {
		p->stack = (uintptr_t)&ap_stacks[k][SMP_AP_STACK_SIZE];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		lapic_write(LAPIC_ESR, 0);
		lapic_send_ipi(k, ICR_INIT | ICR_LEVEL_ASSERT);
		udelay(INIT_DELAY_US);
		lapic_send_ipi(k, ICR_STARTUP | (SMP_TRAMP_BASE >> 12));
		udelay(SIPI_DELAY_US);
		lapic_send_ipi(k, ICR_STARTUP | (SMP_TRAMP_BASE >> 12));
		if (!smp_wait_for(&smp_online[k], 1, SMP_START_TIMEOUT_MS))
			fail_now(GUEST_FAIL, "AP %u did not start within %u ms of INIT-SIPI-SIPI", k,
				 SMP_START_TIMEOUT_MS);
	}
}
