/* SPDX-License-Identifier: MIT */
/*
 * The host's CMOS RTC, read once to give VMs a wall-clock time. Registers as in the MC146818A
 * datasheet: seconds 0x00, minutes 0x02, hours 0x04, day 0x07, month 0x08, year 0x09, status A
 * (UIP, bit 7) and B (DM bit 2: binary, 24/12 bit 1), century 0x32 (ACPI FADT's usual index).
 */
#include "arch/x86/cmos.h"

#include "arch/x86/io.h"
#include "kernel/lib/calendar.h"

#define RTC_INDEX 0x70
#define RTC_DATA  0x71

static u8 cmos_read(u8 reg)
{
	outb(RTC_INDEX, reg); /* bit 7 clear: NMIs stay enabled */
	return inb(RTC_DATA);
}

static u8 bcd(u8 v, bool binary)
{
	return binary ? v : (u8)((v >> 4) * 10 + (v & 0xf));
}

u64 cmos_unix_time(void)
{
	static u64 cached;
	u8 r[7], again[7], b;
	unsigned hour;
	int tries;

	if (cached)
		return cached;
	/* Read while no update is in progress, until two reads agree (the datasheet's method). */
	for (tries = 0; tries < 10; tries++) {
		for (int spin = 0; spin < 100000 && (cmos_read(0x0a) & 0x80); spin++)
			;
		r[0] = cmos_read(0x00), r[1] = cmos_read(0x02), r[2] = cmos_read(0x04), r[3] = cmos_read(0x07);
		r[4] = cmos_read(0x08), r[5] = cmos_read(0x09), r[6] = cmos_read(0x32);
		again[0] = cmos_read(0x00), again[1] = cmos_read(0x02), again[2] = cmos_read(0x04);
		again[3] = cmos_read(0x07), again[4] = cmos_read(0x08), again[5] = cmos_read(0x09);
		again[6] = cmos_read(0x32);
		if (!__builtin_memcmp(r, again, sizeof(r)))
			break;
	}
	b = cmos_read(0x0b);
	hour = bcd(r[2] & 0x7f, b & 4);
	if (!(b & 2) && (r[2] & 0x80))
		hour = (hour % 12) + 12; /* 12-hour clock, PM */
	else if (!(b & 2) && hour == 12)
		hour = 0;
	{
		unsigned year = bcd(r[5], b & 4), century = bcd(r[6], b & 4), month = bcd(r[4], b & 4),
			 day = bcd(r[3], b & 4), min = bcd(r[1], b & 4), sec = bcd(r[0], b & 4);
		s64 days;

		if (century < 19 || century > 99)
			century = 20; /* no century register */
		if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
			return 0;
		days = days_from_civil(century * 100 + year, month, day);
		if (days < 0)
			return 0;
		cached = (u64)days * 86400 + hour * 3600 + min * 60 + sec;
	}
	return cached;
}
