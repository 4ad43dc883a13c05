/* SPDX-License-Identifier: MIT */
/*
 * The VM's ACPI tables (vmm/acpi_gen.c) read back by Keel's own host ACPI parser (drivers/acpi):
 * the built buffer is put at its guest-physical address in the fake memory of acpi_fake.c, the
 * RSDP is found by the BIOS-area scan a guest would do, and acpi_init() must accept every table
 * without a warning and report exactly what the configuration asked for.
 */
#define _GNU_SOURCE /* memmem */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi_fake.h"
#include "kernel/log.h"
#include "vmm/acpi_gen.h"

#define BIOS_AREA     0xe0000
#define BIOS_AREA_LEN 0x20000
#define BUF_SIZE      ACPI_GEN_MIN_BUF_SIZE

#define T_LAPIC	      0xfee00000
#define T_IOAPIC      0xfec00000
#define T_IOAPIC_ID   8 /* distinct from every APIC ID used here, so a mix-up shows */
#define T_GSI_BASE    0
#define T_PM1A_EVT    0x600
#define T_PM1A_CNT    0x604
#define T_PM_TMR      0x608
#define T_SCI	      9
#define T_RESET_PORT  0xcf9
#define T_RESET_VALUE 0x06

static u8 buf[BUF_SIZE];

static struct acpi_gen_config default_config(u32 nr_cpus)
{
	return (struct acpi_gen_config){
		.nr_cpus = nr_cpus,
		.ioapic_id = T_IOAPIC_ID,
		.ioapic_addr = T_IOAPIC,
		.ioapic_gsi_base = T_GSI_BASE,
		.lapic_addr = T_LAPIC,
		.pm1a_evt_port = T_PM1A_EVT,
		.pm1a_cnt_port = T_PM1A_CNT,
		.pm_tmr_port = T_PM_TMR,
		.sci_irq = T_SCI,
		.reset_port = T_RESET_PORT,
		.reset_value = T_RESET_VALUE,
		.legacy_devices = true,
	};
}

/* Builds at gpa and maps the result into the BIOS area of fake memory; returns the bytes used. */
static int build_and_map(const struct acpi_gen_config *cfg, u64 gpa, u64 *rsdp_gpa)
{
	struct fake_region *r;
	int used;

	memset(buf, 0xa5, sizeof(buf));
	used = acpi_gen_build(cfg, buf, sizeof(buf), gpa, rsdp_gpa);
	assert_true(used > 0);
	assert_true(gpa >= BIOS_AREA && gpa + (u64)used <= BIOS_AREA + BIOS_AREA_LEN);
	fake_clear();
	r = fake_add(BIOS_AREA, NULL, BIOS_AREA_LEN, "BIOS");
	memcpy(r->buf + (gpa - BIOS_AREA), buf, (size_t)used);
	return used;
}

/* Finds the RSDP as a guest would (the 16-byte scan of 0xE0000-0xFFFFF) and parses everything. */
static void scan_and_parse(u64 expect_rsdp_gpa)
{
	u8 rsdp[ACPI_RSDP_V2_LEN];
	u32 len = 0;
	const u8 *mapped;

	assert_int_equal(acpi_find_rsdp_bios(rsdp, &len), 0);
	assert_int_equal(len, ACPI_RSDP_V2_LEN);
	mapped = acpi_map(expect_rsdp_gpa, ACPI_RSDP_V2_LEN);
	assert_non_null(mapped);
	assert_memory_equal(rsdp, mapped, ACPI_RSDP_V2_LEN); /* the scan found ours, where we put it */
	assert_int_equal(acpi_init(rsdp, len), 0);
}

/* Everything the parser reports for default_config(nr_cpus), and no warning on the way. */
static void check_parsed(u32 nr_cpus)
{
	const struct acpi_madt_info *m = &acpi.madt;
	const struct acpi_fadt_info *f = &acpi.fadt;
	u32 i;

	assert_int_equal(shim_log_count[LOG_WARN] + shim_log_count[LOG_ERR], 0);
	assert_true(acpi.present);
	assert_string_equal(acpi.oem_id, "KEEL  ");
	/* Root table, FADT, DSDT (via the FADT), MADT: all present and valid. */
	assert_int_equal(acpi.nr_tables, 4);
	for (i = 0; i < acpi.nr_tables; i++) {
		assert_true(acpi.tables[i].valid);
		assert_string_equal(acpi.tables[i].oem_id, "KEEL  ");
		assert_string_equal(acpi.tables[i].oem_table_id, "KEELVM  ");
	}
	assert_non_null(acpi_get_table("APIC", NULL));
	assert_non_null(acpi_get_table("FACP", NULL));
	assert_non_null(acpi_get_table("DSDT", NULL));

	assert_true(m->present);
	assert_false(m->truncated);
	assert_true(m->pcat_compat);
	assert_int_equal(m->revision, 5);
	assert_int_equal(m->lapic_address, T_LAPIC);
	assert_false(m->lapic_overridden);
	assert_int_equal(m->nr_cpus, nr_cpus);
	assert_int_equal(m->nr_cpus_enabled, nr_cpus);
	for (i = 0; i < nr_cpus; i++) {
		assert_int_equal(m->cpus[i].apic_id, i);
		assert_int_equal(m->cpus[i].uid, i);
		assert_true(m->cpus[i].enabled);
		assert_false(m->cpus[i].online_capable);
		assert_false(m->cpus[i].x2apic);
	}
	assert_int_equal(m->nr_ioapics, 1);
	assert_int_equal(m->ioapics[0].id, T_IOAPIC_ID);
	assert_int_equal(m->ioapics[0].address, T_IOAPIC);
	assert_int_equal(m->ioapics[0].gsi_base, T_GSI_BASE);
	assert_int_equal(m->nr_overrides, 2);
	assert_int_equal(m->overrides[0].bus, 0);
	assert_int_equal(m->overrides[0].source_irq, 0);
	assert_int_equal(m->overrides[0].gsi, 2);
	assert_int_equal(m->overrides[0].flags, ACPI_INTI_TRIGGER_EDGE | ACPI_INTI_POLARITY_HIGH);
	assert_int_equal(m->overrides[1].bus, 0);
	assert_int_equal(m->overrides[1].source_irq, T_SCI);
	assert_int_equal(m->overrides[1].gsi, T_SCI);
	assert_int_equal(m->overrides[1].flags, ACPI_INTI_TRIGGER_LEVEL | ACPI_INTI_POLARITY_HIGH);
	assert_int_equal(m->nr_nmi_sources, 0);
	assert_int_equal(m->nr_lapic_nmis, 1);
	assert_int_equal(m->lapic_nmis[0].uid, ACPI_UID_ALL);
	assert_int_equal(m->lapic_nmis[0].lint, 1);
	assert_int_equal(m->dropped_cpus + m->dropped_ioapics + m->dropped_overrides + m->dropped_lapic_nmis, 0);

	assert_true(f->present);
	assert_int_equal(f->revision, 6);
	assert_false(f->hw_reduced);
	assert_int_equal(f->sci_irq, T_SCI);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_evt.address, T_PM1A_EVT);
	assert_int_equal(f->pm1a_evt.bit_width, 32);
	assert_int_equal(f->pm1a_cnt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_cnt.address, T_PM1A_CNT);
	assert_int_equal(f->pm1a_cnt.bit_width, 16);
	assert_int_equal(f->pm1b_evt.address, 0);
	assert_int_equal(f->pm1b_cnt.address, 0);
	assert_int_equal(f->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm_timer.bit_width, 32);
	assert_int_equal(f->pm_timer_port, T_PM_TMR);
	assert_false(f->pm_timer_32bit); /* 24-bit counter */
	assert_true(f->flags & ACPI_FADT_RESET_REG_SUP);
	assert_true(f->reset_supported);
	assert_int_equal(f->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.address, T_RESET_PORT);
	assert_int_equal(f->reset_reg.bit_width, 8);
	assert_int_equal(f->reset_value, T_RESET_VALUE);
	/* default_config: legacy devices only; no 8042, VGA, RTC or MSI. */
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_ARCH_LEGACY_DEVICES | ACPI_BOOT_ARCH_VGA_NOT_PRESENT |
						ACPI_BOOT_ARCH_MSI_NOT_SUPPORTED | ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT);
	assert_int_equal(f->century, 0);
	assert_true(f->s5_valid);
	assert_int_equal(f->slp_typa, ACPI_GEN_S5_SLP_TYP);
	assert_int_equal(f->slp_typb, ACPI_GEN_S5_SLP_TYP);
	assert_true(f->dsdt >= BIOS_AREA && f->dsdt < BIOS_AREA + BIOS_AREA_LEN);
}

/* The FACS the FADT points to: 64 bytes on a 64-byte boundary, version 2 (ACPI 6.4 §5.2.10). */
static void check_facs(void)
{
	const u8 *facs;
	u32 len;

	assert_true(acpi.fadt.facs != 0);
	assert_int_equal(acpi.fadt.facs % 64, 0);
	facs = acpi_map(acpi.fadt.facs, 64);
	assert_non_null(facs);
	assert_memory_equal(facs, "FACS", 4);
	memcpy(&len, facs + 4, sizeof(len));
	assert_int_equal(len, 64);
	assert_int_equal(facs[32], 2);
}

static void parse_cpus(u32 nr_cpus)
{
	struct acpi_gen_config cfg = default_config(nr_cpus);
	u64 rsdp_gpa = 0;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	assert_int_equal(rsdp_gpa, BIOS_AREA);
	scan_and_parse(rsdp_gpa);
	assert_true(acpi.root_is_xsdt);
	assert_int_equal(acpi.rsdp_revision, 2);
	check_parsed(nr_cpus);
	check_facs();
}

static void test_parse_1cpu(void **state)
{
	parse_cpus(1);
}

static void test_parse_8cpus(void **state)
{
	parse_cpus(8);
}

static void test_parse_max_cpus(void **state)
{
	parse_cpus(ACPI_GEN_MAX_CPUS);
}

/* An ACPI 1.0 reader (RSDP revision 0) takes the RSDT: it must give the same answers. */
static void test_rsdt(void **state)
{
	struct acpi_gen_config cfg = default_config(4);
	struct acpi_rsdp r;
	u64 rsdp_gpa;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	memcpy(&r, acpi_map(rsdp_gpa, sizeof(r)), sizeof(r));
	/* As an ACPI 1.0 RSDP: revision 0, 20 bytes, its checksum redone. */
	r.revision = 0;
	r.checksum = 0;
	r.checksum = (u8)-acpi_checksum(&r, ACPI_RSDP_V1_LEN);
	assert_int_equal(acpi_init((const u8 *)&r, ACPI_RSDP_V1_LEN), 0);
	assert_false(acpi.root_is_xsdt);
	assert_int_equal(acpi.rsdp_revision, 0);
	assert_int_equal(acpi.root_pa, r.rsdt_address);
	check_parsed(4);
}

/* A table of `len` bytes at gpa, lying inside the fake memory, whose bytes sum to 0. */
static const struct acpi_sdt_header *check_table(u64 gpa, const char *sig, u8 revision)
{
	const struct acpi_sdt_header *h = acpi_map(gpa, sizeof(*h));
	u32 creator;

	assert_non_null(h);
	assert_memory_equal(h->signature, sig, 4);
	assert_non_null(acpi_map(gpa, h->length));
	assert_int_equal(acpi_checksum(h, h->length), 0);
	assert_int_equal(h->revision, revision);
	assert_memory_equal(h->oem_id, "KEEL  ", 6);
	assert_memory_equal(h->oem_table_id, "KEELVM  ", 8);
	memcpy(&creator, "KEEL", 4);
	assert_int_equal(h->creator_id, creator);
	assert_int_equal(h->oem_revision, 1);
	assert_int_equal(h->creator_revision, 1);
	assert_int_equal(gpa % 8, 0);
	return h;
}

/* Walks the tables by hand (not through the parser): every checksum, header and pointer. */
static void test_checksums(void **state)
{
	struct acpi_gen_config cfg = default_config(8);
	const struct acpi_sdt_header *x, *rs, *fadt_h;
	const struct acpi_rsdp *r;
	struct acpi_fadt fadt;
	u64 rsdp_gpa, e64[2];
	u32 e32[2];
	int used;

	used = build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	r = acpi_map(rsdp_gpa, sizeof(*r));
	assert_non_null(r);
	assert_memory_equal(r->signature, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(r, ACPI_RSDP_V1_LEN), 0);
	assert_int_equal(acpi_checksum(r, ACPI_RSDP_V2_LEN), 0);
	assert_int_equal(r->revision, 2);
	assert_int_equal(r->length, ACPI_RSDP_V2_LEN);
	assert_memory_equal(r->oem_id, "KEEL  ", 6);

	x = check_table(r->xsdt_address, "XSDT", 1);
	rs = check_table(r->rsdt_address, "RSDT", 1);
	assert_int_equal(x->length, sizeof(*x) + 2 * 8);
	assert_int_equal(rs->length, sizeof(*rs) + 2 * 4);
	memcpy(e64, (const u8 *)x + sizeof(*x), sizeof(e64));
	memcpy(e32, (const u8 *)rs + sizeof(*rs), sizeof(e32));
	assert_int_equal(e64[0], e32[0]);
	assert_int_equal(e64[1], e32[1]);

	fadt_h = check_table(e64[0], "FACP", 6);
	assert_int_equal(fadt_h->length, sizeof(struct acpi_fadt));
	memcpy(&fadt, fadt_h, sizeof(fadt));
	assert_int_equal(fadt.minor_version, 4);
	check_table(e64[1], "APIC", 5);
	assert_int_equal(fadt.dsdt, fadt.x_dsdt);
	check_table(fadt.x_dsdt, "DSDT", 2);
	/* FIRMWARE_CTRL and X_FIRMWARE_CTRL are exclusive (ACPI 6.4 table 5.9). */
	assert_int_not_equal(fadt.firmware_ctrl, 0);
	assert_int_equal(fadt.x_firmware_ctrl, 0);
	assert_int_equal(fadt.firmware_ctrl % 64, 0);
	/* Legacy and X_ blocks agree (Linux warns on a mismatch). */
	assert_int_equal(fadt.x_pm1a_evt_blk.address, fadt.pm1a_evt_blk);
	assert_int_equal(fadt.x_pm1a_evt_blk.bit_width, fadt.pm1_evt_len * 8);
	assert_int_equal(fadt.x_pm1a_cnt_blk.address, fadt.pm1a_cnt_blk);
	assert_int_equal(fadt.x_pm1a_cnt_blk.bit_width, fadt.pm1_cnt_len * 8);
	assert_int_equal(fadt.x_pm_tmr_blk.address, fadt.pm_tmr_blk);
	assert_int_equal(fadt.x_pm_tmr_blk.bit_width, fadt.pm_tmr_len * 8);
	assert_int_equal(fadt.flags & ACPI_FADT_TMR_VAL_EXT, 0);

	/* Every table lies inside the bytes reported used. */
	assert_true(r->xsdt_address + x->length <= BIOS_AREA + (u64)used);
	assert_true(r->rsdt_address + rs->length <= BIOS_AREA + (u64)used);
	assert_true(fadt.firmware_ctrl + 64 <= BIOS_AREA + (u64)used);
}

/* The DSDT's AML is exactly Name(_S5_, Package(){5, 5, 0, 0}) and the AML scanner decodes it. */
static void test_s5_aml(void **state)
{
	/* ByteConst 5 twice, then ZeroOps (the shortest encodings, as iasl writes them). */
	static const u8 expect[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	struct acpi_gen_config cfg = default_config(1);
	const struct acpi_sdt_header *h;
	u64 rsdp_gpa;
	u8 a = 0xff, b = 0xff;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	h = acpi_get_table("DSDT", NULL);
	assert_non_null(h);
	assert_int_equal(h->length, sizeof(*h) + sizeof(expect));
	assert_memory_equal((const u8 *)h + sizeof(*h), expect, sizeof(expect));
	/* PkgLength counts itself and everything after it up to the end of the package. */
	assert_int_equal(expect[6], sizeof(expect) - 6);
	assert_int_equal(acpi_aml_find_s5((const u8 *)h + sizeof(*h), h->length - sizeof(*h), &a, &b), 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 5);
}

/* Too small a buffer: -ENOSPC and not a byte written; exactly big enough: success. */
static void test_enospc(void **state)
{
	struct acpi_gen_config cfg = default_config(8);
	static u8 small[BUF_SIZE];
	u64 rsdp_gpa = 0x1234;
	int used, i;
	u64 sizes[3];

	used = acpi_gen_build(&cfg, buf, sizeof(buf), BIOS_AREA, &rsdp_gpa);
	assert_true(used > 0);
	sizes[0] = 0;
	sizes[1] = 36;
	sizes[2] = (u64)used - 1;
	for (i = 0; i < 3; i++) {
		u64 out = 0x1234;
		size_t j;

		memset(small, 0xa5, sizeof(small));
		assert_int_equal(acpi_gen_build(&cfg, small, sizes[i], BIOS_AREA, &out), -ENOSPC);
		assert_int_equal(out, 0x1234);
		for (j = 0; j < sizeof(small); j++)
			assert_int_equal(small[j], 0xa5);
	}
	memset(small, 0xa5, sizeof(small));
	assert_int_equal(acpi_gen_build(&cfg, small, (u64)used, BIOS_AREA, &rsdp_gpa), used);
	assert_memory_equal(small, buf, (size_t)used);
	assert_int_equal(small[used], 0xa5); /* nothing past the end */
	/* More CPUs, more bytes. */
	cfg.nr_cpus = 9;
	assert_int_equal(acpi_gen_build(&cfg, small, (u64)used, BIOS_AREA, &rsdp_gpa), -ENOSPC);
	/* The most CPUs fit in ACPI_GEN_MIN_BUF_SIZE. */
	cfg.nr_cpus = ACPI_GEN_MAX_CPUS;
	assert_true(acpi_gen_build(&cfg, small, ACPI_GEN_MIN_BUF_SIZE, BIOS_AREA + 63, &rsdp_gpa) > 0);
}

static void test_invalid_config(void **state)
{
	struct acpi_gen_config cfg;
	u64 rsdp_gpa;

#define EXPECT_EINVAL(field, value)                                                                      \
	do {                                                                                             \
		cfg = default_config(2);                                                                 \
		cfg.field = value;                                                                       \
		assert_int_equal(acpi_gen_build(&cfg, buf, sizeof(buf), BIOS_AREA, &rsdp_gpa), -EINVAL); \
	} while (0)
	EXPECT_EINVAL(nr_cpus, 0);
	EXPECT_EINVAL(nr_cpus, ACPI_GEN_MAX_CPUS + 1);
	EXPECT_EINVAL(ioapic_id, 0x100);
	EXPECT_EINVAL(ioapic_addr, 0);
	EXPECT_EINVAL(ioapic_addr, GiB(4));
	EXPECT_EINVAL(lapic_addr, GiB(4));
	EXPECT_EINVAL(pm1a_evt_port, 0);
	EXPECT_EINVAL(pm1a_cnt_port, 0);
	EXPECT_EINVAL(sci_irq, 0);
	EXPECT_EINVAL(sci_irq, 2);
	EXPECT_EINVAL(sci_irq, 16);
#undef EXPECT_EINVAL
	cfg = default_config(2);
	assert_true(acpi_gen_build(&cfg, buf, sizeof(buf), BIOS_AREA, &rsdp_gpa) > 0);
	/* The RSDT and FADT hold 32-bit pointers: the tables must end at or below 4 GiB. */
	assert_int_equal(acpi_gen_build(&cfg, buf, sizeof(buf), GiB(4) - 256, &rsdp_gpa), -EINVAL);
	assert_int_equal(acpi_gen_build(&cfg, buf, sizeof(buf), GiB(4), &rsdp_gpa), -EINVAL);
	assert_true(acpi_gen_build(&cfg, buf, sizeof(buf), GiB(4) - BUF_SIZE, &rsdp_gpa) > 0);
	assert_int_equal(acpi_gen_build(NULL, buf, sizeof(buf), BIOS_AREA, &rsdp_gpa), -EINVAL);
}

/* buf_gpa not 16-aligned: the RSDP moves to the next 16-byte boundary, the FACS stays 64-aligned. */
static void test_unaligned_gpa(void **state)
{
	struct acpi_gen_config cfg = default_config(3);
	u64 rsdp_gpa = 0;

	build_and_map(&cfg, BIOS_AREA + 8, &rsdp_gpa);
	assert_int_equal(rsdp_gpa, BIOS_AREA + 16);
	scan_and_parse(rsdp_gpa);
	check_parsed(3);
	check_facs();
}

/* Optional parts: no PM timer, no reset register; the boot flags follow the device list. */
static void test_options(void **state)
{
	struct acpi_gen_config cfg = default_config(2);
	const struct acpi_fadt_info *f = &acpi.fadt;
	u64 rsdp_gpa;

	cfg.pm_tmr_port = 0;
	cfg.reset_port = 0;
	cfg.has_i8042 = true;
	cfg.has_vga = true;
	cfg.has_cmos_rtc = true;
	cfg.rtc_century = 0x32;
	cfg.has_msi = true;
	cfg.legacy_devices = false;
	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	assert_int_equal(shim_log_count[LOG_WARN], 0);
	assert_true(f->present);
	assert_int_equal(f->pm_timer.address, 0);
	assert_int_equal(f->pm_timer_port, 0);
	assert_false(f->flags & ACPI_FADT_RESET_REG_SUP);
	assert_false(f->reset_supported);
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_ARCH_8042);
	assert_int_equal(f->century, 0x32);
	assert_true(f->s5_valid);
	assert_int_equal(acpi.madt.nr_cpus_enabled, 2);

	/* Without an RTC the century index is not given, whatever the config says. */
	cfg.has_cmos_rtc = false;
	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	assert_int_equal(f->century, 0);
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_ARCH_8042 | ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT);
}

/* The parser really checks what these tests rely on: a flipped bit in any table it reads is caught. */
static void test_corruption_detected(void **state)
{
	static const char *const sigs[] = { "XSDT", "FACP", "APIC", "DSDT" };
	struct acpi_gen_config cfg = default_config(2);
	struct acpi_table_info tables[ACPI_MAX_TABLES];
	struct fake_region *r;
	u8 rsdp[ACPI_RSDP_V2_LEN];
	u32 nr, i, k, off;
	u64 rsdp_gpa;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	r = fake_find("BIOS");
	assert_non_null(r);
	memcpy(rsdp, r->buf, sizeof(rsdp));
	assert_int_equal(acpi_init(rsdp, sizeof(rsdp)), 0);
	nr = acpi.nr_tables;
	memcpy(tables, acpi.tables, sizeof(tables));
	for (k = 0; k < ARRAY_SIZE(sigs); k++) {
		const struct acpi_table_info *t = NULL;

		for (i = 0; i < nr; i++)
			if (strcmp(tables[i].sig, sigs[k]) == 0)
				t = &tables[i];
		assert_non_null(t);
		for (off = 0; off < t->length; off++) {
			u8 *p = r->buf + (t->pa - BIOS_AREA) + off;

			*p ^= 0x40;
			shim_log_reset();
			acpi_init(rsdp, sizeof(rsdp));
			*p ^= 0x40;
			assert_true(shim_log_count[LOG_WARN] > 0);
		}
	}
	shim_log_reset();
	assert_int_equal(acpi_init(rsdp, sizeof(rsdp)), 0);
	check_parsed(2);
}

/*
 * The PCI root bridge in the DSDT, read back by a decoder written here from ACPI 6.4 chapter 20
 * and §6.4 (not the emitter's code): the objects of \_SB.PCI0, every _CRS descriptor with its
 * checksum, and every _PRT entry.
 */
struct rd {
	const u8 *p;
	size_t pos, end;
};

static u8 rd8(struct rd *r)
{
	assert_true(r->pos < r->end);
	return r->p[r->pos++];
}

static u64 rdle(struct rd *r, unsigned n)
{
	u64 v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (u64)rd8(r) << (8 * i);
	return v;
}

/* PkgLength at pos (§20.2.4): returns the offset where the object ends. */
static size_t rd_pkglen(struct rd *r)
{
	size_t start = r->pos;
	u8 lead = rd8(r);
	unsigned follow = lead >> 6;
	size_t len = follow ? lead & 0xf : lead & 0x3f;

	if (follow)
		assert_int_equal(lead & 0x30, 0);
	for (unsigned i = 0; i < follow; i++)
		len |= (size_t)rd8(r) << (4 + 8 * i);
	assert_true(start + len <= r->end);
	return start + len;
}

static void rd_seg(struct rd *r, const char *seg)
{
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(rd8(r), (u8)seg[i]);
}

static u64 rd_int(struct rd *r)
{
	u8 op = rd8(r);

	switch (op) {
	case 0x00:
		return 0;
	case 0x01:
		return 1;
	case 0x0a:
		return rdle(r, 1);
	case 0x0b:
		return rdle(r, 2);
	case 0x0c:
		return rdle(r, 4);
	case 0x0e:
		return rdle(r, 8);
	}
	fail_msg("not an integer: opcode %#x at %zu", op, r->pos - 1);
	return 0;
}

static u64 rd_name_int(struct rd *r, const char *seg)
{
	assert_int_equal(rd8(r), 0x08);
	rd_seg(r, seg);
	return rd_int(r);
}

static struct acpi_gen_config pci_config(void)
{
	struct acpi_gen_config cfg = default_config(2);

	cfg.has_msi = true;
	cfg.has_pci = true;
	cfg.pci_io_first = 0xc000;
	cfg.pci_io_last = 0xffff;
	cfg.pci_mem32_first = 0xc0000000;
	cfg.pci_mem32_last = 0xfebfffff;
	cfg.pci_mem64_first = 0x100000000ull;
	cfg.pci_mem64_last = 0x8ffffffffull;
	cfg.pci_gsi_base = 16;
	cfg.pci_nr_gsis = 8;
	return cfg;
}

/* One address space descriptor (§6.4.3.5.1-3), checked whole: a producer window first..last. */
static void rd_addr_desc(struct rd *r, u8 tag, unsigned w, u8 type, u8 tflags, u64 first, u64 last)
{
	assert_int_equal(rd8(r), tag);
	assert_int_equal(rdle(r, 2), 3 + 5 * w);
	assert_int_equal(rd8(r), type);
	assert_int_equal(rd8(r), 0x0c); /* producer, positive decode, minimum and maximum fixed */
	assert_int_equal(rd8(r), tflags);
	assert_int_equal(rdle(r, w), 0); /* granularity */
	assert_int_equal(rdle(r, w), first);
	assert_int_equal(rdle(r, w), last);
	assert_int_equal(rdle(r, w), 0); /* translation */
	assert_int_equal(rdle(r, w), last - first + 1);
}

static void check_crs(struct rd *r, const struct acpi_gen_config *cfg)
{
	size_t end, data;
	u8 sum = 0;

	assert_int_equal(rd8(r), 0x11); /* BufferOp */
	end = rd_pkglen(r);
	{
		u64 size = rd_int(r);

		assert_int_equal(size, end - r->pos); /* BufferSize: the bytes that follow */
	}
	data = r->pos;
	for (size_t i = data; i < end; i++)
		sum = (u8)(sum + r->p[i]);
	assert_int_equal(sum, 0);	      /* End Tag checksum: the template sums to 0 */
	rd_addr_desc(r, 0x88, 2, 2, 0, 0, 0); /* WordBusNumber 0-0 */
	assert_int_equal(rd8(r), 0x47);	      /* IO, Decode16, 0xcf8, 8 ports */
	assert_int_equal(rd8(r), 1);
	assert_int_equal(rdle(r, 2), 0xcf8);
	assert_int_equal(rdle(r, 2), 0xcf8);
	assert_int_equal(rd8(r), 1);
	assert_int_equal(rd8(r), 8);
	rd_addr_desc(r, 0x88, 2, 1, 3, cfg->pci_io_first, cfg->pci_io_last);	   /* WordIO */
	rd_addr_desc(r, 0x87, 4, 0, 1, cfg->pci_mem32_first, cfg->pci_mem32_last); /* DWordMemory */
	rd_addr_desc(r, 0x8a, 8, 0, 3, cfg->pci_mem64_first, cfg->pci_mem64_last); /* QWordMemory */
	assert_int_equal(rd8(r), 0x79);
	rd8(r);
	assert_int_equal(r->pos, end);
}

static void check_prt(struct rd *r, const struct acpi_gen_config *cfg)
{
	bool seen[32][4];
	size_t end;
	u32 n;

	memset(seen, 0, sizeof(seen));
	assert_int_equal(rd8(r), 0x12);
	end = rd_pkglen(r);
	n = rd8(r);
	assert_int_equal(n, 32 * 4);
	for (u32 i = 0; i < n; i++) {
		size_t e_end;
		u64 addr, pin, gsi;

		assert_int_equal(rd8(r), 0x12);
		e_end = rd_pkglen(r);
		assert_int_equal(rd8(r), 4);
		addr = rd_int(r);
		pin = rd_int(r);
		assert_int_equal(rd_int(r), 0); /* Source: none, a GSI follows */
		gsi = rd_int(r);
		assert_int_equal(r->pos, e_end);
		assert_int_equal(addr & 0xffff, 0xffff); /* any function of the slot */
		assert_true((addr >> 16) < 32);
		assert_true(pin < 4);
		assert_false(seen[addr >> 16][pin]);
		seen[addr >> 16][pin] = true;
		assert_int_equal(gsi, cfg->pci_gsi_base + ((addr >> 16) + pin) % cfg->pci_nr_gsis);
		assert_true(gsi >= 16 && gsi < 24); /* the I/O APIC's pins above the ISA IRQs */
	}
	assert_int_equal(r->pos, end);
}

static void test_dsdt_pci(void **state)
{
	struct acpi_gen_config cfg = pci_config();
	const struct acpi_sdt_header *h;
	struct rd r;
	size_t scope_end, dev_end;
	u64 rsdp_gpa;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	assert_int_equal(shim_log_count[LOG_WARN] + shim_log_count[LOG_ERR], 0);
	assert_true(acpi.fadt.s5_valid); /* the host's AML scanner still finds \_S5_ */
	assert_int_equal(acpi.fadt.iapc_boot_arch & ACPI_BOOT_ARCH_MSI_NOT_SUPPORTED, 0);
	h = acpi_get_table("DSDT", NULL);
	assert_non_null(h);
	r = (struct rd){ .p = (const u8 *)h, .pos = sizeof(*h), .end = h->length };
	/* \_S5_ first, then Scope (\_SB) { Device (PCI0) { ... } } and nothing after. */
	assert_int_equal(rd8(&r), 0x08);
	rd_seg(&r, "_S5_");
	assert_int_equal(rd8(&r), 0x12);
	r.pos = rd_pkglen(&r);
	assert_int_equal(rd8(&r), 0x10);
	scope_end = rd_pkglen(&r);
	assert_int_equal(scope_end, h->length);
	assert_int_equal(rd8(&r), '\\');
	rd_seg(&r, "_SB_");
	assert_int_equal(rd8(&r), 0x5b);
	assert_int_equal(rd8(&r), 0x82);
	dev_end = rd_pkglen(&r);
	assert_int_equal(dev_end, scope_end);
	rd_seg(&r, "PCI0");
	assert_int_equal(rd_name_int(&r, "_HID"), 0x080ad041); /* EISAID("PNP0A08") */
	assert_int_equal(rd_name_int(&r, "_CID"), 0x030ad041); /* EISAID("PNP0A03") */
	assert_int_equal(rd_name_int(&r, "_SEG"), 0);
	assert_int_equal(rd_name_int(&r, "_BBN"), 0);
	assert_int_equal(rd_name_int(&r, "_UID"), 0);
	assert_int_equal(rd8(&r), 0x08);
	rd_seg(&r, "_CRS");
	check_crs(&r, &cfg);
	assert_int_equal(rd8(&r), 0x08);
	rd_seg(&r, "_PRT");
	check_prt(&r, &cfg);
	assert_int_equal(r.pos, dev_end);

	/* Without a 64-bit window, no QWordMemory; other GSI counts rotate over that many. */
	cfg.pci_mem64_first = cfg.pci_mem64_last = 0;
	cfg.pci_nr_gsis = 4;
	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	h = acpi_get_table("DSDT", NULL);
	assert_non_null(h);
	assert_non_null(memmem(h, h->length, (const u8[]){ 0x87, 0x17, 0x00 }, 3));
	assert_null(memmem(h, h->length, (const u8[]){ 0x8a, 0x2b, 0x00 }, 3));
}

static void test_dsdt_pci_invalid(void **state)
{
	static u8 b[BUF_SIZE];
	u64 rsdp_gpa;
	struct acpi_gen_config cfg;

#define BAD(field, v)       \
	cfg = pci_config(); \
	cfg.field = v;      \
	assert_int_equal(acpi_gen_build(&cfg, b, sizeof(b), BIOS_AREA, &rsdp_gpa), -EINVAL)
	BAD(pci_io_last, 0xbfff);
	BAD(pci_mem32_last, 0xbfffffff);
	BAD(pci_mem64_last, 0xffffffff);
	BAD(pci_nr_gsis, 0);
	BAD(pci_nr_gsis, 33);
#undef BAD
}

/* iasl (acpica-tools, `make deps`) disassembles the DSDT without complaint and finds the same. */
static void test_dsdt_iasl(void **state)
{
	struct acpi_gen_config cfg = pci_config();
	const struct acpi_sdt_header *h;
	char dir[] = "/tmp/keel-dsdt-XXXXXX", cmd[256], path[128], *dsl;
	static const char *const want[] = {
		"Device (PCI0)",
		"Name (_HID, EisaId (\"PNP0A08\")",
		"Name (_CID, EisaId (\"PNP0A03\")",
		"WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
		"IO (Decode16,\n                    0x0CF8,",
		"WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		"0xC000,             // Range Minimum",
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
		"0xFEBFFFFF,         // Range Maximum",
		"QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
		"0x00000008FFFFFFFF, // Range Maximum",
		"Name (_PRT, Package (0x80)",
		/* slot 31, INTD: GSI 16 + (31 + 3) % 8 */
		"0x001FFFFF, \n                    0x03, \n                    Zero, \n                    0x12\n",
	};
	FILE *f;
	long n;
	u64 rsdp_gpa;

	build_and_map(&cfg, BIOS_AREA, &rsdp_gpa);
	scan_and_parse(rsdp_gpa);
	h = acpi_get_table("DSDT", NULL);
	assert_non_null(h);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, h->length, f), h->length);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1 && ! grep -qi 'error\\|warning' iasl.log",
		 dir);
	if (system(cmd) != 0)
		fail_msg("iasl -d failed or complained (is acpica-tools installed? `make deps`); see %s/iasl.log", dir);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	dsl = calloc(1, (size_t)n + 1);
	assert_non_null(dsl);
	assert_int_equal(fread(dsl, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (!strstr(dsl, want[i])) {
			free(dsl);
			fail_msg("iasl's disassembly (%s/dsdt.dsl) lacks: %s", dir, want[i]);
		}
	}
	free(dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_parse_1cpu, fake_teardown),
		cmocka_unit_test_teardown(test_parse_8cpus, fake_teardown),
		cmocka_unit_test_teardown(test_parse_max_cpus, fake_teardown),
		cmocka_unit_test_teardown(test_rsdt, fake_teardown),
		cmocka_unit_test_teardown(test_checksums, fake_teardown),
		cmocka_unit_test_teardown(test_s5_aml, fake_teardown),
		cmocka_unit_test_teardown(test_enospc, fake_teardown),
		cmocka_unit_test_teardown(test_invalid_config, fake_teardown),
		cmocka_unit_test_teardown(test_unaligned_gpa, fake_teardown),
		cmocka_unit_test_teardown(test_options, fake_teardown),
		cmocka_unit_test_teardown(test_corruption_detected, fake_teardown),
		cmocka_unit_test_teardown(test_dsdt_pci, fake_teardown),
		cmocka_unit_test_teardown(test_dsdt_pci_invalid, fake_teardown),
		cmocka_unit_test_teardown(test_dsdt_iasl, fake_teardown),
	};

	return cmocka_run_group_tests_name("acpi_gen: VM tables read back by the host parser", tests, NULL, NULL);
}
