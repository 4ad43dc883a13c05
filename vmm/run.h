/* SPDX-License-Identifier: MIT */
/* Running a VM, and pausing and resuming it from another CPU. */
#ifndef KEEL_VMM_RUN_H
#define KEEL_VMM_RUN_H

#include "vmm/vm.h"

/* Runs the VM's vCPU on this physical CPU until the VM ends. */
void vm_run(struct vm *vm);
/* A running VM stops entering the guest at its next exit (a host timer tick at the latest); a
 * paused one goes on. Both return false if the VM was not in the state they change. */
bool vm_pause(struct vm *vm);
bool vm_resume(struct vm *vm);

/* How a CPU waits while its VM is paused (the kernel halts until the next interrupt). */
void vmm_idle(void);
/* Puts the CPU's FPU/SSE/AVX state in its initial state before a VM starts on it. */
void vmm_fpu_reset(void);

#endif
