/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_PLATFORM_H
#define KEEL_VMM_PLATFORM_H

#include "vmm/vm.h"

/* The legacy PIC pair and PIT every VM gets, and each vCPU's local APIC (after vcpus exist). */
int platform_init(struct vm *vm);
/* Local APIC at power-on (vCPU 0 as firmware leaves it: LINT0 takes the PIC). */
void platform_vcpu_reset(struct vcpu *v);
/* Before each entry, on v's CPU: advance timers and hand the guest the interrupt it can take,
 * or ask for an interrupt window. */
void platform_before_entry(struct vcpu *v);
/* A halted v may resume: an interrupt is pending and its IF is set. On v's CPU. */
bool platform_can_wake(struct vcpu *v);
/* When v's next timer interrupt is due (ns, time_ns clock), 0 if none is armed. */
u64 platform_next_timer(const struct vcpu *v);
/* Applies INIT and SIPI sent to v (on v's CPU, before entry); returns false while v waits for
 * a SIPI. */
bool platform_mp_events(struct vcpu *v);
/* An IPI from src's local APIC to the vCPUs it selects. */
void platform_send_ipi(struct vcpu *src, const struct vlapic_ipi *ipi);
/* A device of the VM asserts ISA IRQ `irq` (edge): through the virtual PIC to vCPU 0. */
void platform_set_irq(struct vm *vm, u8 irq);

#endif
