/* SPDX-License-Identifier: MIT */
#ifndef KEEL_SMP_H
#define KEEL_SMP_H

#include "kernel/percpu.h"

/* Starts every enabled CPU in the MADT (up to maxcpus=); returns how many are online. */
u32 smp_boot(void);
/* Runs fn(arg) on CPU `cpu` (via IPI, or directly on this CPU) and waits for it to finish. */
int smp_call(u32 cpu, cpu_call_fn fn, void *arg);
/* Hands fn(arg) to an idle CPU, which runs it from its idle loop with interrupts on; returns at
 * once. -EBUSY if that CPU has work queued already. */
int smp_post(u32 cpu, cpu_call_fn fn, void *arg);
/* Runs fn(arg) on every online CPU, this one included; returns how many ran it. */
u32 smp_call_all(cpu_call_fn fn, void *arg);

#endif
