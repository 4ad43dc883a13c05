// SPDX-License-Identifier: MIT
/*
 * Port routing: reads from an unclaimed port return all-ones at every width and writes to it are
 * dropped, while a claimed port (COM1's line status register) answers.
 * Bare QEMU: PASSES (QEMU's unassigned I/O reads as all-ones too).
 */
#include "guest.h"

GUEST_TEST("ports");

#define UNCLAIMED_PORT 0x1234
#define COM1_LSR       0x3fd

void test_main(void)
{
	uint8_t b = inb(UNCLAIMED_PORT);
	uint16_t w = inw(UNCLAIMED_PORT);
	uint32_t l = inl(UNCLAIMED_PORT);
	CHECK(b == 0xff, "inb 0x%x = 0x%x, expected 0xff", UNCLAIMED_PORT, b);
	CHECK(w == 0xffff, "inw 0x%x = 0x%x, expected 0xffff", UNCLAIMED_PORT, w);
	CHECK(l == 0xffffffff, "inl 0x%x = 0x%x, expected 0xffffffff", UNCLAIMED_PORT, l);

	outb(UNCLAIMED_PORT, 0);
	outw(UNCLAIMED_PORT, 0);
	outl(UNCLAIMED_PORT, 0);
	l = inl(UNCLAIMED_PORT);
	CHECK(l == 0xffffffff, "inl 0x%x = 0x%x after writing 0, expected 0xffffffff", UNCLAIMED_PORT, l);
	b = inb(UNCLAIMED_PORT + 3);
	CHECK(b == 0xff, "inb 0x%x = 0x%x, expected 0xff", UNCLAIMED_PORT + 3, b);

	/* Bit 7 of a 16550 LSR is 0 unless a received byte had an error: all-ones means unrouted. */
	b = inb(COM1_LSR);
	CHECK(b != 0xff, "COM1 LSR reads 0xff: the claimed port is not routed to the UART");
}
