/* SPDX-License-Identifier: MIT */
/* The boot log's account of what ACPI described. */
#include "drivers/acpi/acpi_hw.h"
#include "kernel/log.h"

static const char *space_name(u8 space_id)
{
	switch (space_id) {
	case ACPI_GAS_MEMORY:
		return "mem";
	case ACPI_GAS_IO:
		return "io";
	case ACPI_GAS_PCI_CONFIG:
		return "pci";
	default:
		return "?";
	}
}

static void print_madt(const struct acpi_madt_info *m)
{
	u32 online_capable = 0, i;

	if (!m->present)
		return;
	for (i = 0; i < m->nr_cpus; i++)
		online_capable += m->cpus[i].online_capable;
	pr_info("ACPI: %u CPUs (%u enabled, %u online-capable), %u IOAPIC%s, %u IRQ overrides, "
		"%u NMI sources, local APIC at %#llx%s\n",
		m->nr_cpus, m->nr_cpus_enabled, online_capable, m->nr_ioapics, m->nr_ioapics == 1 ? "" : "s",
		m->nr_overrides, m->nr_nmi_sources, (unsigned long long)m->lapic_address,
		m->pcat_compat ? ", PC-AT PICs" : "");
	if (m->dropped_cpus || m->dropped_ioapics || m->dropped_overrides || m->dropped_nmi_sources ||
	    m->dropped_lapic_nmis)
		pr_warn("ACPI: MADT entries over the limits ignored: %u CPUs, %u IOAPICs, "
			"%u overrides, %u NMI sources, %u local APIC NMIs\n",
			m->dropped_cpus, m->dropped_ioapics, m->dropped_overrides, m->dropped_nmi_sources,
			m->dropped_lapic_nmis);
	if (m->truncated)
		pr_warn("ACPI: MADT was malformed; only the entries before the fault were used\n");
}

static void print_fadt(const struct acpi_fadt_info *f)
{
	if (!f->present)
		return;
	if (f->pm_timer.address)
		pr_info("ACPI: PM timer %s %#llx (%s), SCI IRQ %u, boot arch %#x\n", space_name(f->pm_timer.space_id),
			(unsigned long long)f->pm_timer.address, f->pm_timer_32bit ? "32-bit" : "24-bit", f->sci_irq,
			f->iapc_boot_arch);
	else
		pr_info("ACPI: no PM timer, SCI IRQ %u, boot arch %#x\n", f->sci_irq, f->iapc_boot_arch);
	if (f->reset_supported)
		pr_info("ACPI: reset register %s %#llx value %#x\n", space_name(f->reset_reg.space_id),
			(unsigned long long)f->reset_reg.address, f->reset_value);
	else
		pr_info("ACPI: no reset register\n");
	if (f->s5_valid) {
		const struct acpi_gas *g = f->hw_reduced ? &f->sleep_control : &f->pm1a_cnt;

		pr_info("ACPI: poweroff via %s %s %#llx, S5 SLP_TYP %u/%u\n",
			f->hw_reduced ? "SLEEP_CONTROL" : "PM1a_CNT", space_name(g->space_id),
			(unsigned long long)g->address, f->slp_typa, f->slp_typb);
	}
}

void acpi_print_summary(void)
{
	const struct acpi_hpet_info *h = &acpi.hpet;
	u32 i;

	if (!acpi.present) {
		pr_warn("ACPI: no tables\n");
		return;
	}
	pr_info("ACPI: RSDP revision %u (%s), %s at %#llx\n", acpi.rsdp_revision, acpi.oem_id,
		acpi.root_is_xsdt ? "XSDT" : "RSDT", (unsigned long long)acpi.root_pa);
	for (i = 0; i < acpi.nr_tables; i++) {
		const struct acpi_table_info *t = &acpi.tables[i];

		pr_info("ACPI: %s %#010llx %6u (v%02u %-6s %-8s)%s\n", t->sig, (unsigned long long)t->pa, t->length,
			t->revision, t->oem_id, t->oem_table_id, t->valid ? "" : " invalid, ignored");
	}
	if (acpi.dropped_tables)
		pr_warn("ACPI: %u more tables not examined (limit %u)\n", acpi.dropped_tables, ACPI_MAX_TABLES);
	print_madt(&acpi.madt);
	print_fadt(&acpi.fadt);
	if (h->present)
		pr_info("ACPI: HPET at %#llx, %u comparators, %s counter\n", (unsigned long long)h->address,
			h->comparators, h->counter_64bit ? "64-bit" : "32-bit");
}
