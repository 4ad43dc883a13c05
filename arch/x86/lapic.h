/* SPDX-License-Identifier: MIT */
#ifndef KEEL_LAPIC_H
#define KEEL_LAPIC_H

#include "kernel/types.h"

/* ICR delivery modes (Intel SDM vol. 3A §11.6.1). */
#define ICR_FIXED	      (0u << 8)
#define ICR_NMI		      (4u << 8)
#define ICR_INIT	      (5u << 8)
#define ICR_STARTUP	      (6u << 8)
#define ICR_LEVEL_ASSERT      (1u << 14)
#define ICR_DEST_ALL_BUT_SELF (3u << 18)

/* Chooses xAPIC or x2APIC (x2apic= option, CPUID), maps the registers; BSP only, once. */
int lapic_init(hpa_t madt_lapic_addr);
/* Enables this CPU's local APIC (spurious vector, error LVT, TPR 0). */
void lapic_init_cpu(void);
bool lapic_ready(void);
bool lapic_x2apic(void);
u32 lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(u32 apic_id, u32 icr_low);
void lapic_send_nmi_all_but_self(void);
/* Periodic timer on VEC_TIMER at hz; the first call calibrates against the TSC. */
void lapic_timer_start(u32 hz);
/* One interrupt on VEC_TIMER ns from now (after lapic_timer_start calibrated); 0 stops the timer. */
void lapic_timer_oneshot(u64 ns);

#endif
