/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's run loop (vmm/vcpu_run.c): the scheduler's ops for vCPUs, and vcpu_kick().
 */
#ifndef KEEL_VMM_VCPU_RUN_H
#define KEEL_VMM_VCPU_RUN_H

#include "kernel/sched.h"
#include "vmm/vm.h"

/* The scheduler runs vCPUs through these (sched_setup). */
extern const struct sched_ops vcpu_sched_ops;

/* v has something to do (an interrupt, a SIPI, a resumed VM, its VM ended): wakes it if it was
 * blocked and makes the CPU that has it look again soon. */
static inline void vcpu_kick(struct vcpu *v)
{
	sched_kick(&v->se);
}

/* Puts a vCPU under the scheduler, runnable. */
int vcpu_sched_add(struct vcpu *v);

#endif
