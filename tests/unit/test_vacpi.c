/* SPDX-License-Identifier: MIT */
/* ACPI fixed hardware, the 0xCF9 reset register and the 8042's reset line. */
#include "shim.h"

#include "vmm/acpi_gen.h"
#include "vmm/dev/vacpi.h"

#define SEC 1000000000ull

static void test_pm_timer(void **state)
{
	struct vacpi a;
	u64 t0 = 12345678;

	vacpi_reset(&a, t0);
	assert_int_equal(vacpi_pm_timer(&a, t0), 0);
	assert_int_equal(vacpi_pm_timer(&a, t0 + SEC), 3579545);
	assert_int_equal(vacpi_pm_timer(&a, t0 + 1000), 3); /* 3.58 ticks a microsecond */
	/* 24 bits: 5 s is 17897725 ticks, past 2^24. */
	assert_int_equal(vacpi_pm_timer(&a, t0 + 5 * SEC), 17897725 - 0x1000000);
	/* A clock read before the reset (another CPU's skew) reads 0, not garbage. */
	assert_int_equal(vacpi_pm_timer(&a, t0 - 1), 0);
	/* Partial reads: each byte, and the top byte is always 0. */
	assert_int_equal(vacpi_pm_tmr_read(&a, 0, 4, t0 + SEC), 3579545);
	assert_int_equal(vacpi_pm_tmr_read(&a, 1, 1, t0 + SEC), (3579545 >> 8) & 0xff);
	assert_int_equal(vacpi_pm_tmr_read(&a, 2, 2, t0 + SEC), (3579545 >> 16) | 0x0000);
	assert_int_equal(vacpi_pm_tmr_read(&a, 3, 1, t0 + SEC), 0);
	assert_int_equal(vacpi_pm_tmr_read(&a, 2, 4, t0 + SEC), 0xffff0000u | (3579545 >> 16));
	assert_int_equal(vacpi_pm_tmr_read(&a, 9, 1, t0 + SEC), 0xff);
}

static void test_tmr_sts(void **state)
{
	struct vacpi a;
	u64 half = (1ull << 23) * SEC / VACPI_PM_TIMER_HZ; /* bit 23 toggles every 2.34 s */

	vacpi_reset(&a, 0);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, half - 1000), 0);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, half + 1000), VACPI_PM1_TMR);
	/* Stays set until written 1; writing 0 leaves it. */
	vacpi_pm1_evt_write(&a, 0, 2, 0);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, half + 2000), VACPI_PM1_TMR);
	vacpi_pm1_evt_write(&a, 0, 1, VACPI_PM1_TMR);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, half + 3000), 0);
	/* A toggle between two reads far apart is still seen, however many there were. */
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, 2 * half - 1000), 0);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 1, 10 * half + 5), VACPI_PM1_TMR);
}

static void test_pm1_evt_partial(void **state)
{
	struct vacpi a;

	vacpi_reset(&a, 0);
	/* EN keeps only the defined enables. */
	vacpi_pm1_evt_write(&a, 2, 2, 0xffff);
	assert_int_equal(vacpi_pm1_evt_read(&a, 2, 2, 0), VACPI_PM1_EN_MASK);
	assert_int_equal(VACPI_PM1_EN_MASK, 0x0721);
	/* One byte at offset 3 is the high byte of EN; offset 2 the low byte. */
	vacpi_pm1_evt_write(&a, 3, 1, 0x00);
	assert_int_equal(vacpi_pm1_evt_read(&a, 2, 2, 0), 0x0021);
	vacpi_pm1_evt_write(&a, 2, 1, 0x00);
	assert_int_equal(a.pm1_en, 0);
	/* A 4-byte write sets EN from its high half and clears STS bits from its low half. */
	a.pm1_sts = VACPI_PM1_WAK_STS | VACPI_PM1_PWRBTN;
	vacpi_pm1_evt_write(&a, 0, 4, (u32)VACPI_PM1_PWRBTN << 16 | VACPI_PM1_PWRBTN);
	assert_int_equal(a.pm1_sts, VACPI_PM1_WAK_STS);
	assert_int_equal(a.pm1_en, VACPI_PM1_PWRBTN);
	/* The high byte of PM1_STS alone. */
	assert_int_equal(vacpi_pm1_evt_read(&a, 1, 1, 0), 0x80);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 4, 0), (u32)VACPI_PM1_PWRBTN << 16 | VACPI_PM1_WAK_STS);
	/* Reads past the block are all ones; writes past it are dropped. */
	assert_int_equal(vacpi_pm1_evt_read(&a, 2, 4, 0), 0xffff0000u | VACPI_PM1_PWRBTN);
	assert_int_equal(vacpi_pm1_evt_read(&a, 4, 1, 0), 0xff);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0xffffffffu, 2, 0), 0xffff);
	vacpi_pm1_evt_write(&a, 3, 4, 0xffffffff);
	assert_int_equal(a.pm1_en, VACPI_PM1_PWRBTN | VACPI_PM1_SLPBTN | VACPI_PM1_RTC);
	vacpi_pm1_evt_write(&a, 1, 1, 0x80); /* WAK_STS cleared through its byte */
	assert_int_equal(a.pm1_sts, 0);
	vacpi_pm1_evt_write(&a, 0xfffffffeu, 4, 0xffffffff);
	assert_int_equal(a.pm1_en, VACPI_PM1_PWRBTN | VACPI_PM1_SLPBTN | VACPI_PM1_RTC);
}

static void test_pm1_cnt(void **state)
{
	struct vacpi a;
	u32 s5 = ACPI_GEN_S5_SLP_TYP << VACPI_PM1_SLP_TYP_SHIFT;

	vacpi_reset(&a, 0);
	assert_int_equal(vacpi_pm1_cnt_read(&a, 0, 2), VACPI_PM1_SCI_EN);
	/* SCI_EN cannot be cleared; GBL_RLS and SLP_EN read 0. */
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 2, VACPI_PM1_GBL_RLS | VACPI_PM1_BM_RLD), VACPI_NONE);
	assert_int_equal(vacpi_pm1_cnt_read(&a, 0, 2), VACPI_PM1_SCI_EN | VACPI_PM1_BM_RLD);
	/* Linux's acpi_hw_legacy_sleep: SLP_TYP first, then SLP_TYP with SLP_EN. */
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 2, s5 | VACPI_PM1_SCI_EN), VACPI_NONE);
	assert_int_equal(vacpi_pm1_cnt_read(&a, 0, 2), s5 | VACPI_PM1_SCI_EN);
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 2, s5 | VACPI_PM1_SLP_EN | VACPI_PM1_SCI_EN), VACPI_POWEROFF);
	assert_int_equal(vacpi_pm1_cnt_read(&a, 0, 2) & VACPI_PM1_SLP_EN, 0);
	/* The same through one byte, the high one: SLP_TYP 5 and SLP_EN are bits 2..5 of it. */
	vacpi_reset(&a, 0);
	assert_int_equal(vacpi_pm1_cnt_write(&a, 1, 1, (s5 | VACPI_PM1_SLP_EN) >> 8), VACPI_POWEROFF);
	/* Writing only the low byte never sleeps; a 4-byte write ignores its upper half. */
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 1, 0xff), VACPI_NONE);
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 4, 0x20000000), VACPI_NONE);
	assert_int_equal(vacpi_pm1_cnt_write(&a, 2, 2, 0xffff), VACPI_NONE);
	assert_int_equal(vacpi_pm1_cnt_read(&a, 0, 4), 0xffff0000u | VACPI_PM1_SCI_EN);
	/* Another sleep type: the caller's choice, and WAK_STS so a waiting OS carries on. */
	assert_int_equal(vacpi_pm1_cnt_write(&a, 0, 2, 1 << VACPI_PM1_SLP_TYP_SHIFT | VACPI_PM1_SLP_EN), VACPI_SLEEP);
	assert_int_equal(vacpi_pm1_evt_read(&a, 0, 2, 0) & VACPI_PM1_WAK_STS, VACPI_PM1_WAK_STS);
}

static void test_cf9(void **state)
{
	struct vacpi a;

	vacpi_reset(&a, 0);
	assert_int_equal(vacpi_cf9_read(&a), 0);
	/* Linux's reboot=pci: SYS_RST first, then RST_CPU with it. */
	assert_int_equal(vacpi_cf9_write(&a, VACPI_CF9_SYS_RST), VACPI_NONE);
	assert_int_equal(vacpi_cf9_read(&a), VACPI_CF9_SYS_RST);
	assert_int_equal(vacpi_cf9_write(&a, VACPI_CF9_SYS_RST | VACPI_CF9_RST_CPU), VACPI_RESET);
	/* Only the 0 -> 1 edge resets. */
	assert_int_equal(vacpi_cf9_write(&a, VACPI_CF9_RST_CPU), VACPI_NONE);
	assert_int_equal(vacpi_cf9_write(&a, 0xf1), VACPI_NONE);
	assert_int_equal(vacpi_cf9_read(&a), 0);
	assert_int_equal(vacpi_cf9_write(&a, 0xff), VACPI_RESET);
	assert_int_equal(vacpi_cf9_read(&a), 0x0e);
}

static void test_kbc(void **state)
{
	struct vacpi a;

	vacpi_reset(&a, 0);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_CMD), 0x1c);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0); /* nothing there */
	/* Command byte read and write. */
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0x20), VACPI_NONE);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_CMD), 0x1d);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0x45);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_CMD), 0x1c);
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0x60);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_DATA, 0x47), VACPI_NONE);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_CMD), 0x14); /* last write was data */
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0x20);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0x47);
	/* Self-test answers. */
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xaa);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0x55);
	/* Data with no command pending is for the (absent) keyboard. */
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_DATA, 0xfe), VACPI_NONE);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0);
	/* The output port: bit 0 written 0 resets, 1 does not. */
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xd1);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_DATA, 0xdf), VACPI_NONE);
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xd0);
	assert_int_equal(vacpi_kbc_read(&a, VACPI_KBC_DATA), 0xdf);
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xd1);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_DATA, 0xde), VACPI_RESET);
	/* A command in between cancels the pending one. */
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xd1);
	vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xad);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_DATA, 0x00), VACPI_NONE);
	/* Pulse commands: 0xFE (the usual one) and any with bit 0 clear reset; 0xFF pulses nothing. */
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xfe), VACPI_RESET);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xf0), VACPI_RESET);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xff), VACPI_NONE);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xfd), VACPI_NONE);
	assert_int_equal(vacpi_kbc_write(&a, VACPI_KBC_CMD, 0xee), VACPI_NONE);
	/* Other ports are not the 8042's. */
	assert_int_equal(vacpi_kbc_write(&a, 0x61, 0x00), VACPI_NONE);
	assert_int_equal(vacpi_kbc_read(&a, 0x61), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm_timer), cmocka_unit_test(test_tmr_sts), cmocka_unit_test(test_pm1_evt_partial),
		cmocka_unit_test(test_pm1_cnt),	 cmocka_unit_test(test_cf9),	 cmocka_unit_test(test_kbc),
	};

	return cmocka_run_group_tests_name("virtual ACPI fixed hardware and reset sources", tests, NULL, NULL);
}
