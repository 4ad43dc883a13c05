/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_PLATFORM_H
#define KEEL_VMM_PLATFORM_H

#include "vmm/vm.h"

/* The legacy PIC pair and PIT every VM gets. */
int platform_init(struct vm *vm);
/* Before each entry: advance timers and hand the guest the interrupt it can take, or ask for an
 * interrupt window. */
void platform_before_entry(struct vcpu *v);
/* HLT with interrupts enabled: waits (on this physical CPU) until an interrupt is due. */
void platform_halt(struct vcpu *v);

#endif
