/* SPDX-License-Identifier: MIT */
#ifndef KEEL_SELFTEST_H
#define KEEL_SELFTEST_H

#include "kernel/types.h"

/* Raises the fault chosen with fault= (nothing by default). */
void selftest_fault(void);
/* fault=panic_in_guest: nonzero when armed; a local APIC timer interrupt or a VM exit that takes
 * the full path (the VMX-preemption timer's, under VT-x) panics 200 ms (time_ns) after every CPU
 * has run a guest, so the panic's stop-NMI reaches the others in guest mode. */
extern u64 selftest_panic_at;
void selftest_timer_panic(void);

#endif
