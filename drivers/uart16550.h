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

#endif
