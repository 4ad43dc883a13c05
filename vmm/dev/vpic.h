/* SPDX-License-Identifier: MIT */
/* A virtual 8259A pair (master at 0x20, slave at 0xa0 on the master's IRQ 2). */
#ifndef KEEL_VMM_DEV_VPIC_H
#define KEEL_VMM_DEV_VPIC_H

#include "kernel/types.h"

struct pic8259 {
	u8 irr, isr, imr;
	u8 vector_base;
	u8 init_step; /* 0: initialized; 1-3: expecting ICW2-ICW4 */
	bool icw4_needed;
	bool read_isr; /* OCW3: the command port reads ISR instead of IRR */
};

struct vpic {
	struct pic8259 master, slave;
};

void vpic_reset(struct vpic *p);
/* Port access for 0x20/0x21 (master) and 0xa0/0xa1 (slave). */
u8 vpic_read(struct vpic *p, u16 port);
void vpic_write(struct vpic *p, u16 port, u8 val);
/* An edge on ISA IRQ 0-15. */
void vpic_raise(struct vpic *p, unsigned irq);
/* Whether an edge on ISA IRQ 0-15 would stay in IRR: masked in IMR (or, on the slave, the cascade
 * masked on the master). */
bool vpic_irq_masked(const struct vpic *p, unsigned irq);
/* Whether an unmasked request could be delivered now (not blocked by one in service). */
bool vpic_pending(const struct vpic *p);
/* The CPU takes the interrupt: IRR -> ISR, returns the vector (call only when pending). */
u8 vpic_acknowledge(struct vpic *p);

#endif
