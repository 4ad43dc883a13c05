/* SPDX-License-Identifier: MIT */
/*
 * What the files of the virtual platform (vmm/platform_*.c) share, and nothing else includes:
 * other code includes vmm/platform.h.
 */
#ifndef KEEL_VMM_PLATFORM_INTERNAL_H
#define KEEL_VMM_PLATFORM_INTERNAL_H

#include "vmm/platform.h"

#define PIT_IRQ 0
#define PIT_GSI 2 /* the MADT's interrupt source override IRQ 0 -> GSI 2 */
#define RTC_IRQ 8

/* Interrupt routing (vmm/platform_irq.c, which says what `self` is). */
bool platform_isa_edge_locked(struct vm *vm, u8 irq, struct vioapic_msg *msg);
void platform_route_msgs(struct vm *vm, const struct vioapic_msg *m, unsigned n, const struct vcpu *self);
bool platform_pic_wired(const struct vcpu *v);
/* PCI (vmm/platform_msi.c): functions, BARs, windows. The MSIs an access made function d send:
 * taken with vm->lock held, sent after it is dropped. */
int platform_pci_init(struct vm *vm);
void platform_pci_take(struct vm *vm, struct vpci_dev *d, struct vpci_msi_out *out);
void platform_pci_send(struct vcpu *v, const struct vpci_msi_out *out);
/* Timers (vmm/platform_timers.c). */
void platform_poll_timers(struct vcpu *v, u64 now);

/* The handlers platform_init() registers that live with their routing. */
void platform_pic_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val);
void platform_timer_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val);
void platform_ioapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val);
void platform_lapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val);

#endif
