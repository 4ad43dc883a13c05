/* SPDX-License-Identifier: MIT */
/* The host's CMOS real-time clock (MC146818-compatible, ports 0x70/0x71). */
#ifndef KEEL_ARCH_X86_CMOS_H
#define KEEL_ARCH_X86_CMOS_H

#include "kernel/types.h"

/* Seconds since 1970-01-01 00:00 UTC by the host's RTC (taken to run in UTC), read once at the
 * first call; 0 if the clock reads as invalid. */
u64 cmos_unix_time(void);

#endif
