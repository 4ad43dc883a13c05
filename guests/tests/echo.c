// SPDX-License-Identifier: MIT
/*
 * Console input: reads lines from COM1 and prints each back as "echo: LINE"; the line "quit"
 * ends it with PASS. Interrupt-driven: the UART's receive interrupt (IRQ 4 through the PIC)
 * wakes the guest from HLT, so it also checks that typed input raises it. Under Keel the bytes
 * come from the hypervisor console when this VM has the input (Ctrl-A three times).
 */
#include "guest.h"

GUEST_TEST("echo");

#define COM1	 0x3f8
#define UART_RBR 0
#define UART_IER 1
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR	 0x01
#define IER_RX	 0x01
#define MCR_OUT2 0x08
#define UART_IRQ 4
#define MAX_LINE 64

void test_main(void)
{
	char line[MAX_LINE];
	unsigned len = 0;

	pic_init();
	if (!pic_present()) {
		fail("no PIC");
		return;
	}
	outb(COM1 + UART_MCR, MCR_OUT2);
	outb(COM1 + UART_IER, IER_RX);
	pic_unmask(UART_IRQ);
	printf("echo: ready\n");
	for (;;) {
		while (!(inb(COM1 + UART_LSR) & LSR_DR)) {
			/* STI's shadow keeps the interrupt out until HLT has started. */
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		}
		while (inb(COM1 + UART_LSR) & LSR_DR) {
			char c = (char)inb(COM1 + UART_RBR);

			if (c == '\r' || c == '\n') {
				line[len] = '\0';
				if (len)
					printf("echo: %s\n", line);
				if (!strncmp(line, "quit", 5)) {
					CHECK(irq_count[UART_IRQ] > 0, "input never raised IRQ 4");
					return;
				}
				len = 0;
			} else if (len < MAX_LINE - 1 && c >= ' ') {
				line[len++] = c;
			}
		}
	}
}
