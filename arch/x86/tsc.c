/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency. CPUID leaf 0x15 (crystal ratio) or 0x16 (base MHz) when the CPU reports them
 * (Intel SDM vol. 2A CPUID), otherwise measured against the best reference present: HPET, the
 * ACPI PM timer, or PIT channel 2.
 */
#include "arch/x86/tsc.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "drivers/acpi/acpi.h"
#include "kernel/log.h"
#include "kernel/options.h"

u64 tsc_khz;
static u64 tsc_base;
static u64 ns_mult; /* ns = ticks * ns_mult >> 32 */

u64 time_ns(void)
{
	u64 t;

	if (!tsc_khz)
		return 0;
	t = rdtsc() - tsc_base;
	return (u64)(((unsigned __int128)t * ns_mult) >> 32);
}

u64 tsc_to_ns(u64 tsc)
{
	if (!tsc_khz || tsc < tsc_base)
		return 0;
	return (u64)(((unsigned __int128)(tsc - tsc_base) * ns_mult) >> 32);
}

void udelay(u64 us)
{
	u64 end;

	if (!tsc_khz) {
		/* Before calibration: about 1 µs per port 0x80 write on PC hardware. */
		while (us--)
			outb(0x80, 0);
		return;
	}
	end = rdtsc() + us * tsc_khz / 1000;
	while ((s64)(rdtsc() - end) < 0)
		cpu_relax();
}

static u64 tsc_khz_from_cpuid(const char **how)
{
	u32 max = cpuid(0, 0).eax;

	if (max >= 0x15) {
		struct cpuid_regs r = cpuid(0x15, 0);

		if (r.eax && r.ebx && r.ecx) {
			*how = "CPUID 0x15";
			return (u64)r.ecx * r.ebx / r.eax / 1000;
		}
	}
	if (max >= 0x16) {
		struct cpuid_regs r = cpuid(0x16, 0);

		if (r.eax & 0xffff) {
			*how = "CPUID 0x16";
			return (u64)(r.eax & 0xffff) * 1000;
		}
	}
	return 0;
}

#define CAL_MS 20

/* HPET (IA-PC HPET spec 1.0a §2.3): general capabilities, configuration, main counter. */
#define HPET_CAP	   0x000
#define HPET_CONFIG	   0x010
#define HPET_COUNTER	   0x0f0
#define HPET_CONFIG_ENABLE 1

static u64 calibrate_hpet(void)
{
	volatile u8 *h;
	u64 period_fs, ticks, c0, t0, t1;

	if (!acpi.hpet.present)
		return 0;
	h = ioremap(acpi.hpet.address, 0x400, PTE_CACHE_UC);
	if (!h)
		return 0;
	period_fs = mmio_read64(h + HPET_CAP) >> 32;
	if (period_fs == 0 || period_fs > 100000000) /* spec: at most 100 ns */
		return 0;
	mmio_write64(h + HPET_CONFIG, mmio_read64(h + HPET_CONFIG) | HPET_CONFIG_ENABLE);
	ticks = (u64)CAL_MS * 1000000000000ULL / period_fs;
	c0 = mmio_read64(h + HPET_COUNTER);
	t0 = rdtsc();
	while (mmio_read64(h + HPET_COUNTER) - c0 < ticks)
		cpu_relax();
	t1 = rdtsc();
	return (t1 - t0) / CAL_MS;
}

#define PMTMR_HZ 3579545

static u64 calibrate_pmtimer(void)
{
	u32 mask, c0, ticks = PMTMR_HZ / 1000 * CAL_MS;
	u64 t0, t1;

	if (!acpi.fadt.pm_timer_port)
		return 0;
	mask = acpi.fadt.pm_timer_32bit ? 0xffffffff : 0xffffff;
	c0 = inl(acpi.fadt.pm_timer_port) & mask;
	t0 = rdtsc();
	while (((inl(acpi.fadt.pm_timer_port) - c0) & mask) < ticks)
		cpu_relax();
	t1 = rdtsc();
	return (t1 - t0) / CAL_MS;
}

/* PIT channel 2 in mode 0 with the gate through port 0x61 (8254 data sheet). */
#define PIT_HZ	1193182
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_61 0x61

static u64 calibrate_pit(void)
{
	u32 count = PIT_HZ / 1000 * CAL_MS;
	u64 t0, t1;

	outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01); /* gate on, speaker off */
	outb(PIT_CMD, 0xb0);			      /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	t0 = rdtsc();
	while (!(inb(PORT_61) & 0x20)) /* OUT2 goes high at terminal count */
		cpu_relax();
	t1 = rdtsc();
	return (t1 - t0) / CAL_MS;
}

void tsc_init(void)
{
	const char *how = NULL;
	int src = opts.tsc_source;
	u64 khz = 0;

	if (src == TSC_SRC_AUTO || src == TSC_SRC_CPUID)
		khz = tsc_khz_from_cpuid(&how);
	if (!khz && (src == TSC_SRC_AUTO || src == TSC_SRC_HPET) && (khz = calibrate_hpet()))
		how = "HPET";
	if (!khz && (src == TSC_SRC_AUTO || src == TSC_SRC_PMTIMER) && (khz = calibrate_pmtimer()))
		how = "ACPI PM timer";
	if (!khz && (src == TSC_SRC_AUTO || src == TSC_SRC_PIT) && (khz = calibrate_pit()))
		how = "PIT";
	if (!khz && src != TSC_SRC_AUTO) {
		pr_warn("tsc: the chosen tsc_source gives no frequency; trying every source\n");
		opts.tsc_source = TSC_SRC_AUTO;
		tsc_init();
		return;
	}
	if (!khz) {
		khz = 1000000;
		how = "a guess (no reference timer)";
	}
	tsc_base = rdtsc();
	ns_mult = (1000000ULL << 32) / khz;
	tsc_khz = khz;
	pr_info("tsc: %llu.%03llu MHz (%s)%s\n", (unsigned long long)(khz / 1000), (unsigned long long)(khz % 1000),
		how, cpuid(0x80000007, 0).edx & CPUID80000007_EDX_INVTSC ? ", invariant" : "");
}
