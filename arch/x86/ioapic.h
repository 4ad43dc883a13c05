/* SPDX-License-Identifier: MIT */
/*
 * The host's I/O APICs (82093AA data sheet; ACPI 6.4 §5.2.12.3 and §5.2.12.5 for the MADT
 * entries that describe them). Keel routes only what it uses itself (the console UART's IRQ);
 * every other redirection entry stays masked.
 */
#ifndef KEEL_IOAPIC_H
#define KEEL_IOAPIC_H

#include "drivers/acpi/acpi.h"
#include "kernel/types.h"

/* Redirection table entry bits (82093AA §3.2.4). */
#define IOAPIC_RTE_VECTOR_MASK	0xffull
#define IOAPIC_RTE_DELIV_FIXED	(0ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL (1ull << 11)
#define IOAPIC_RTE_ACTIVE_LOW	(1ull << 13)
#define IOAPIC_RTE_LEVEL	(1ull << 15)
#define IOAPIC_RTE_MASKED	(1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	56 /* physical destination: an 8-bit APIC ID */

/* Where an ISA IRQ arrives and how, after the MADT's interrupt source overrides. */
struct ioapic_isa_route {
	u32 gsi;
	bool active_low;
	bool level;
};

/*
 * ISA IRQ `isa_irq` as the MADT describes it: identity GSI, edge, active high, unless an
 * interrupt source override (bus 0) says otherwise; "conforms to the bus" means the ISA default.
 */
struct ioapic_isa_route ioapic_isa_route(const struct acpi_madt_info *madt, u8 isa_irq);
/* The redirection entry that delivers `r` as `vector` to the CPU with APIC ID `dest` (fixed,
 * physical destination), unmasked. */
u64 ioapic_rte(struct ioapic_isa_route r, u8 vector, u32 dest_apic_id);

/*
 * Maps every I/O APIC of the MADT and masks all of their redirection entries (the legacy 8259s
 * are masked already, arch/x86/pic.c). Idempotent; returns the number of usable I/O APICs.
 */
int ioapic_init(void);
/*
 * Routes ISA IRQ `isa_irq` to `vector` on the CPU with APIC ID `dest_apic_id`, honouring the
 * MADT's overrides. 0, -ENOSYS (no I/O APIC), -ENOENT (no I/O APIC has that GSI) or -ERANGE (the
 * APIC ID does not fit the entry's 8-bit destination: that would need interrupt remapping).
 */
int ioapic_route_isa_irq(u8 isa_irq, u8 vector, u32 dest_apic_id);
/* Masks the entry of ISA IRQ `isa_irq` again. */
void ioapic_mask_isa_irq(u8 isa_irq);

#endif
