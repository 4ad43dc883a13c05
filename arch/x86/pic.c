/* SPDX-License-Identifier: MIT */
/*
 * The legacy 8259A pair: Keel uses the local APIC, so the PICs are moved off the exception
 * vectors (the BIOS leaves IRQ0 on vector 8, #DF) and fully masked (8259A data sheet, ICW1-4).
 */
#include "arch/x86/pic.h"

#include "arch/x86/io.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define ICW1_INIT_ICW4	0x11 /* edge triggered, cascade, ICW4 follows */
#define ICW4_8086	0x01
#define PIC_VECTOR_BASE 0x20 /* IRQ0-15 on 0x20-0x2f: spurious IRQ7/15 land on handled vectors */

void pic_disable(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC_VECTOR_BASE);
	outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
	outb(PIC1_DATA, 1 << 2); /* slave on IRQ2 */
	outb(PIC2_DATA, 2);	 /* slave identity */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}
