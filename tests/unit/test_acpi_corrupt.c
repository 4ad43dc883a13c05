/* SPDX-License-Identifier: MIT */
/*
 * The ACPI parser on damaged copies of the captured QEMU tables: bad checksums, impossible
 * lengths, absurd counts, a truncated \_S5_, and random mutations (the MADT's own damage is in
 * test_acpi_madt.c). Each
 * case must end in a defined result and a warning, and never read outside a table (ASan).
 */
#define _GNU_SOURCE /* memmem */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "acpi_fake.h"
#include "kernel/log.h"

int acpi_corrupt_tests(void);
int acpi_aml_tests(void);
int acpi_madt_tests(void);

/* ---- RSDP ---- */

static void test_rsdp_missing_or_short(void **state)
{
	fake_load("pc-smp1");
	assert_int_equal(acpi_init(NULL, 0), -ENOENT);
	assert_int_equal(acpi_init(cap.rsdp, 0), -ENOENT);
	assert_int_equal(acpi_init(cap.rsdp, 10), -EINVAL);
	assert_true(fake_warned("RSDP copy is only 10 bytes long"));
	assert_false(acpi.present);
}

static void test_rsdp_bad(void **state)
{
	fake_load("pc-smp4");
	cap.rsdp[0] = 'X';
	fake_fix_rsdp();
	assert_int_equal(fake_init(), -EINVAL);
	assert_true(fake_warned("RSDP has a bad signature"));

	fake_load("pc-smp4");
	cap.rsdp[8]++;
	assert_int_equal(fake_init(), -EINVAL);
	assert_true(fake_warned("RSDP has a bad checksum"));
	assert_false(acpi.present);
	assert_false(acpi.madt.present);
}

static void test_rsdp_v2_fallbacks(void **state)
{
	/* Bad extended checksum: the v1 part still gives the RSDT. */
	fake_load("q35-ovmf-smp4");
	cap.rsdp[offsetof(struct acpi_rsdp, ext_checksum)]++;
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("bad extended checksum; using the RSDT"));
	assert_false(acpi.root_is_xsdt);
	assert_int_equal(acpi.madt.nr_cpus_enabled, 4);

	/* A revision-2 RSDP whose length field is wrong. */
	fake_load("q35-ovmf-smp4");
	fake_put32(cap.rsdp + offsetof(struct acpi_rsdp, length), 20);
	fake_fix_rsdp();
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("RSDP length 20 (expected 36); using the RSDT"));
	assert_false(acpi.root_is_xsdt);
}

/* ---- XSDT / RSDT ---- */

static void test_xsdt_bad_checksum(void **state)
{
	fake_load("q35-ovmf-smp4");
	fake_find("XSDT")->buf[20] ^= 0x40;
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("XSDT at 0xf77d0e8: bad checksum"));
	assert_true(fake_warned("XSDT unusable, falling back to the RSDT"));
	assert_false(acpi.root_is_xsdt);
	assert_int_equal(acpi.madt.nr_cpus_enabled, 4);
	assert_true(acpi.fadt.s5_valid);
}

static void test_xsdt_unmapped_no_rsdt(void **state)
{
	fake_load("q35-ovmf-smp4");
	fake_put64(cap.rsdp + offsetof(struct acpi_rsdp, xsdt_address), UNMAPPED_PA);
	fake_put32(cap.rsdp + offsetof(struct acpi_rsdp, rsdt_address), 0);
	fake_fix_rsdp();
	assert_int_equal(fake_init(), -EIO);
	assert_true(fake_warned("XSDT at 0x7fff0000: not in mapped memory"));
	assert_false(acpi.present);
}

static void test_rsdt_bad(void **state)
{
	fake_load("pc-smp4");
	fake_find("RSDT")->buf[40]++;
	assert_int_equal(fake_init(), -EIO);
	assert_true(fake_warned("RSDT at 0xffe1bbb: bad checksum"));
	assert_false(acpi.present);

	fake_load("pc-smp4");
	fake_find("RSDT")->buf[0] = 'Q';
	assert_int_equal(fake_init(), -EIO);
	assert_true(fake_warned("RSDT at 0xffe1bbb: signature is \"QSDT\""));

	fake_load("pc-smp4");
	fake_put32(cap.rsdp + offsetof(struct acpi_rsdp, rsdt_address), 0);
	fake_fix_rsdp();
	assert_int_equal(fake_init(), -EIO);
	assert_true(fake_warned("RSDP gives no root table"));
}

/* An XSDT whose length claims thousands of entries that are not there. */
static void test_xsdt_absurd_length(void **state)
{
	fake_load("q35-ovmf-smp4");
	fake_put32(fake_find("XSDT")->buf + 4, 36 + 8 * 5000);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("XSDT at 0xf77d0e8: length 40036 runs past mapped memory"));
	assert_false(acpi.root_is_xsdt);
	assert_true(acpi.madt.present);

	fake_load("q35-ovmf-smp4");
	fake_put32(fake_find("XSDT")->buf + 4, 0xfffffff0);
	fake_put32(fake_find("RSDT")->buf + 4, 3);
	assert_int_equal(fake_init(), -EIO);
	assert_true(fake_warned("XSDT at 0xf77d0e8: length 4294967280 is over the 1048576-byte limit"));
	assert_true(fake_warned("RSDT at 0xf77d074: length 3 is shorter than the header"));
}

/* A valid XSDT that really has 5000 entries: only ACPI_MAX_TABLES are looked at. */
static void test_xsdt_absurd_count(void **state)
{
	struct fake_region *x;
	u64 waet;
	u32 i, n = 5000;

	fake_load("q35-ovmf-smp4");
	waet = fake_find("WAET")->pa;
	x = fake_relocate("XSDT", 36 + 8 * n);
	for (i = 6; i < n; i++) /* after the 6 real entries */
		fake_put64(x->buf + 36 + 8 * i, waet);
	fake_fix_checksum(x);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("XSDT lists 5000 tables; only the first 128 are examined"));
	assert_true(acpi.root_is_xsdt);
	assert_int_equal(acpi.nr_tables, ACPI_MAX_TABLES);
	assert_true(acpi.dropped_tables >= n - ACPI_MAX_TABLES);
	assert_int_equal(acpi.madt.nr_cpus, 4);
	assert_true(acpi.hpet.present);
	acpi_print_summary();
	assert_true(fake_warned("more tables not examined (limit 128)"));
}

static void test_root_entries_bad(void **state)
{
	struct fake_region *r;
	u32 apic;

	fake_load("pc-smp4");
	apic = (u32)fake_find("APIC")->pa;
	/* Four real entries, then: null, unmapped, a second MADT, and 2 stray bytes. */
	r = fake_relocate("RSDT", 36 + 4 * 7 + 2);
	fake_put32(r->buf + 36 + 16, 0);
	fake_put32(r->buf + 36 + 20, UNMAPPED_PA);
	fake_put32(r->buf + 36 + 24, apic);
	fake_fix_checksum(r);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("RSDT entry 4 is a null pointer, ignored"));
	assert_true(fake_warned("???? at 0x7fff0000: not in mapped memory, ignored"));
	assert_true(fake_warned("second MADT at 0xffe1acb ignored"));
	assert_true(fake_warned("RSDT: 2 trailing bytes after the last entry ignored"));
	assert_int_equal(acpi.madt.nr_cpus, 4);
	assert_true(acpi.fadt.s5_valid);
	/* The unmapped entry is remembered as invalid. */
	assert_string_equal(acpi.tables[acpi.nr_tables - 2].sig, "????");
	assert_false(acpi.tables[acpi.nr_tables - 2].valid);
}

/* ---- FADT, DSDT, HPET ---- */

static size_t s5_offset(const struct fake_region *d)
{
	const u8 *s = memmem(d->buf, d->len, "_S5_", 4);

	assert_non_null(s);
	return (size_t)(s - d->buf);
}

static void test_dsdt_bad(void **state)
{
	struct fake_region *d;
	size_t off;

	fake_load("pc-smp4");
	fake_find("DSDT")->buf[100]++;
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("DSDT at 0xffe0040: bad checksum"));
	assert_true(fake_warned("no usable DSDT: ACPI poweroff unavailable"));
	assert_true(acpi.fadt.present);
	assert_false(acpi.fadt.s5_valid);
	assert_true(acpi.madt.present);

	/* Cut in the middle of the \_S5_ package (after its first element). */
	fake_load("q35-smp4");
	off = s5_offset(fake_find("DSDT"));
	d = fake_relocate("DSDT", off + 8);
	fake_fix_checksum(d);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("package of 6 bytes runs past the end of the DSDT (3 bytes left)"));
	assert_true(fake_warned("DSDT \\_S5_ unusable"));
	assert_false(acpi.fadt.s5_valid);
	assert_true(acpi.fadt.reset_supported);

	/* No \_S5_ at all. */
	fake_load("q35-smp4");
	d = fake_find("DSDT");
	d->buf[s5_offset(d) + 2] = '4';
	fake_fix_checksum(d);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("DSDT defines no \\_S5_ package"));
	assert_false(acpi.fadt.s5_valid);
}

static void test_fadt_damage(void **state)
{
	struct fake_region *f;

	/* DSDT pointer to nowhere (both fields). */
	fake_load("q35-ovmf-smp4");
	f = fake_find("FACP");
	fake_put32(f->buf + offsetof(struct acpi_fadt, dsdt), UNMAPPED_PA);
	fake_put64(f->buf + offsetof(struct acpi_fadt, x_dsdt), UNMAPPED_PA);
	fake_fix_checksum(f);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("DSDT at 0x7fff0000: not in mapped memory"));
	assert_false(acpi.fadt.s5_valid);
	assert_true(acpi.fadt.reset_supported);

	/* DSDT and X_DSDT disagree: X_DSDT wins. */
	fake_load("q35-ovmf-smp4");
	f = fake_find("FACP");
	fake_put32(f->buf + offsetof(struct acpi_fadt, dsdt), UNMAPPED_PA);
	fake_fix_checksum(f);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("DSDT 0x7fff0000 and X_DSDT 0xf77a000 differ; using X_DSDT"));
	assert_true(acpi.fadt.s5_valid);

	/* A reset register in an address space nobody can write. */
	fake_load("q35-smp4");
	f = fake_find("FACP");
	f->buf[offsetof(struct acpi_fadt, reset_reg)] = 0x7f;
	fake_fix_checksum(f);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("reset register (space 127, address 0xcf9) unusable"));
	assert_false(acpi.fadt.reset_supported);

	/* A FADT cut after the DSDT pointer: what is there is used, the rest reads as absent. */
	fake_load("q35-smp4");
	f = fake_relocate("FACP", 48);
	fake_fix_checksum(f);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("FADT is only 48 bytes"));
	assert_true(acpi.fadt.present);
	assert_true(acpi.fadt.s5_valid);
	assert_int_equal(acpi.fadt.pm1a_cnt.address, 0);
	assert_int_equal(acpi.fadt.pm_timer_port, 0);
	assert_false(acpi.fadt.reset_supported);
}

static void test_hpet_damage(void **state)
{
	struct fake_region *h;

	fake_load("q35-smp4");
	h = fake_find("HPET");
	h->buf[offsetof(struct acpi_hpet, base_address)] = ACPI_GAS_IO;
	fake_fix_checksum(h);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("HPET: registers in address space 1, not memory, ignored"));
	assert_false(acpi.hpet.present);

	fake_load("q35-smp4");
	h = fake_relocate("HPET", 40);
	fake_fix_checksum(h);
	assert_int_equal(fake_init(), 0);
	assert_true(fake_warned("HPET: length 40, needs 56, ignored"));
	assert_false(acpi.hpet.present);
}

/* ---- random damage ---- */

static u32 rng_state = 0x2545f491;

static u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Flip random bytes of random tables (usually re-fixing the checksum so the damage gets past
 * it) and parse. Nothing may crash or read out of bounds, and the counts stay within limits.
 */
static void test_mutations(void **state)
{
	static const char *const captures[] = { "pc-smp4max8", "q35-smp4", "q35-ovmf-smp4" };
	u32 c, iter, k;

	for (c = 0; c < ARRAY_SIZE(captures); c++) {
		unsigned int nr = 0;
		size_t s5;

		fake_load(captures[c]);
		s5 = s5_offset(fake_find("DSDT"));
		while (fake_region(nr))
			nr++;
		fake_snapshot();
		for (iter = 0; iter < 2000; iter++) {
			struct fake_region *r = fake_region(rng() % nr);
			u32 flips = 1 + rng() % 4;

			fake_restore();
			shim_log_reset();
			for (k = 0; k < flips; k++) {
				size_t at = rng() % r->len;

				/* Aim at the fields that steer parsing half of the time. */
				if (rng() & 1)
					at = rng() % MIN(r->len, (size_t)64);
				if (strcmp(r->sig, "DSDT") == 0 && (rng() & 1))
					at = s5 + rng() % 12;
				r->buf[at] = (u8)rng();
			}
			if (r->len >= 10 && rng() % 4 && strcmp(r->sig, "FACS") != 0)
				fake_fix_checksum(r);
			if (fake_init() == 0)
				acpi_print_summary();
			assert_true(acpi.madt.nr_cpus <= ACPI_MAX_CPUS);
			assert_true(acpi.madt.nr_cpus_enabled <= acpi.madt.nr_cpus);
			assert_true(acpi.madt.nr_ioapics <= ACPI_MAX_IOAPICS);
			assert_true(acpi.nr_tables <= ACPI_MAX_TABLES);
			if (acpi.fadt.s5_valid)
				assert_true(acpi.fadt.slp_typa <= 7 && acpi.fadt.slp_typb <= 7);
		}
	}
}

int acpi_corrupt_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rsdp_missing_or_short, fake_teardown),
		cmocka_unit_test_teardown(test_rsdp_bad, fake_teardown),
		cmocka_unit_test_teardown(test_rsdp_v2_fallbacks, fake_teardown),
		cmocka_unit_test_teardown(test_xsdt_bad_checksum, fake_teardown),
		cmocka_unit_test_teardown(test_xsdt_unmapped_no_rsdt, fake_teardown),
		cmocka_unit_test_teardown(test_rsdt_bad, fake_teardown),
		cmocka_unit_test_teardown(test_xsdt_absurd_length, fake_teardown),
		cmocka_unit_test_teardown(test_xsdt_absurd_count, fake_teardown),
		cmocka_unit_test_teardown(test_root_entries_bad, fake_teardown),
		cmocka_unit_test_teardown(test_dsdt_bad, fake_teardown),
		cmocka_unit_test_teardown(test_fadt_damage, fake_teardown),
		cmocka_unit_test_teardown(test_hpet_damage, fake_teardown),
		cmocka_unit_test_teardown(test_mutations, fake_teardown),
	};

	return cmocka_run_group_tests_name("acpi: corrupted tables", tests, NULL, NULL) + acpi_madt_tests() +
	       acpi_aml_tests();
}
