/* SPDX-License-Identifier: MIT */
/* The virtual MC146818 RTC: calendar, formats, setting the time, UIP and the three interrupts. */
#include "shim.h"

#include "kernel/lib/calendar.h"
#include "vmm/dev/vrtc.h"

#define SEC 1000000000ull
/* 2024-02-29 23:59:58 UTC, a Thursday. */
#define LEAP_EVE 1709251198ull

static u8 rd(struct vrtc *r, u8 index, u64 now)
{
	vrtc_write(r, VRTC_PORT_INDEX, index, now);
	return vrtc_read(r, VRTC_PORT_DATA, now);
}

static void wr(struct vrtc *r, u8 index, u8 val, u64 now)
{
	vrtc_write(r, VRTC_PORT_INDEX, index, now);
	vrtc_write(r, VRTC_PORT_DATA, val, now);
}

static void test_calendar(void **state)
{
	static const struct {
		s64 y;
		unsigned m, d;
		s64 days;
	} known[] = {
		{ 1970, 1, 1, 0 },	{ 1969, 12, 31, -1 },	   { 2000, 2, 29, 11016 }, { 2000, 3, 1, 11017 },
		{ 2024, 2, 29, 19782 }, { 2100, 2, 28, 47540 },	   { 2100, 3, 1, 47541 },  { 1900, 3, 1, -25508 },
		{ 2038, 1, 19, 24855 }, { 9999, 12, 31, 2932896 },
	};
	s64 y, prev_y;
	unsigned m, d, prev_m, prev_d;

	for (unsigned i = 0; i < ARRAY_SIZE(known); i++) {
		assert_int_equal(days_from_civil(known[i].y, known[i].m, known[i].d), known[i].days);
		civil_from_days(known[i].days, &y, &m, &d);
		assert_int_equal(y, known[i].y);
		assert_int_equal(m, known[i].m);
		assert_int_equal(d, known[i].d);
	}
	/* 2100 is not a leap year: 28 February is followed by 1 March. */
	civil_from_days(47540 + 1, &y, &m, &d);
	assert_int_equal(m * 100 + d, 301);
	/* Every day from 1600 to 2500 follows the one before and converts back to itself. */
	civil_from_days(-135140 - 1, &prev_y, &prev_m, &prev_d);
	for (s64 z = -135140; z < 194000; z++) {
		civil_from_days(z, &y, &m, &d);
		assert_int_equal(days_from_civil(y, m, d), z);
		if (d != prev_d + 1)
			assert_true(d == 1 && (m == prev_m % 12 + 1) && (m != 1 || y == prev_y + 1));
		prev_y = y, prev_m = m, prev_d = d;
	}
}

static void test_time_formats(void **state)
{
	struct vrtc r;
	u64 t0 = 123456789;

	vrtc_init(&r, LEAP_EVE, t0);
	/* BCD, 24-hour. */
	assert_int_equal(rd(&r, VRTC_SEC, t0), 0x58);
	assert_int_equal(rd(&r, VRTC_MIN, t0), 0x59);
	assert_int_equal(rd(&r, VRTC_HOUR, t0), 0x23);
	assert_int_equal(rd(&r, VRTC_WDAY, t0), 5);
	assert_int_equal(rd(&r, VRTC_MDAY, t0), 0x29);
	assert_int_equal(rd(&r, VRTC_MONTH, t0), 0x02);
	assert_int_equal(rd(&r, VRTC_YEAR, t0), 0x24);
	assert_int_equal(rd(&r, VRTC_CENTURY_INDEX, t0), 0x20);
	assert_int_equal(rd(&r, VRTC_SEC, t0 + SEC - 1), 0x58);
	assert_int_equal(rd(&r, VRTC_SEC, t0 + SEC), 0x59);
	/* Two seconds on: Friday 1 March. */
	assert_int_equal(rd(&r, VRTC_SEC, t0 + 2 * SEC), 0x00);
	assert_int_equal(rd(&r, VRTC_HOUR, t0 + 2 * SEC), 0x00);
	assert_int_equal(rd(&r, VRTC_MDAY, t0 + 2 * SEC), 0x01);
	assert_int_equal(rd(&r, VRTC_MONTH, t0 + 2 * SEC), 0x03);
	assert_int_equal(rd(&r, VRTC_WDAY, t0 + 2 * SEC), 6);
	/* 12-hour: midnight is 12 AM, 23:59 is 11 PM. */
	wr(&r, VRTC_REG_B, 0x00, t0);
	assert_int_equal(rd(&r, VRTC_HOUR, t0), 0x80 | 0x11);
	assert_int_equal(rd(&r, VRTC_HOUR, t0 + 2 * SEC), 0x12);
	assert_int_equal(rd(&r, VRTC_HOUR, t0 + 2 * SEC + 12 * 3600 * SEC), 0x80 | 0x12);
	assert_int_equal(rd(&r, VRTC_HOUR, t0 + 2 * SEC + 13 * 3600 * SEC), 0x80 | 0x01);
	/* Binary, 24-hour. */
	wr(&r, VRTC_REG_B, VRTC_B_DM | VRTC_B_24H, t0);
	assert_int_equal(rd(&r, VRTC_SEC, t0), 58);
	assert_int_equal(rd(&r, VRTC_HOUR, t0), 23);
	assert_int_equal(rd(&r, VRTC_YEAR, t0), 24);
	assert_int_equal(rd(&r, VRTC_CENTURY_INDEX, t0), 20);
}

/* As Linux's mc146818_set_time: SET, the time bytes, then B restored. */
static void test_set_time(void **state)
{
	struct vrtc r;
	u64 t = 1000;

	vrtc_init(&r, LEAP_EVE, 0);
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_UIE, t);
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_UIE | VRTC_B_SET, t);
	assert_int_equal(rd(&r, VRTC_REG_B, t), VRTC_B_24H | VRTC_B_SET); /* SET clears UIE */
	/* The clock stands still while SET is 1. */
	assert_int_equal(rd(&r, VRTC_SEC, t + 5 * SEC), 0x58);
	wr(&r, VRTC_YEAR, 0x00, t);
	wr(&r, VRTC_MONTH, 0x02, t);
	wr(&r, VRTC_MDAY, 0x28, t);
	wr(&r, VRTC_HOUR, 0x23, t);
	wr(&r, VRTC_MIN, 0x59, t);
	wr(&r, VRTC_SEC, 0x59, t);
	wr(&r, VRTC_CENTURY_INDEX, 0x21, t);
	assert_int_equal(rd(&r, VRTC_SEC, t + 10 * SEC), 0x59);
	assert_int_equal(rd(&r, VRTC_REG_A, t + 10 * SEC - 1000) & VRTC_A_UIP, 0); /* no UIP under SET */
	t += 10 * SEC;
	wr(&r, VRTC_REG_B, VRTC_B_24H, t);
	/* 2100 is not a leap year. */
	assert_int_equal(rd(&r, VRTC_SEC, t + SEC - 1), 0x59);
	assert_int_equal(rd(&r, VRTC_SEC, t + SEC), 0x00);
	assert_int_equal(rd(&r, VRTC_MDAY, t + SEC), 0x01);
	assert_int_equal(rd(&r, VRTC_MONTH, t + SEC), 0x03);
	assert_int_equal(rd(&r, VRTC_YEAR, t + SEC), 0x00);
	assert_int_equal(rd(&r, VRTC_CENTURY_INDEX, t + SEC), 0x21);
	assert_int_equal(rd(&r, VRTC_WDAY, t + SEC), 2); /* Monday 1 March 2100 */
	assert_int_equal(r.base_secs, days_from_civil(2100, 2, 28) * 86400 + 86399);

	/* A time byte written without SET takes effect at once; binary 12-hour 1 PM. */
	wr(&r, VRTC_REG_B, VRTC_B_DM, t);
	wr(&r, VRTC_HOUR, 0x80 | 1, t);
	assert_int_equal(rd(&r, VRTC_HOUR, t), 0x81);
	assert_int_equal(rd(&r, VRTC_HOUR, t + SEC), 0x82);
	wr(&r, VRTC_REG_B, VRTC_B_DM | VRTC_B_24H, t);
	assert_int_equal(rd(&r, VRTC_HOUR, t), 13);
	assert_int_equal(rd(&r, VRTC_MDAY, t), 28);
}

static void test_uip(void **state)
{
	struct vrtc r;
	u64 t0 = 7 * SEC + 3;

	vrtc_init(&r, 1000, t0);
	assert_int_equal(rd(&r, VRTC_REG_A, t0), 0x26);
	assert_int_equal(rd(&r, VRTC_REG_A, t0 + SEC / 2), 0x26);
	assert_int_equal(rd(&r, VRTC_REG_A, t0 + SEC - 244000 - 1), 0x26);
	assert_int_equal(rd(&r, VRTC_REG_A, t0 + SEC - 244000), 0x80 | 0x26);
	assert_int_equal(rd(&r, VRTC_REG_A, t0 + SEC - 1), 0x80 | 0x26);
	assert_int_equal(rd(&r, VRTC_REG_A, t0 + SEC), 0x26);
	/* A Linux-style reader that waits for UIP to fall always finds it falling within a second. */
	unsigned polls = 0;
	for (u64 t = t0 + 2 * SEC - 200000; rd(&r, VRTC_REG_A, t) & VRTC_A_UIP; t += 10000)
		polls++;
	assert_in_range(polls, 19, 21);
	/* UIP is read-only; the divider and rate are stored. */
	wr(&r, VRTC_REG_A, 0xff, t0);
	assert_int_equal(rd(&r, VRTC_REG_A, t0), 0x7f);
	/* Register D: valid RAM and time, read-only. */
	wr(&r, VRTC_REG_D, 0x00, t0);
	assert_int_equal(rd(&r, VRTC_REG_D, t0), 0x80);
	/* Plain CMOS RAM, the NMI bit of the index kept but not part of it, port 0x70 write-only. */
	wr(&r, 0x80 | 0x10, 0x44, t0);
	assert_int_equal(r.index, 0x90);
	assert_int_equal(rd(&r, 0x10, t0), 0x44);
	wr(&r, 0x7f, 0x99, t0);
	assert_int_equal(r.cmos[0x7f], 0x99);
	assert_int_equal(vrtc_read(&r, VRTC_PORT_INDEX, t0), 0xff);
}

static void test_periodic_no_storm(void **state)
{
	struct vrtc r;
	u64 t0 = 0;

	vrtc_init(&r, 1000, t0);
	assert_int_equal(vrtc_next_ns(&r), 0); /* nothing enabled */
	wr(&r, VRTC_REG_A, 0x20 | 15, t0);     /* 2 Hz */
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_PIE, t0);
	assert_int_equal(vrtc_next_ns(&r), SEC / 2);
	assert_false(vrtc_poll(&r, SEC / 2 - 1));
	assert_true(vrtc_poll(&r, SEC / 2));
	assert_int_equal(rd(&r, VRTC_REG_C, SEC / 2), VRTC_C_IRQF | VRTC_C_PF);
	assert_int_equal(rd(&r, VRTC_REG_C, SEC / 2), 0); /* read clears */
	assert_int_equal(vrtc_next_ns(&r), SEC);

	/* A hostile 8192 Hz: one interrupt, then none until C is read, whatever the polling. */
	wr(&r, VRTC_REG_A, 0x20 | 3, SEC / 2);
	assert_int_equal(vrtc_next_ns(&r), SEC / 2 + 122070);
	assert_true(vrtc_poll(&r, 2 * SEC));
	for (u64 t = 2 * SEC; t < 3 * SEC; t += 50000)
		assert_false(vrtc_poll(&r, t));
	assert_int_equal(vrtc_next_ns(&r), 0); /* no wake-ups while the line is up */
	/* The flags accumulated: PF, and UF from the seconds that passed. */
	assert_int_equal(rd(&r, VRTC_REG_C, 3 * SEC), VRTC_C_IRQF | VRTC_C_PF | VRTC_C_UF);
	assert_in_range(vrtc_next_ns(&r), 3 * SEC, 3 * SEC + 122071);
	assert_true(vrtc_poll(&r, 4 * SEC));
	/* Rates 1 and 2 are 256 and 128 Hz. */
	rd(&r, VRTC_REG_C, 4 * SEC);
	wr(&r, VRTC_REG_A, 0x20 | 1, 4 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 4 * SEC + 3906250);
	wr(&r, VRTC_REG_A, 0x20 | 2, 4 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 4 * SEC + 7812500);
	/* Rate 0 stops it. */
	wr(&r, VRTC_REG_A, 0x20, 4 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 0);
	assert_false(vrtc_poll(&r, 10 * SEC));
}

static void test_enable_with_flag_set(void **state)
{
	struct vrtc r;

	vrtc_init(&r, 1000, 0);
	/* PF is set at the periodic rate even with PIE clear, but raises nothing. */
	assert_false(vrtc_poll(&r, SEC / 100));
	assert_int_equal(r.cmos[VRTC_REG_C], VRTC_C_PF);
	/* Enabling PIE with PF already set raises IRQF at once. */
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_PIE, SEC / 100);
	assert_int_equal(vrtc_next_ns(&r), 1);
	assert_true(vrtc_poll(&r, SEC / 100));
	/* Clearing PIE drops IRQF (it is PF.PIE + AF.AIE + UF.UIE); enabling again raises again. */
	wr(&r, VRTC_REG_B, VRTC_B_24H, SEC / 100);
	assert_int_equal(r.cmos[VRTC_REG_C] & VRTC_C_IRQF, 0);
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_PIE, SEC / 100);
	assert_true(vrtc_poll(&r, SEC / 100));
}

static void test_update_interrupt(void **state)
{
	struct vrtc r;
	u64 t0 = 300;

	vrtc_init(&r, 1000, t0);
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_UIE, t0 + 5);
	assert_int_equal(vrtc_next_ns(&r), t0 + SEC);
	assert_false(vrtc_poll(&r, t0 + SEC - 1));
	assert_true(vrtc_poll(&r, t0 + SEC));
	assert_int_equal(rd(&r, VRTC_REG_C, t0 + SEC) & ~VRTC_C_PF, VRTC_C_IRQF | VRTC_C_UF);
	assert_int_equal(vrtc_next_ns(&r), t0 + 2 * SEC);
	/* The seconds byte has moved on when the update interrupt arrives. */
	assert_int_equal(rd(&r, VRTC_SEC, t0 + 2 * SEC), (1002 % 60 / 10) << 4 | 1002 % 10);
}

static void test_alarm(void **state)
{
	struct vrtc r;
	u64 t0 = 0;

	/* 13:05:09 */
	vrtc_init(&r, 1720098309, t0);
	wr(&r, VRTC_ALARM_HOUR, 0x13, t0);
	wr(&r, VRTC_ALARM_MIN, 0x05, t0);
	wr(&r, VRTC_ALARM_SEC, 0x12, t0);
	wr(&r, VRTC_REG_B, VRTC_B_24H | VRTC_B_AIE, t0);
	assert_int_equal(vrtc_next_ns(&r), 3 * SEC);
	assert_false(vrtc_poll(&r, 3 * SEC - 1));
	assert_true(vrtc_poll(&r, 3 * SEC));
	assert_int_equal(rd(&r, VRTC_REG_C, 3 * SEC) & ~(VRTC_C_PF | VRTC_C_UF), VRTC_C_IRQF | VRTC_C_AF);
	assert_int_equal(vrtc_next_ns(&r), (3 + 86400) * SEC); /* the same time tomorrow */
	/* Don't-care seconds: every second of 13:06. */
	wr(&r, VRTC_ALARM_MIN, 0x06, 3 * SEC);
	wr(&r, VRTC_ALARM_SEC, 0xc0, 3 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 51 * SEC);
	assert_true(vrtc_poll(&r, 51 * SEC));
	rd(&r, VRTC_REG_C, 51 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 52 * SEC);
	assert_true(vrtc_poll(&r, 52 * SEC));
	rd(&r, VRTC_REG_C, 52 * SEC);
	/* All don't care: every second. Hour don't care, minute and second given: every hour. */
	wr(&r, VRTC_ALARM_MIN, 0xff, 52 * SEC);
	wr(&r, VRTC_ALARM_HOUR, 0xff, 52 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 53 * SEC);
	wr(&r, VRTC_ALARM_MIN, 0x00, 52 * SEC);
	wr(&r, VRTC_ALARM_SEC, 0x00, 52 * SEC);
	assert_int_equal(vrtc_next_ns(&r), (3600 - 309) * SEC);
	/* 12-hour mode compares 12-hour bytes: 1 PM. */
	wr(&r, VRTC_REG_B, VRTC_B_AIE, 52 * SEC);
	wr(&r, VRTC_ALARM_HOUR, 0x81, 52 * SEC);
	wr(&r, VRTC_ALARM_MIN, 0x06, 52 * SEC);
	wr(&r, VRTC_ALARM_SEC, 0x30, 52 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 81 * SEC);
	/* A byte no time can have never matches. */
	wr(&r, VRTC_ALARM_SEC, 0x60, 52 * SEC);
	assert_int_equal(vrtc_next_ns(&r), 0);
	assert_false(vrtc_poll(&r, 200000 * SEC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar),	  cmocka_unit_test(test_time_formats),
		cmocka_unit_test(test_set_time),	  cmocka_unit_test(test_uip),
		cmocka_unit_test(test_periodic_no_storm), cmocka_unit_test(test_enable_with_flag_set),
		cmocka_unit_test(test_update_interrupt),  cmocka_unit_test(test_alarm),
	};

	return cmocka_run_group_tests_name("virtual MC146818 RTC", tests, NULL, NULL);
}
