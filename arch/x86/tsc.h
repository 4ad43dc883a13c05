/* SPDX-License-Identifier: MIT */
#ifndef KEEL_TSC_H
#define KEEL_TSC_H

#include "kernel/types.h"

extern u64 tsc_khz;

/* Nanoseconds since the TSC was calibrated (0 before that). */
u64 time_ns(void);
/* The time_ns() clock at host TSC value `tsc` (0 for a TSC before calibration). */
u64 tsc_to_ns(u64 tsc);
/* Finds the TSC frequency: CPUID 0x15/0x16, else calibration against HPET, PM timer or PIT. */
void tsc_init(void);
void udelay(u64 us);

#endif
