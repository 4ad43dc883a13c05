/* SPDX-License-Identifier: MIT */
#include "kernel/lib/calendar.h"

#define UNIX_EPOCH_DAY 719468 /* days from 0000-03-01 to 1970-01-01 */
#define DAYS_PER_400Y  146097

/* Civil calendar algorithms after H. Hinnant, "chrono-Compatible Low-Level Date Algorithms":
 * years begin on 1 March, so the leap day is the last day of a year. m is 1..12, d is 1..31. */
s64 days_from_civil(s64 y, unsigned m, unsigned d)
{
	s64 era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_400Y + (s64)doe - UNIX_EPOCH_DAY;
}

void civil_from_days(s64 days, s64 *y, unsigned *m, unsigned *d)
{
	s64 z = days + UNIX_EPOCH_DAY;
	s64 era = (z >= 0 ? z : z - (DAYS_PER_400Y - 1)) / DAYS_PER_400Y;
	unsigned doe = (unsigned)(z - era * DAYS_PER_400Y);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (s64)yoe + era * 400 + (*m <= 2);
}
