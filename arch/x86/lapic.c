/* SPDX-License-Identifier: MIT */
/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (Intel SDM vol. 3A ch. 11). */
#include "arch/x86/lapic.h"

#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/selftest.h"

/* Register offsets in xAPIC MMIO; the x2APIC MSR is 0x800 + offset / 16 (SDM §11.12.1.2). */
#define APIC_ID		0x020
#define APIC_VERSION	0x030
#define APIC_TPR	0x080
#define APIC_EOI	0x0b0
#define APIC_SVR	0x0f0
#define APIC_ESR	0x280
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_LVT_TIMER	0x320
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_LVT_ERROR	0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR	0x390
#define APIC_TIMER_DIV	0x3e0

#define APIC_BASE_EXTD	    (1ULL << 10)
#define APIC_BASE_EN	    (1ULL << 11)
#define APIC_BASE_ADDR_MASK 0xffffff000ULL
#define SVR_ENABLE	    (1u << 8)
#define LVT_MASKED	    (1u << 16)
#define LVT_TIMER_PERIODIC  (1u << 17)
#define ICR_BUSY	    (1u << 12)
#define TIMER_DIV_16	    0x3

static volatile u8 *xapic;
static bool x2apic;
static bool ready;
static u32 timer_ticks_per_ms;

static u32 apic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(0x800 + (reg >> 4));
	return mmio_read32(xapic + reg);
}

static void apic_write(u32 reg, u32 v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio_write32(xapic + reg, v);
}

bool lapic_ready(void)
{
	return ready;
}

bool lapic_x2apic(void)
{
	return x2apic;
}

static void set_mode(void)
{
	u64 base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;

	wrmsr(MSR_APIC_BASE, base);
	if (x2apic)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

int lapic_init(hpa_t madt_lapic_addr)
{
	struct cpuid_regs r = cpuid(1, 0);
	bool has_x2 = r.ecx & CPUID1_ECX_X2APIC;
	hpa_t pa;

	if (!(r.edx & CPUID1_EDX_APIC)) {
		pr_err("lapic: this CPU has no local APIC\n");
		return -ENOSYS;
	}
	if (opts.x2apic == OPT_ON && !has_x2)
		pr_warn("lapic: x2apic=on but the CPU has no x2APIC; using xAPIC\n");
	/* Already in x2APIC mode (firmware): stay there, leaving it needs a full disable. */
	x2apic = has_x2 && (opts.x2apic != OPT_OFF || (rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD));
	if (!x2apic) {
		pa = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
		if (madt_lapic_addr && madt_lapic_addr != pa)
			pr_warn("lapic: MADT says %#llx, APIC_BASE says %#llx; using the MSR\n",
				(unsigned long long)madt_lapic_addr, (unsigned long long)pa);
		xapic = ioremap(pa, PAGE_SIZE, PTE_CACHE_UC);
		if (!xapic)
			return -ENOMEM;
	}
	set_mode();
	ready = true;
	pr_info("lapic: %s mode, BSP APIC ID %u, version %#x\n", x2apic ? "x2APIC" : "xAPIC", lapic_id(),
		apic_read(APIC_VERSION) & 0xff);
	return 0;
}

static void lapic_error_irq(struct trap_frame *f)
{
	u32 esr;

	apic_write(APIC_ESR, 0);
	esr = apic_read(APIC_ESR);
	pr_warn("lapic: error interrupt on CPU %u, ESR %#x\n", this_cpu()->cpu, esr);
	lapic_eoi();
}

static void lapic_spurious_irq(struct trap_frame *f)
{
	/* No EOI for a spurious interrupt (SDM §11.9). */
}

static void lapic_timer_irq(struct trap_frame *f)
{
	this_cpu()->timer_ticks++;
	lapic_eoi();
	if (__builtin_expect(selftest_panic_at != 0, 0))
		selftest_timer_panic();
}

static void lapic_kick_irq(struct trap_frame *f)
{
	/* Nothing to do here: the interrupt made the CPU leave the guest or HLT, and the scheduler
	 * loop looks at its run queue next. */
	lapic_eoi();
}

void lapic_init_cpu(void)
{
	set_mode();
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_ERROR, VEC_LAPIC_ERROR);
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	apic_write(APIC_ESR, 0);
	apic_write(APIC_ESR, 0);
	if (this_cpu()->cpu == 0) {
		irq_set_handler(VEC_LAPIC_ERROR, lapic_error_irq);
		irq_set_handler(VEC_SPURIOUS, lapic_spurious_irq);
		irq_set_handler(VEC_TIMER, lapic_timer_irq);
		irq_set_handler(VEC_KICK, lapic_kick_irq);
	}
}

u32 lapic_id(void)
{
	return x2apic ? apic_read(APIC_ID) : apic_read(APIC_ID) >> 24;
}

void lapic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

void lapic_send_ipi(u32 apic_id, u32 icr_low)
{
	if (x2apic) {
		wrmsr(0x800 + (APIC_ICR_LO >> 4), ((u64)apic_id << 32) | icr_low);
		return;
	}
	apic_write(APIC_ICR_HI, apic_id << 24);
	apic_write(APIC_ICR_LO, icr_low);
	for (unsigned i = 0; i < 1000000 && (apic_read(APIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
}

void lapic_send_nmi_all_but_self(void)
{
	lapic_send_ipi(0, ICR_NMI | ICR_LEVEL_ASSERT | ICR_DEST_ALL_BUT_SELF);
}

void lapic_timer_start(u32 hz)
{
	if (!timer_ticks_per_ms) {
		u64 end;

		/* Count the timer down for 10 ms of TSC time. */
		apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
		apic_write(APIC_LVT_TIMER, LVT_MASKED);
		apic_write(APIC_TIMER_INIT, 0xffffffff);
		end = rdtsc() + tsc_khz * 10;
		while ((s64)(rdtsc() - end) < 0)
			cpu_relax();
		timer_ticks_per_ms = (0xffffffff - apic_read(APIC_TIMER_CUR)) / 10;
		apic_write(APIC_TIMER_INIT, 0);
		if (!timer_ticks_per_ms)
			timer_ticks_per_ms = 1;
		pr_info("lapic: timer %u kHz (divide by 16)\n", timer_ticks_per_ms);
	}
	apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_PERIODIC);
	apic_write(APIC_TIMER_INIT, MAX(1u, timer_ticks_per_ms * 1000 / hz));
}

void lapic_timer_oneshot(u64 ns)
{
	u64 ticks;

	if (!ns) {
		apic_write(APIC_TIMER_INIT, 0); /* stops the count (SDM §11.5.4) */
		return;
	}
	/* ticks_per_ms < 2^32 and ns is clamped below, so the product fits in 64 bits. */
	ticks = MIN(ns, 60000000000ull) * timer_ticks_per_ms / 1000000;
	apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, VEC_TIMER);
	apic_write(APIC_TIMER_INIT, (u32)MIN(MAX(ticks, 1ull), 0xffffffffull));
}
