/* SPDX-License-Identifier: MIT */
/*
 * The MADT parser on damaged and extended copies of QEMU's MADT: table-level damage (checksum,
 * lengths), malformed entries (zero length, past the end, shorter than their type), bad IDs,
 * entry types QEMU does not emit, and more entries than the arrays hold.
 */
#include "shim.h"

#include <string.h>

#include "acpi_fake.h"
#include "kernel/log.h"

int acpi_madt_tests(void);

static void test_madt_bad_checksum(void **state)
{
	u32 i;

	fake_load("pc-smp4");
	fake_find("APIC")->buf[37] ^= 1;
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("APIC at 0xffe1acb: bad checksum (bytes sum to 0x1), ignored"));
	assert_true(fake_warned("no usable MADT"));
	assert_false(acpi.madt.present);
	assert_int_equal(acpi.madt.nr_cpus, 0);
	/* The other tables are unaffected. */
	assert_true(acpi.fadt.present);
	assert_true(acpi.hpet.present);
	for (i = 0; i < acpi.nr_tables; i++)
		assert_int_equal(acpi.tables[i].valid, strcmp(acpi.tables[i].sig, "APIC") != 0);
	acpi_print_summary();
	assert_true(shim_log_contains("ACPI: APIC 0x0ffe1acb    144 (v01 BOCHS  BXPC    ) invalid"));
}

static void test_madt_bad_lengths(void **state)
{
	struct fake_region *r;

	fake_load("pc-smp4");
	fake_put32(fake_find("APIC")->buf + 4, 20);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("APIC at 0xffe1acb: length 20 is shorter than the header, ignored"));
	assert_false(acpi.madt.present);

	fake_load("pc-smp4");
	fake_put32(fake_find("APIC")->buf + 4, 144 + 100);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("APIC at 0xffe1acb: length 244 runs past mapped memory, ignored"));
	assert_false(acpi.madt.present);

	fake_load("pc-smp4");
	fake_put32(fake_find("APIC")->buf + 4, 0x80000000);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("APIC at 0xffe1acb: length 2147483648 is over the 1048576-byte limit"));
	assert_false(acpi.madt.present);

	/* A checksummed MADT too short for the local APIC address and flags. */
	fake_load("pc-smp4");
	r = fake_relocate("APIC", 40);
	fake_fix_checksum(r);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("MADT: length 40 is too short for its fixed fields, ignored"));
	assert_false(acpi.madt.present);
}

/* pc-smp4's MADT: 4 Local APIC (44..75), I/O APIC (76), 5 overrides (88..137), LAPIC NMI (138). */
#define PC4_CPU2      60
#define PC4_IOAPIC    76
#define PC4_LAPIC_NMI 138

static void test_madt_entry_zero_length(void **state)
{
	struct fake_region *m;

	fake_load("pc-smp4");
	m = fake_find("APIC");
	assert_int_equal(m->buf[PC4_CPU2], ACPI_MADT_LAPIC);
	m->buf[PC4_CPU2 + 1] = 0;
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("MADT: entry type 0 at offset 60 has length 0 (84 bytes left); "
				"this and later entries ignored"));
	/* What came before is kept. */
	assert_true(acpi.madt.present);
	assert_true(acpi.madt.truncated);
	assert_int_equal(acpi.madt.nr_cpus, 2);
	assert_int_equal(acpi.madt.nr_ioapics, 0);
	acpi_print_summary();
	assert_true(fake_warned("MADT was malformed"));
}

static void test_madt_entry_past_end(void **state)
{
	struct fake_region *m;

	fake_load("pc-smp4");
	m = fake_find("APIC");
	assert_int_equal(m->buf[PC4_LAPIC_NMI], ACPI_MADT_LAPIC_NMI);
	m->buf[PC4_LAPIC_NMI + 1] = 0x20;
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("entry type 4 at offset 138 has length 32 (6 bytes left)"));
	assert_true(acpi.madt.truncated);
	assert_int_equal(acpi.madt.nr_cpus, 4);
	assert_int_equal(acpi.madt.nr_overrides, 5);
	assert_int_equal(acpi.madt.nr_lapic_nmis, 0);

	/* A single stray byte after the last entry. */
	fake_load("pc-smp4");
	m = fake_relocate("APIC", 145);
	m->buf[144] = ACPI_MADT_LAPIC;
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("MADT: 1 stray byte at offset 144"));
	assert_int_equal(acpi.madt.nr_lapic_nmis, 1);
}

static void test_madt_entry_too_short(void **state)
{
	struct fake_region *m;

	fake_load("pc-smp4");
	m = fake_find("APIC");
	assert_int_equal(m->buf[PC4_IOAPIC], ACPI_MADT_IOAPIC);
	m->buf[PC4_IOAPIC + 1] = 8;
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("MADT: I/O APIC entry at offset 76 has length 8, needs 12"));
	assert_int_equal(acpi.madt.nr_cpus, 4);
	assert_int_equal(acpi.madt.nr_ioapics, 0);
	assert_int_equal(acpi.madt.nr_overrides, 0);
}

static void test_madt_bad_ids(void **state)
{
	struct fake_region *m;

	fake_load("pc-smp4");
	m = fake_find("APIC");
	m->buf[PC4_CPU2 + 3] = 1;		/* CPU 2 claims APIC ID 1 */
	m->buf[PC4_CPU2 + 8 + 3] = 0xff;	/* CPU 3: the "no processor" ID, yet enabled */
	fake_put32(m->buf + PC4_IOAPIC + 4, 0); /* IOAPIC at address 0 */
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("APIC ID 0x1 listed twice (UIDs 1 and 2), second ignored"));
	assert_true(fake_warned("enabled processor UID 3 has the invalid APIC ID 0xff"));
	assert_true(fake_warned("I/O APIC 0 at address 0, ignored"));
	assert_int_equal(acpi.madt.nr_cpus, 2);
	assert_int_equal(acpi.madt.nr_ioapics, 0);
	assert_int_equal(acpi.madt.nr_overrides, 5);
}

static u8 *add_entry(u8 *p, u8 type, u8 len)
{
	memset(p, 0, len);
	p[0] = type;
	p[1] = len;
	return p + len;
}

/* Entry types QEMU 7.2 TCG does not produce: x2APIC, x2APIC NMI, NMI source, address override. */
static void test_madt_more_entry_types(void **state)
{
	struct fake_region *m;
	u8 *p;

	fake_load("pc-smp4");
	m = fake_relocate("APIC", 144 + 16 + 12 + 8 + 12 + 4 + 16);
	p = m->buf + 144;
	p = add_entry(p, ACPI_MADT_X2APIC, 16);
	fake_put32(p - 12, 0x100); /* x2APIC ID */
	fake_put32(p - 8, ACPI_MADT_ENABLED);
	fake_put32(p - 4, 8); /* UID */
	p = add_entry(p, ACPI_MADT_X2APIC_NMI, 12);
	fake_put32(p - 8, 8);
	p[-4] = 0; /* LINT0 */
	p = add_entry(p, ACPI_MADT_NMI_SOURCE, 8);
	p[-6] = ACPI_INTI_TRIGGER_LEVEL;
	fake_put32(p - 4, 23);
	p = add_entry(p, ACPI_MADT_LAPIC_OVERRIDE, 12);
	fake_put64(p - 8, 0xfee10000);
	p = add_entry(p, 0x7f, 4);  /* unknown types are skipped by length */
	p = add_entry(p, 0x10, 16); /* multiprocessor wakeup: not read */
	assert_ptr_equal(p, m->buf + m->len);
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_int_equal(shim_log_count[LOG_WARN], 0);
	assert_int_equal(acpi.madt.nr_cpus, 5);
	assert_int_equal(acpi.madt.nr_cpus_enabled, 5);
	assert_true(acpi.madt.cpus[4].x2apic);
	assert_int_equal(acpi.madt.cpus[4].apic_id, 0x100);
	assert_int_equal(acpi.madt.cpus[4].uid, 8);
	assert_int_equal(acpi.madt.nr_lapic_nmis, 2);
	assert_int_equal(acpi.madt.lapic_nmis[1].uid, 8);
	assert_int_equal(acpi.madt.lapic_nmis[1].lint, 0);
	assert_int_equal(acpi.madt.nr_nmi_sources, 1);
	assert_int_equal(acpi.madt.nmi_sources[0].gsi, 23);
	assert_int_equal(acpi.madt.nmi_sources[0].flags, ACPI_INTI_TRIGGER_LEVEL);
	assert_true(acpi.madt.lapic_overridden);
	assert_int_equal(acpi.madt.lapic_address, 0xfee10000);
}

/* Online Capable means something only from MADT revision 5. */
static void test_madt_online_capable(void **state)
{
	struct fake_region *m;
	u32 i;

	for (i = 0; i < 2; i++) {
		u8 rev = i ? 5 : 1;

		fake_load("pc-smp4max8");
		m = fake_find("APIC");
		m->buf[8] = rev;
		m->buf[44 + 4 * 8 + 4] = ACPI_MADT_ONLINE_CAPABLE; /* CPU 4 */
		m->buf[44 + 5 * 8 + 4] = ACPI_MADT_ONLINE_CAPABLE; /* CPU 5 */
		fake_fix_checksum(m);
		assert_int_equal(fake_init(), 0);
		assert_int_equal(acpi.madt.revision, rev);
		assert_int_equal(acpi.madt.cpus[4].online_capable, rev >= 5);
		assert_int_equal(acpi.madt.cpus[5].online_capable, rev >= 5);
		assert_false(acpi.madt.cpus[6].online_capable);
		assert_false(acpi.madt.cpus[0].online_capable);
		assert_int_equal(acpi.madt.nr_cpus_enabled, 4);
	}
}

/* More CPUs, IOAPICs and overrides than the arrays hold. */
static void test_madt_overflow(void **state)
{
	enum { CPUS = 300, IOAPICS = 20, OVERRIDES = 40 };
	struct fake_region *m;
	u8 *p;
	u32 i;

	fake_load("pc-smp4");
	m = fake_relocate("APIC", 44 + CPUS * 16 + IOAPICS * 12 + OVERRIDES * 10);
	p = m->buf + 44;
	for (i = 0; i < CPUS; i++) {
		p = add_entry(p, ACPI_MADT_X2APIC, 16);
		fake_put32(p - 12, i);
		fake_put32(p - 8, ACPI_MADT_ENABLED);
		fake_put32(p - 4, i);
	}
	for (i = 0; i < IOAPICS; i++) {
		p = add_entry(p, ACPI_MADT_IOAPIC, 12);
		p[-10] = (u8)i;
		fake_put32(p - 8, 0xfec00000 + i * 0x1000);
		fake_put32(p - 4, i * 24);
	}
	for (i = 0; i < OVERRIDES; i++)
		p = add_entry(p, ACPI_MADT_IRQ_OVERRIDE, 10);
	assert_ptr_equal(p, m->buf + m->len);
	fake_fix_checksum(m);
	assert_int_equal(fake_init(), 0);
	assert_int_equal(acpi.madt.nr_cpus, ACPI_MAX_CPUS);
	assert_int_equal(acpi.madt.nr_cpus_enabled, ACPI_MAX_CPUS);
	assert_int_equal(acpi.madt.dropped_cpus, CPUS - ACPI_MAX_CPUS);
	assert_int_equal(acpi.madt.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
	assert_int_equal(acpi.madt.nr_ioapics, ACPI_MAX_IOAPICS);
	assert_int_equal(acpi.madt.dropped_ioapics, IOAPICS - ACPI_MAX_IOAPICS);
	assert_int_equal(acpi.madt.ioapics[15].gsi_base, 15 * 24);
	assert_int_equal(acpi.madt.nr_overrides, ACPI_MAX_IRQ_OVERRIDES);
	assert_int_equal(acpi.madt.dropped_overrides, OVERRIDES - ACPI_MAX_IRQ_OVERRIDES);
	assert_true(fake_warned("MADT: 44 processor entries beyond the limit of 256 ignored"));
	assert_true(fake_warned("MADT: 4 I/O APIC entries beyond the limit of 16 ignored"));
	assert_true(fake_warned("MADT: 8 interrupt override entries beyond the limit of 32 ignored"));
	acpi_print_summary();
	assert_true(fake_warned("over the limits ignored: 44 CPUs, 4 IOAPICs, 8 overrides"));
}

int acpi_madt_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_madt_bad_checksum, fake_teardown),
		cmocka_unit_test_teardown(test_madt_bad_lengths, fake_teardown),
		cmocka_unit_test_teardown(test_madt_entry_zero_length, fake_teardown),
		cmocka_unit_test_teardown(test_madt_entry_past_end, fake_teardown),
		cmocka_unit_test_teardown(test_madt_entry_too_short, fake_teardown),
		cmocka_unit_test_teardown(test_madt_bad_ids, fake_teardown),
		cmocka_unit_test_teardown(test_madt_more_entry_types, fake_teardown),
		cmocka_unit_test_teardown(test_madt_online_capable, fake_teardown),
		cmocka_unit_test_teardown(test_madt_overflow, fake_teardown),
	};

	return cmocka_run_group_tests_name("acpi: MADT damage", tests, NULL, NULL);
}
