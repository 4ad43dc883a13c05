/* SPDX-License-Identifier: MIT */
#ifndef KEEL_UART16550_H
#define KEEL_UART16550_H

#include "kernel/types.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM3_PORT 0x3e8
#define COM4_PORT 0x2e8

/* Programs the UART at `port` for baud 8N1 with FIFOs; returns false if no UART answers there. */
bool uart_init(u16 port, u32 baud);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
/* Non-blocking read: -1 if nothing is waiting. */
int uart_getc(void);

/*
 * Receive interrupts, for the hypervisor console: the ISA IRQ of the console UART (4 for the
 * COM1/COM3 ports, 3 for COM2/COM4, -1 for another port or no UART), and switching the
 * "received data available" interrupt on (IER bit 0; OUT2 gates the IRQ line on PCs). Returns
 * false when there is no UART.
 */
int uart_isa_irq(void);
bool uart_rx_irq_enable(void);
/* Takes every byte the UART holds, up to max, without waiting; returns how many. Reading them
 * all is what lowers the interrupt line (PC16550D: the RDA interrupt clears when the receiver
 * FIFO drops below its trigger level, the timeout interrupt when it is read). */
size_t uart_read(u8 *buf, size_t max);

#endif
