/* SPDX-License-Identifier: MIT */
#ifndef KEEL_SELFTEST_H
#define KEEL_SELFTEST_H

/* Raises the fault chosen with fault= (nothing by default). */
void selftest_fault(void);

#endif
