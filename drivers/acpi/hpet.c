/* SPDX-License-Identifier: MIT */
/* HPET description table (IA-PC HPET specification 1.0a §3.2.4). */
#include "drivers/acpi/acpi_hw.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

/*
 * Event Timer Block ID: a copy of the low half of the block's General Capabilities register
 * (§2.3.4): the comparator field holds the number of the last timer, so the count is one more.
 */
#define HPET_ID_COMPARATORS_SHIFT  8
#define HPET_ID_COMPARATORS_MASK   0x1f
#define HPET_ID_COUNTER_64BIT	   (1u << 13)
#define HPET_ID_LEGACY_REPLACEMENT (1u << 15)
#define HPET_ID_VENDOR_SHIFT	   16

void acpi_parse_hpet(const struct acpi_sdt_header *h, u32 len)
{
	struct acpi_hpet_info *hp = &acpi.hpet;
	const struct acpi_hpet *t = (const void *)h;
	u32 id;

	if (len < sizeof(*t)) {
		pr_warn("ACPI: HPET: length %u, needs %u, ignored\n", len, (u32)sizeof(*t));
		return;
	}
	if (t->base_address.space_id != ACPI_GAS_MEMORY) {
		pr_warn("ACPI: HPET: registers in address space %u, not memory, ignored\n", t->base_address.space_id);
		return;
	}
	if (!t->base_address.address) {
		pr_warn("ACPI: HPET: null base address, ignored\n");
		return;
	}
	id = t->event_timer_block_id;
	memset(hp, 0, sizeof(*hp));
	hp->present = true;
	hp->address = t->base_address.address;
	hp->hpet_number = t->hpet_number;
	hp->comparators = (u8)(((id >> HPET_ID_COMPARATORS_SHIFT) & HPET_ID_COMPARATORS_MASK) + 1);
	hp->counter_64bit = id & HPET_ID_COUNTER_64BIT;
	hp->legacy_replacement = id & HPET_ID_LEGACY_REPLACEMENT;
	hp->pci_vendor = (u16)(id >> HPET_ID_VENDOR_SHIFT);
	hp->min_tick = t->min_tick;
}
