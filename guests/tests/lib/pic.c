// SPDX-License-Identifier: MIT
/* 8259A PIC pair and 8254 PIT channel 0, enough for a periodic timer interrupt. */
#include "guest.h"

#define PIC1_CMD	   0x20
#define PIC1_DATA	   0x21
#define PIC2_CMD	   0xa0
#define PIC2_DATA	   0xa1
#define PIC_ICW1_INIT_ICW4 0x11
#define PIC_ICW4_8086	   0x01
#define PIC_OCW3_READ_IRR  0x0a
#define PIC_EOI		   0x20
#define PIC_CASCADE_IRQ	   2

#define PIT_CH0		 0x40
#define PIT_CMD		 0x43
#define PIT_CH0_RATE_GEN 0x34 /* channel 0, lobyte/hibyte, mode 2 */
#define PIT_HZ		 1193182u

void pic_eoi(unsigned irq);

void pic_init(void)
{
	outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC1_DATA, IRQ_VECTOR_BASE);
	outb(PIC2_DATA, IRQ_VECTOR_BASE + 8);
	outb(PIC1_DATA, 1u << PIC_CASCADE_IRQ);
	outb(PIC2_DATA, PIC_CASCADE_IRQ);
	outb(PIC1_DATA, PIC_ICW4_8086);
	outb(PIC2_DATA, PIC_ICW4_8086);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

/* An absent PIC reads all-ones: write a pattern to the mask register and read it back. */
bool pic_present(void)
{
	uint8_t old = inb(PIC1_DATA);
	outb(PIC1_DATA, 0x5a);
	bool ok = inb(PIC1_DATA) == 0x5a;
	outb(PIC1_DATA, old);
	return ok;
}

void pic_unmask(unsigned irq)
{
	if (irq >= 8) {
		outb(PIC2_DATA, inb(PIC2_DATA) & (uint8_t) ~(1u << (irq - 8)));
		irq = PIC_CASCADE_IRQ;
	}
	outb(PIC1_DATA, inb(PIC1_DATA) & (uint8_t) ~(1u << irq));
}

bool pic_irq_pending(unsigned irq)
{
	uint16_t port = irq >= 8 ? PIC2_CMD : PIC1_CMD;
	outb(port, PIC_OCW3_READ_IRR);
	return inb(port) & (1u << (irq & 7));
}

bool pic_wait_pending(unsigned irq, unsigned long spins)
{
	for (unsigned long n = 0; n < spins; n++)
		if (pic_irq_pending(irq))
			return true;
	return false;
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

void pit_start(unsigned hz)
{
	unsigned div = PIT_HZ / hz;
	outb(PIT_CMD, PIT_CH0_RATE_GEN);
	outb(PIT_CH0, (uint8_t)div);
	outb(PIT_CH0, (uint8_t)(div >> 8));
}
