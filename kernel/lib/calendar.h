/* SPDX-License-Identifier: MIT */
/* Proleptic Gregorian calendar arithmetic, shared by the host's RTC driver and the virtual RTC. */
#ifndef KEEL_LIB_CALENDAR_H
#define KEEL_LIB_CALENDAR_H

#include "kernel/types.h"

/* Days since 1970-01-01 of year y, month m (1..12), day d (1..31), and back. */
s64 days_from_civil(s64 y, unsigned m, unsigned d);
void civil_from_days(s64 days, s64 *y, unsigned *m, unsigned *d);

#endif
