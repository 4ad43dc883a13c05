/* SPDX-License-Identifier: MIT */
/*
 * The ACPI parser on tables captured from QEMU 7.2 (tests/unit/data/acpi/, see capture.py there):
 * SeaBIOS pc and q35 with 1, 4 and 4-of-8 CPUs (RSDT), and OVMF q35 (XSDT and RSDT), plus the
 * BIOS-area RSDP scan. The corrupted-table tests are in test_acpi_corrupt.c.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "acpi_fake.h"
#include "kernel/log.h"

int acpi_corrupt_tests(void);

/* Numbers QEMU 7.2 puts in its tables (hw/i386/acpi-build.c and the PIIX4/ICH9 models). */
#define QEMU_LAPIC	0xfee00000
#define QEMU_IOAPIC	0xfec00000
#define QEMU_HPET	0xfed00000
#define QEMU_PM_BASE	0x600
#define QEMU_SCI	9
#define QEMU_SMI_CMD	0xb2
#define Q35_RESET_PORT	0xcf9
#define Q35_RESET_VALUE 0x0f
#define QEMU_CENTURY	0x32

/* What every QEMU machine has, whatever the chipset and CPU count. */
static void check_qemu_common(u32 cpus, u32 enabled)
{
	const struct acpi_madt_info *m = &acpi.madt;
	const struct acpi_fadt_info *f = &acpi.fadt;
	u32 i;

	assert_true(acpi.present);
	assert_int_equal(shim_log_count[LOG_WARN] + shim_log_count[LOG_ERR], 0);

	assert_true(m->present);
	assert_false(m->truncated);
	assert_true(m->pcat_compat);
	assert_int_equal(m->lapic_address, QEMU_LAPIC);
	assert_int_equal(m->nr_cpus, cpus);
	assert_int_equal(m->nr_cpus_enabled, enabled);
	for (i = 0; i < cpus; i++) {
		assert_int_equal(m->cpus[i].apic_id, i);
		assert_int_equal(m->cpus[i].uid, i);
		assert_int_equal(m->cpus[i].enabled, i < enabled);
		assert_false(m->cpus[i].online_capable); /* MADT revision 1 */
		assert_false(m->cpus[i].x2apic);
	}
	assert_int_equal(m->nr_ioapics, 1);
	assert_int_equal(m->ioapics[0].id, 0);
	assert_int_equal(m->ioapics[0].address, QEMU_IOAPIC);
	assert_int_equal(m->ioapics[0].gsi_base, 0);
	/* IRQ0 -> GSI2 (edge, conforming), then the level-triggered PCI links 5, 9, 10, 11. */
	assert_int_equal(m->nr_overrides, 5);
	assert_int_equal(m->overrides[0].bus, 0);
	assert_int_equal(m->overrides[0].source_irq, 0);
	assert_int_equal(m->overrides[0].gsi, 2);
	assert_int_equal(m->overrides[0].flags, 0);
	assert_int_equal(m->overrides[1].source_irq, 5);
	assert_int_equal(m->overrides[1].gsi, 5);
	assert_int_equal(m->overrides[1].flags & ACPI_INTI_TRIGGER_MASK, ACPI_INTI_TRIGGER_LEVEL);
	assert_int_equal(m->overrides[1].flags & ACPI_INTI_POLARITY_MASK, ACPI_INTI_POLARITY_HIGH);
	assert_int_equal(m->overrides[4].source_irq, 11);
	assert_int_equal(m->nr_nmi_sources, 0);
	assert_int_equal(m->nr_lapic_nmis, 1);
	assert_int_equal(m->lapic_nmis[0].uid, ACPI_UID_ALL);
	assert_int_equal(m->lapic_nmis[0].lint, 1);
	assert_int_equal(m->dropped_cpus + m->dropped_ioapics + m->dropped_overrides, 0);

	assert_true(f->present);
	assert_int_equal(f->sci_irq, QEMU_SCI);
	assert_int_equal(f->smi_cmd, QEMU_SMI_CMD);
	assert_int_equal(f->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_evt.address, QEMU_PM_BASE);
	assert_int_equal(f->pm1a_cnt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_cnt.address, QEMU_PM_BASE + 4);
	assert_int_equal(f->pm1a_cnt.bit_width, 16);
	assert_int_equal(f->pm1b_cnt.address, 0);
	assert_int_equal(f->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm_timer.address, QEMU_PM_BASE + 8);
	assert_int_equal(f->pm_timer.bit_width, 32);
	assert_int_equal(f->pm_timer_port, QEMU_PM_BASE + 8);
	assert_false(f->pm_timer_32bit);
	assert_int_equal(f->century, QEMU_CENTURY);
	assert_false(f->hw_reduced);
	assert_true(f->s5_valid);
	assert_int_equal(f->slp_typa, 0);
	assert_int_equal(f->slp_typb, 0);
	assert_non_null(fake_find("FACS"));
	assert_int_equal(f->facs, fake_find("FACS")->pa);
	assert_int_equal(f->dsdt, fake_find("DSDT")->pa);

	assert_true(acpi.hpet.present);
	assert_int_equal(acpi.hpet.address, QEMU_HPET);
	assert_int_equal(acpi.hpet.comparators, 3);
	assert_true(acpi.hpet.counter_64bit);
	assert_true(acpi.hpet.legacy_replacement);
	assert_int_equal(acpi.hpet.pci_vendor, 0x8086);

	for (i = 0; i < acpi.nr_tables; i++)
		assert_true(acpi.tables[i].valid);
	assert_int_equal(acpi.dropped_tables, 0);
}

static void check_pc(u32 cpus, u32 enabled)
{
	const struct acpi_fadt_info *f = &acpi.fadt;

	check_qemu_common(cpus, enabled);
	assert_false(acpi.root_is_xsdt);
	assert_int_equal(acpi.rsdp_revision, 0);
	assert_string_equal(acpi.oem_id, "BOCHS ");
	assert_int_equal(acpi.root_pa, fake_find("RSDT")->pa);
	/* PIIX4: an ACPI 1.0 FADT, so no reset register and no boot architecture flags. */
	assert_int_equal(f->revision, 1);
	assert_false(f->reset_supported);
	assert_int_equal(f->iapc_boot_arch, 0);
	assert_int_equal(f->acpi_enable, 0xf1);
	assert_int_equal(f->acpi_disable, 0xf0);
	/* RSDT, FACP, DSDT (found through the FADT), APIC, HPET, WAET. */
	assert_int_equal(acpi.nr_tables, 6);
	assert_string_equal(acpi.tables[0].sig, "RSDT");
	assert_string_equal(acpi.tables[1].sig, "FACP");
	assert_string_equal(acpi.tables[2].sig, "DSDT");
	assert_string_equal(acpi.tables[3].sig, "APIC");
	assert_string_equal(acpi.tables[3].oem_table_id, "BXPC    ");
	assert_null(acpi_get_table("MCFG", NULL));
}

static void check_q35(u32 cpus, u32 enabled)
{
	const struct acpi_fadt_info *f = &acpi.fadt;
	u32 len = 0;

	check_qemu_common(cpus, enabled);
	/* ICH9: ACPI 2.0+ FADT with X_ blocks and the 0xCF9 reset register. */
	assert_int_equal(f->revision, 3);
	assert_true(f->reset_supported);
	assert_int_equal(f->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.bit_width, 8);
	assert_int_equal(f->reset_reg.address, Q35_RESET_PORT);
	assert_int_equal(f->reset_value, Q35_RESET_VALUE);
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_ARCH_8042);
	assert_int_equal(f->acpi_enable, 0x02);
	assert_int_equal(f->acpi_disable, 0x03);
	assert_non_null(acpi_get_table("MCFG", &len));
	assert_int_equal(len, 60);
}

static void test_pc_smp1(void **state)
{
	fake_load("pc-smp1");
	assert_int_equal(fake_init(), 0);
	check_pc(1, 1);
}

static void test_pc_smp4(void **state)
{
	fake_load("pc-smp4");
	assert_int_equal(fake_init(), 0);
	check_pc(4, 4);
}

static void test_pc_smp4max8(void **state)
{
	fake_load("pc-smp4max8");
	assert_int_equal(fake_init(), 0);
	check_pc(8, 4);
}

static void test_q35_smp1(void **state)
{
	fake_load("q35-smp1");
	assert_int_equal(fake_init(), 0);
	check_q35(1, 1);
	assert_false(acpi.root_is_xsdt);
}

static void test_q35_smp4(void **state)
{
	fake_load("q35-smp4");
	assert_int_equal(fake_init(), 0);
	check_q35(4, 4);
}

static void test_q35_smp4max8(void **state)
{
	fake_load("q35-smp4max8");
	assert_int_equal(fake_init(), 0);
	check_q35(8, 4);
}

/* OVMF: a revision-2 RSDP with both an XSDT (preferred) and an RSDT. */
static void test_ovmf_xsdt(void **state)
{
	fake_load("q35-ovmf-smp4");
	assert_int_equal(cap.rsdp_len, 36);
	assert_int_equal(fake_init(), 0);
	check_q35(4, 4);
	assert_true(acpi.root_is_xsdt);
	assert_int_equal(acpi.rsdp_revision, 2);
	assert_int_equal(acpi.root_pa, fake_find("XSDT")->pa);
	/* XSDT, FACP, DSDT, APIC, HPET, MCFG, WAET, BGRT. */
	assert_int_equal(acpi.nr_tables, 8);
	assert_string_equal(acpi.tables[0].sig, "XSDT");
	assert_string_equal(acpi.tables[7].sig, "BGRT");
	/* OVMF fills both DSDT fields; X_DSDT is the one used. */
	assert_int_equal(acpi.fadt.dsdt, 0x0f77a000);
}

/* The same firmware through the RSDT: a loader that only passed the 20-byte ACPI 1.0 part. */
static void test_ovmf_rsdt(void **state)
{
	fake_load("q35-ovmf-smp4");
	assert_int_equal(acpi_init(cap.rsdp, 20), 0);
	assert_true(shim_log_contains("only 20 bytes given; using the RSDT"));
	assert_false(acpi.root_is_xsdt);
	assert_int_equal(acpi.root_pa, fake_find("RSDT")->pa);
	assert_int_equal(acpi.madt.nr_cpus_enabled, 4);
	assert_true(acpi.fadt.reset_supported);
	assert_true(acpi.fadt.s5_valid);
	assert_true(acpi.hpet.present);
}

/* Running twice gives the same answer (nothing accumulates across calls). */
static void test_init_twice(void **state)
{
	fake_load("q35-smp4");
	assert_int_equal(fake_init(), 0);
	assert_int_equal(fake_init(), 0);
	check_q35(4, 4);
}

static void test_summary(void **state)
{
	fake_load("q35-smp4max8");
	assert_int_equal(fake_init(), 0);
	acpi_print_summary();
	assert_true(shim_log_contains("RSDP revision 0 (BOCHS ), RSDT at 0xffe252c"));
	assert_true(shim_log_contains("ACPI: APIC 0x0ffe23e0    176 (v01 BOCHS  BXPC    )\n"));
	assert_true(shim_log_contains("8 CPUs (4 enabled, 0 online-capable), 1 IOAPIC, "
				      "5 IRQ overrides"));
	assert_true(shim_log_contains("PM timer io 0x608 (24-bit), SCI IRQ 9"));
	assert_true(shim_log_contains("reset register io 0xcf9 value 0xf"));
	assert_true(shim_log_contains("S5 SLP_TYP 0/0"));
	assert_true(shim_log_contains("HPET at 0xfed00000, 3 comparators, 64-bit counter"));
	assert_int_equal(shim_log_count[LOG_WARN] + shim_log_count[LOG_ERR], 0);

	/* And with nothing parsed. */
	assert_int_equal(acpi_init(NULL, 0), -ENOENT);
	shim_log_reset();
	acpi_print_summary();
	assert_true(shim_log_contains("ACPI: no tables"));
}

/* ---- BIOS-area RSDP scan (multiboot1) ---- */

#define LOW_MEM	  0x100000
#define BDA_EBDA  0x40e
#define EBDA_SEG  0x9fc0 /* SeaBIOS's EBDA at 0x9fc00 */
#define EBDA_BASE (EBDA_SEG << 4)

static u8 *low_mem(u16 ebda_seg)
{
	u8 *low = fake_add(0, NULL, LOW_MEM, "LOW")->buf;

	memcpy(low + BDA_EBDA, &ebda_seg, sizeof(ebda_seg));
	return low;
}

static void test_bios_scan_fseg(void **state)
{
	u8 out[36];
	u32 len = 0;
	u8 *low;

	fake_load("pc-smp4");
	low = low_mem(EBDA_SEG);
	memcpy(low + cap.rsdp_pa, cap.rsdp, cap.rsdp_len);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_int_equal(len, 20);
	assert_memory_equal(out, cap.rsdp, 20);
	/* The multiboot1 path end to end. */
	assert_int_equal(acpi_init(out, len), 0);
	check_pc(4, 4);
}

static void test_bios_scan_v2(void **state)
{
	u8 out[36];
	u32 len = 0;
	u8 *low;

	fake_load("q35-ovmf-smp4");
	low = low_mem(EBDA_SEG);
	memcpy(low + 0xf0000, cap.rsdp, cap.rsdp_len);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_int_equal(len, 36);
	assert_memory_equal(out, cap.rsdp, 36);
	assert_int_equal(acpi_init(out, len), 0);
	assert_true(acpi.root_is_xsdt);
}

/* The EBDA is searched first; misaligned copies and bad checksums are passed over. */
static void test_bios_scan_order(void **state)
{
	u8 out[36], decoy[20];
	u32 len = 0;
	u8 *low;

	fake_load("pc-smp1");
	low = low_mem(EBDA_SEG);
	memcpy(decoy, cap.rsdp, 20);
	decoy[8]++; /* bad checksum */
	memcpy(low + EBDA_BASE, decoy, 20);
	memcpy(low + EBDA_BASE + 0x28, cap.rsdp, 20); /* not 16-byte aligned */
	memcpy(low + EBDA_BASE + 0x40, cap.rsdp, 20);
	memcpy(low + EBDA_BASE + 0x40 + 9, "EBDA!!", 6); /* OEM ID marks this copy */
	low[EBDA_BASE + 0x40 + 8] = 0;
	low[EBDA_BASE + 0x40 + 8] = (u8)-acpi_checksum(low + EBDA_BASE + 0x40, 20);
	memcpy(low + cap.rsdp_pa, cap.rsdp, 20);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_memory_equal(out + 9, "EBDA!!", 6);

	/* Without the aligned EBDA copy, the F segment's. */
	memset(low + EBDA_BASE + 0x40, 0, 20);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_memory_equal(out, cap.rsdp, 20);

	/* An EBDA pointer into the video window or beyond 1 MiB is not followed. */
	memcpy(low + EBDA_BASE + 0x40, out, 20);
	memcpy(low + EBDA_BASE + 0x49, "EBDA!!", 6);
	low[EBDA_BASE + 0x40 + 8] = 0;
	low[EBDA_BASE + 0x40 + 8] = (u8)-acpi_checksum(low + EBDA_BASE + 0x40, 20);
	memcpy(low + BDA_EBDA, &(u16){ 0xffff }, 2);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_memory_equal(out, cap.rsdp, 20);
}

static void test_bios_scan_none(void **state)
{
	u8 out[36];
	u32 len = 0;
	u8 *low;

	fake_load("pc-smp1");
	/* No low memory at all: acpi_map() says NULL. */
	assert_int_equal(acpi_find_rsdp_bios(out, &len), -ENOENT);

	low = low_mem(0);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), -ENOENT);
	/* Right at the end of the BIOS area: no room for 20 bytes, and no reading past 1 MiB. */
	memcpy(low + LOW_MEM - 16, "RSD PTR ", 8);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), -ENOENT);
	/* A revision-2 RSDP with room for only 32 bytes: its 20-byte part is taken. */
	memset(low + LOW_MEM - 16, 0, 16);
	memcpy(low + LOW_MEM - 32, cap.rsdp, 20);
	low[LOW_MEM - 32 + 15] = 2;
	low[LOW_MEM - 32 + 8] = 0;
	low[LOW_MEM - 32 + 8] = (u8)-acpi_checksum(low + LOW_MEM - 32, 20);
	assert_int_equal(acpi_find_rsdp_bios(out, &len), 0);
	assert_int_equal(len, 20);
	/* acpi_init() then uses the RSDT, with a warning. */
	assert_int_equal(acpi_init(out, len), 0);
	assert_true(shim_log_contains("using the RSDT"));
	assert_int_equal(acpi.madt.nr_cpus, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pc_smp1, fake_teardown),
		cmocka_unit_test_teardown(test_pc_smp4, fake_teardown),
		cmocka_unit_test_teardown(test_pc_smp4max8, fake_teardown),
		cmocka_unit_test_teardown(test_q35_smp1, fake_teardown),
		cmocka_unit_test_teardown(test_q35_smp4, fake_teardown),
		cmocka_unit_test_teardown(test_q35_smp4max8, fake_teardown),
		cmocka_unit_test_teardown(test_ovmf_xsdt, fake_teardown),
		cmocka_unit_test_teardown(test_ovmf_rsdt, fake_teardown),
		cmocka_unit_test_teardown(test_init_twice, fake_teardown),
		cmocka_unit_test_teardown(test_summary, fake_teardown),
		cmocka_unit_test_teardown(test_bios_scan_fseg, fake_teardown),
		cmocka_unit_test_teardown(test_bios_scan_v2, fake_teardown),
		cmocka_unit_test_teardown(test_bios_scan_order, fake_teardown),
		cmocka_unit_test_teardown(test_bios_scan_none, fake_teardown),
	};
	int failed = cmocka_run_group_tests_name("acpi: captured tables", tests, NULL, NULL);

	return failed + acpi_corrupt_tests();
}
