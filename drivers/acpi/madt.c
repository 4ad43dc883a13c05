/* SPDX-License-Identifier: MIT */
/*
 * MADT (ACPI 6.4 §5.2.12): processors, IOAPICs, interrupt source overrides and NMI wiring.
 * Every entry's length is checked before it is read; a malformed one ends the walk (its length
 * cannot be trusted to find the next) and what came before it is kept.
 */
#include "drivers/acpi/acpi_hw.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define XAPIC_ID_NONE	  0xffu /* a Local APIC entry with this ID describes no processor */
#define X2APIC_ID_NONE	  0xffffffffu
#define LAPIC_NMI_UID_ALL 0xffu
#define LINT_MAX	  1 /* LINT0 and LINT1 */

/* Smallest valid length of each entry type this parser reads; 0: not read, skipped. */
static const u8 entry_min_len[] = {
	[ACPI_MADT_LAPIC] = sizeof(struct acpi_madt_lapic),
	[ACPI_MADT_IOAPIC] = sizeof(struct acpi_madt_ioapic),
	[ACPI_MADT_IRQ_OVERRIDE] = sizeof(struct acpi_madt_irq_override),
	[ACPI_MADT_NMI_SOURCE] = sizeof(struct acpi_madt_nmi_source),
	[ACPI_MADT_LAPIC_NMI] = sizeof(struct acpi_madt_lapic_nmi),
	[ACPI_MADT_LAPIC_OVERRIDE] = sizeof(struct acpi_madt_lapic_override),
	[ACPI_MADT_X2APIC] = sizeof(struct acpi_madt_x2apic),
	[ACPI_MADT_X2APIC_NMI] = sizeof(struct acpi_madt_x2apic_nmi),
};

static const char *const entry_name[] = {
	[ACPI_MADT_LAPIC] = "Local APIC",
	[ACPI_MADT_IOAPIC] = "I/O APIC",
	[ACPI_MADT_IRQ_OVERRIDE] = "Interrupt Source Override",
	[ACPI_MADT_NMI_SOURCE] = "NMI Source",
	[ACPI_MADT_LAPIC_NMI] = "Local APIC NMI",
	[ACPI_MADT_LAPIC_OVERRIDE] = "Local APIC Address Override",
	[ACPI_MADT_X2APIC] = "Local x2APIC",
	[ACPI_MADT_X2APIC_NMI] = "Local x2APIC NMI",
};

static void add_cpu(struct acpi_madt_info *m, u32 apic_id, u32 uid, u32 flags, bool x2apic)
{
	struct acpi_cpu *c;
	bool enabled = flags & ACPI_MADT_ENABLED;
	u32 i;

	if (apic_id == (x2apic ? X2APIC_ID_NONE : XAPIC_ID_NONE)) {
		if (enabled)
			pr_warn("ACPI: MADT: enabled processor UID %u has the invalid APIC ID %#x, "
				"ignored\n",
				uid, apic_id);
		return;
	}
	for (i = 0; i < m->nr_cpus; i++) {
		if (m->cpus[i].apic_id == apic_id) {
			pr_warn("ACPI: MADT: APIC ID %#x listed twice (UIDs %u and %u), second ignored\n", apic_id,
				m->cpus[i].uid, uid);
			return;
		}
	}
	if (m->nr_cpus >= ACPI_MAX_CPUS) {
		m->dropped_cpus++;
		return;
	}
	c = &m->cpus[m->nr_cpus++];
	c->apic_id = apic_id;
	c->uid = uid;
	c->enabled = enabled;
	/* Before revision 5 the bit was reserved; a disabled CPU then may or may not be hot-added. */
	c->online_capable =
	    !enabled && m->revision >= ACPI_MADT_ONLINE_CAPABLE_REV && (flags & ACPI_MADT_ONLINE_CAPABLE);
	c->x2apic = x2apic;
	if (enabled)
		m->nr_cpus_enabled++;
}

static void add_lapic_nmi(struct acpi_madt_info *m, u32 uid, u16 flags, u8 lint)
{
	struct acpi_lapic_nmi *n;

	if (lint > LINT_MAX) {
		pr_warn("ACPI: MADT: Local APIC NMI on LINT%u does not exist, ignored\n", lint);
		return;
	}
	if (m->nr_lapic_nmis >= ACPI_MAX_LAPIC_NMIS) {
		m->dropped_lapic_nmis++;
		return;
	}
	n = &m->lapic_nmis[m->nr_lapic_nmis++];
	n->uid = uid;
	n->flags = flags;
	n->lint = lint;
}

static void parse_ioapic(struct acpi_madt_info *m, const struct acpi_madt_ioapic *e)
{
	struct acpi_ioapic *io;

	if (!e->address) {
		pr_warn("ACPI: MADT: I/O APIC %u at address 0, ignored\n", e->id);
		return;
	}
	if (m->nr_ioapics >= ACPI_MAX_IOAPICS) {
		m->dropped_ioapics++;
		return;
	}
	io = &m->ioapics[m->nr_ioapics++];
	io->id = e->id;
	io->address = e->address;
	io->gsi_base = e->gsi_base;
}

static void parse_override(struct acpi_madt_info *m, const struct acpi_madt_irq_override *e)
{
	struct acpi_irq_override *o;

	if (m->nr_overrides >= ACPI_MAX_IRQ_OVERRIDES) {
		m->dropped_overrides++;
		return;
	}
	o = &m->overrides[m->nr_overrides++];
	o->bus = e->bus;
	o->source_irq = e->source;
	o->flags = e->flags;
	o->gsi = e->gsi;
}

static void parse_nmi_source(struct acpi_madt_info *m, const struct acpi_madt_nmi_source *e)
{
	if (m->nr_nmi_sources >= ACPI_MAX_NMI_SOURCES) {
		m->dropped_nmi_sources++;
		return;
	}
	m->nmi_sources[m->nr_nmi_sources].flags = e->flags;
	m->nmi_sources[m->nr_nmi_sources].gsi = e->gsi;
	m->nr_nmi_sources++;
}

/* e is known to be at least entry_min_len[e->type] bytes long. */
static void parse_entry(struct acpi_madt_info *m, const struct acpi_madt_entry *e)
{
	switch (e->type) {
	case ACPI_MADT_LAPIC: {
		const struct acpi_madt_lapic *l = (const void *)e;

		add_cpu(m, l->apic_id, l->uid, l->flags, false);
		break;
	}
	case ACPI_MADT_X2APIC: {
		const struct acpi_madt_x2apic *x = (const void *)e;

		add_cpu(m, x->x2apic_id, x->uid, x->flags, true);
		break;
	}
	case ACPI_MADT_IOAPIC:
		parse_ioapic(m, (const void *)e);
		break;
	case ACPI_MADT_IRQ_OVERRIDE:
		parse_override(m, (const void *)e);
		break;
	case ACPI_MADT_NMI_SOURCE:
		parse_nmi_source(m, (const void *)e);
		break;
	case ACPI_MADT_LAPIC_NMI: {
		const struct acpi_madt_lapic_nmi *n = (const void *)e;

		add_lapic_nmi(m, n->uid == LAPIC_NMI_UID_ALL ? ACPI_UID_ALL : n->uid, n->flags, n->lint);
		break;
	}
	case ACPI_MADT_X2APIC_NMI: {
		const struct acpi_madt_x2apic_nmi *n = (const void *)e;

		add_lapic_nmi(m, n->uid, n->flags, n->lint);
		break;
	}
	case ACPI_MADT_LAPIC_OVERRIDE: {
		const struct acpi_madt_lapic_override *o = (const void *)e;

		if (o->address) {
			m->lapic_address = o->address;
			m->lapic_overridden = true;
		}
		break;
	}
	default:
		break; /* GIC, RINTC and other architectures' entries: not ours */
	}
}

static void report_drops(const char *what, u32 dropped, u32 limit)
{
	if (dropped)
		pr_warn("ACPI: MADT: %u %s entries beyond the limit of %u ignored\n", dropped, what, limit);
}

void acpi_parse_madt(const struct acpi_sdt_header *h, u32 len)
{
	struct acpi_madt_info *m = &acpi.madt;
	const struct acpi_madt *madt = (const void *)h;
	const u8 *base = (const u8 *)h;
	u32 off = sizeof(*madt);

	if (len < sizeof(*madt)) {
		pr_warn("ACPI: MADT: length %u is too short for its fixed fields, ignored\n", len);
		return;
	}
	memset(m, 0, sizeof(*m));
	m->present = true;
	m->revision = h->revision;
	m->lapic_address = madt->lapic_address;
	m->pcat_compat = madt->flags & ACPI_MADT_PCAT_COMPAT;

	while (off < len) {
		const struct acpi_madt_entry *e = (const void *)(base + off);
		u32 left = len - off;
		u8 min;

		if (left < sizeof(*e)) {
			pr_warn("ACPI: MADT: %u stray byte at offset %u, ignored\n", left, off);
			m->truncated = true;
			break;
		}
		if (e->length < sizeof(*e) || e->length > left) {
			pr_warn("ACPI: MADT: entry type %u at offset %u has length %u (%u bytes left); "
				"this and later entries ignored\n",
				e->type, off, e->length, left);
			m->truncated = true;
			break;
		}
		min = e->type < ARRAY_SIZE(entry_min_len) ? entry_min_len[e->type] : 0;
		if (e->length < min) {
			pr_warn("ACPI: MADT: %s entry at offset %u has length %u, needs %u; "
				"this and later entries ignored\n",
				entry_name[e->type], off, e->length, min);
			m->truncated = true;
			break;
		}
		if (min)
			parse_entry(m, e);
		off += e->length;
	}

	report_drops("processor", m->dropped_cpus, ACPI_MAX_CPUS);
	report_drops("I/O APIC", m->dropped_ioapics, ACPI_MAX_IOAPICS);
	report_drops("interrupt override", m->dropped_overrides, ACPI_MAX_IRQ_OVERRIDES);
	report_drops("NMI source", m->dropped_nmi_sources, ACPI_MAX_NMI_SOURCES);
	report_drops("local APIC NMI", m->dropped_lapic_nmis, ACPI_MAX_LAPIC_NMIS);
	if (!m->nr_cpus_enabled)
		pr_warn("ACPI: MADT lists no enabled processor\n");
}
