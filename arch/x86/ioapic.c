/* SPDX-License-Identifier: MIT */
/*
 * Host I/O APIC driver. Registers are reached through an index (IOREGSEL) and a data window
 * (IOWIN), so every access is a pair and runs under one lock (82093AA data sheet §3.1).
 */
#include "arch/x86/ioapic.h"

#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "kernel/log.h"
#include "kernel/spinlock.h"

#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_MMIO_LEN 0x20

#define IOAPIC_REG_ID	       0x00
#define IOAPIC_REG_VER	       0x01
#define IOAPIC_REG_RTE(n)      (0x10 + 2 * (n)) /* low dword; the high dword follows */
#define IOAPIC_VER_MAXREDIR(v) (((v) >> 16) & 0xff)

#define ISA_IRQS 16

struct ioapic {
	volatile u8 *regs;
	u32 id, gsi_base, nr_entries;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static u32 nr_ioapics;
static bool initialized;
static spinlock_t ioapic_lock = SPINLOCK_INIT;

struct ioapic_isa_route ioapic_isa_route(const struct acpi_madt_info *madt, u8 isa_irq)
{
	struct ioapic_isa_route r = { .gsi = isa_irq, .active_low = false, .level = false };

	for (u32 i = 0; i < madt->nr_overrides && i < ACPI_MAX_IRQ_OVERRIDES; i++) {
		const struct acpi_irq_override *o = &madt->overrides[i];

		if (o->bus != 0 || o->source_irq != isa_irq)
			continue;
		r.gsi = o->gsi;
		/* "Conforms to the bus": ISA is active high, edge triggered. */
		r.active_low = (o->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW;
		r.level = (o->flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_TRIGGER_LEVEL;
		break;
	}
	return r;
}

u64 ioapic_rte(struct ioapic_isa_route r, u8 vector, u32 dest_apic_id)
{
	u64 rte = vector | IOAPIC_RTE_DELIV_FIXED | ((u64)(dest_apic_id & 0xff) << IOAPIC_RTE_DEST_SHIFT);

	if (r.active_low)
		rte |= IOAPIC_RTE_ACTIVE_LOW;
	if (r.level)
		rte |= IOAPIC_RTE_LEVEL;
	return rte;
}

static u32 reg_read(const struct ioapic *a, u32 reg)
{
	mmio_write32(a->regs + IOAPIC_REGSEL, reg);
	return mmio_read32(a->regs + IOAPIC_WIN);
}

static void reg_write(const struct ioapic *a, u32 reg, u32 val)
{
	mmio_write32(a->regs + IOAPIC_REGSEL, reg);
	mmio_write32(a->regs + IOAPIC_WIN, val);
}

/* Caller holds ioapic_lock. Masks first, so a half-written entry is never live. */
static void rte_write(const struct ioapic *a, u32 n, u64 rte)
{
	spin_assert_held(&ioapic_lock);
	reg_write(a, IOAPIC_REG_RTE(n), (u32)IOAPIC_RTE_MASKED);
	reg_write(a, IOAPIC_REG_RTE(n) + 1, (u32)(rte >> 32));
	reg_write(a, IOAPIC_REG_RTE(n), (u32)rte);
}

int ioapic_init(void)
{
	const struct acpi_madt_info *madt = &acpi.madt;
	unsigned long flags;

	flags = spin_lock_irqsave(&ioapic_lock);
	if (initialized) {
		spin_unlock_irqrestore(&ioapic_lock, flags);
		return (int)nr_ioapics;
	}
	initialized = true;
	for (u32 i = 0; madt->present && i < madt->nr_ioapics && i < ACPI_MAX_IOAPICS; i++) {
		const struct acpi_ioapic *m = &madt->ioapics[i];
		struct ioapic *a = &ioapics[nr_ioapics];
		u32 ver;

		a->regs = ioremap(m->address, IOAPIC_MMIO_LEN, PTE_CACHE_UC);
		if (!a->regs) {
			pr_warn("ioapic: cannot map I/O APIC %u at %#x\n", m->id, m->address);
			continue;
		}
		ver = reg_read(a, IOAPIC_REG_VER);
		if (ver == ~0u) {
			pr_warn("ioapic: nothing answers at %#x (I/O APIC %u); ignored\n", m->address, m->id);
			continue;
		}
		a->id = m->id;
		a->gsi_base = m->gsi_base;
		a->nr_entries = IOAPIC_VER_MAXREDIR(ver) + 1;
		for (u32 n = 0; n < a->nr_entries; n++)
			rte_write(a, n, IOAPIC_RTE_MASKED);
		nr_ioapics++;
		pr_info("ioapic: I/O APIC %u at %#x, GSIs %u-%u, version %#x\n", a->id, m->address, a->gsi_base,
			a->gsi_base + a->nr_entries - 1, ver & 0xff);
	}
	spin_unlock_irqrestore(&ioapic_lock, flags);
	return (int)nr_ioapics;
}

static const struct ioapic *ioapic_for_gsi(u32 gsi, u32 *pin)
{
	for (u32 i = 0; i < nr_ioapics; i++) {
		const struct ioapic *a = &ioapics[i];

		if (gsi >= a->gsi_base && gsi - a->gsi_base < a->nr_entries) {
			*pin = gsi - a->gsi_base;
			return a;
		}
	}
	return NULL;
}

int ioapic_route_isa_irq(u8 isa_irq, u8 vector, u32 dest_apic_id)
{
	struct ioapic_isa_route r;
	const struct ioapic *a;
	unsigned long flags;
	u32 pin;

	if (ioapic_init() <= 0)
		return -ENOSYS;
	if (isa_irq >= ISA_IRQS)
		return -EINVAL;
	/* Physical destination mode carries 8 bits of APIC ID; 0xff is the broadcast ID. */
	if (dest_apic_id >= 0xff)
		return -ERANGE;
	r = ioapic_isa_route(&acpi.madt, isa_irq);
	a = ioapic_for_gsi(r.gsi, &pin);
	if (!a)
		return -ENOENT;
	flags = spin_lock_irqsave(&ioapic_lock);
	rte_write(a, pin, ioapic_rte(r, vector, dest_apic_id));
	spin_unlock_irqrestore(&ioapic_lock, flags);
	pr_info("ioapic: ISA IRQ %u -> GSI %u (I/O APIC %u pin %u, %s, active %s) -> vector %#x on APIC ID %u\n",
		isa_irq, r.gsi, a->id, pin, r.level ? "level" : "edge", r.active_low ? "low" : "high", vector,
		dest_apic_id);
	return 0;
}

void ioapic_mask_isa_irq(u8 isa_irq)
{
	struct ioapic_isa_route r = ioapic_isa_route(&acpi.madt, isa_irq);
	const struct ioapic *a;
	unsigned long flags;
	u32 pin;

	a = ioapic_for_gsi(r.gsi, &pin);
	if (!a)
		return;
	flags = spin_lock_irqsave(&ioapic_lock);
	rte_write(a, pin, IOAPIC_RTE_MASKED);
	spin_unlock_irqrestore(&ioapic_lock, flags);
}
