/* SPDX-License-Identifier: MIT */
/*
 * Virtual 8259A PICs (Intel 8259A data sheet): ICW1-4 initialization, the mask register, IRR/ISR
 * reads (OCW3), specific and non-specific EOI (OCW2), fixed priority (IRQ 0 highest), edge
 * triggered, cascade on master IRQ 2. Rotation, special mask and poll modes are not used by the
 * guests Keel runs and are ignored.
 */
#include "vmm/dev/vpic.h"

#define ICW1	    0x10
#define ICW1_IC4    0x01
#define OCW3	    0x08
#define OCW3_RR	    0x02
#define OCW3_RIS    0x01
#define OCW2_EOI    0x20
#define OCW2_SL	    0x40
#define CASCADE_IRQ 2

void vpic_reset(struct vpic *p)
{
	*p = (struct vpic){ .master = { .imr = 0xff, .vector_base = 0x08 },
			    .slave = { .imr = 0xff, .vector_base = 0x70 } };
}

/* Lowest-numbered requested, unmasked IRQ that outranks everything in service; -1 if none. */
static int best(const struct pic8259 *c, u8 extra_irr)
{
	u8 req = (c->irr | extra_irr) & ~c->imr;

	for (int irq = 0; irq < 8; irq++) {
		if (c->isr & (1u << irq))
			return -1; /* something of higher (or equal) priority is in service */
		if (req & (1u << irq))
			return irq;
	}
	return -1;
}

static u8 slave_line(const struct vpic *p)
{
	return best(&p->slave, 0) >= 0 ? 1u << CASCADE_IRQ : 0;
}

bool vpic_irq_masked(const struct vpic *p, unsigned irq)
{
	if (irq < 8)
		return p->master.imr & (1u << irq);
	return (p->master.imr & (1u << CASCADE_IRQ)) || (p->slave.imr & (1u << (irq - 8)));
}

bool vpic_pending(const struct vpic *p)
{
	/* The common case on the exit path, decided without walking priorities. */
	if (!((p->master.irr & ~p->master.imr) | (p->slave.irr & ~p->slave.imr)))
		return false;
	return best(&p->master, slave_line(p)) >= 0;
}

u8 vpic_acknowledge(struct vpic *p)
{
	int irq = best(&p->master, slave_line(p));
	struct pic8259 *c = &p->master;

	if (irq < 0)
		return p->master.vector_base | 7; /* spurious IRQ 7, as the hardware answers */
	if (irq == CASCADE_IRQ && slave_line(p)) {
		c->isr |= 1u << CASCADE_IRQ;
		c = &p->slave;
		irq = best(c, 0);
	}
	c->irr &= (u8) ~(1u << irq);
	c->isr |= (u8)(1u << irq);
	return (u8)(c->vector_base | irq);
}

void vpic_raise(struct vpic *p, unsigned irq)
{
	if (irq < 8)
		p->master.irr |= (u8)(1u << irq);
	else if (irq < 16)
		p->slave.irr |= (u8)(1u << (irq - 8));
}

u8 vpic_read(struct vpic *p, u16 port)
{
	struct pic8259 *c = port >= 0xa0 ? &p->slave : &p->master;

	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void eoi(struct pic8259 *c, u8 val)
{
	if (val & OCW2_SL) {
		c->isr &= (u8) ~(1u << (val & 7));
		return;
	}
	for (int irq = 0; irq < 8; irq++) {
		if (c->isr & (1u << irq)) {
			c->isr &= (u8) ~(1u << irq);
			return;
		}
	}
}

void vpic_write(struct vpic *p, u16 port, u8 val)
{
	struct pic8259 *c = port >= 0xa0 ? &p->slave : &p->master;

	if (!(port & 1)) {
		if (val & ICW1) {
			*c = (struct pic8259){ .vector_base = c->vector_base,
					       .init_step = 1,
					       .icw4_needed = val & ICW1_IC4 };
		} else if (val & OCW3) {
			if (val & OCW3_RR)
				c->read_isr = val & OCW3_RIS;
		} else if (val & OCW2_EOI) {
			eoi(c, val);
		}
		return;
	}
	switch (c->init_step) {
	case 1: /* ICW2: the vector base */
		c->vector_base = val & 0xf8;
		c->init_step = 2;
		break;
	case 2: /* ICW3: cascade wiring, fixed on a PC */
		c->init_step = c->icw4_needed ? 3 : 0;
		break;
	case 3: /* ICW4: 8086 mode; automatic EOI is not supported */
		c->init_step = 0;
		break;
	default: /* OCW1: the mask */
		c->imr = val;
		break;
	}
}
