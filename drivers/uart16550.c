/* SPDX-License-Identifier: MIT */
/* 16550 UART console (register layout from the PC16550D data sheet). */
#include "drivers/uart16550.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"

#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_RBR 0 /* receive buffer (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear both */
#define MCR_DTR_RTS_OUT2 0x0b
#define MCR_OUT2	 0x08 /* on PCs: connects the UART's INTR pin to the IRQ line */
#define IER_RDA		 0x01 /* received data available (and the FIFO timeout) */
#define LSR_DR		 0x01
#define LSR_THRE	 0x20

#define UART_CLOCK 115200

static u16 uart_port;

bool uart_init(u16 port, u32 baud)
{
	u32 div;

	/* The scratch register tells whether anything is there at all. */
	outb(port + UART_SCR, 0x5a);
	if (inb(port + UART_SCR) != 0x5a)
		return false;
	if (baud == 0 || baud > UART_CLOCK)
		baud = UART_CLOCK;
	div = UART_CLOCK / baud;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, div & 0xff);
	outb(port + UART_DLM, (div >> 8) & 0xff);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
	uart_port = port;
	return true;
}

void uart_putc(char c)
{
	/* Bounded wait: a UART that never drains must not hang the console forever. */
	for (unsigned spins = 0; spins < 1000000; spins++) {
		if (inb(uart_port + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(uart_port + UART_THR, (u8)c);
}

void uart_write(const char *s, size_t n)
{
	if (!uart_port)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

int uart_getc(void)
{
	if (!uart_port || !(inb(uart_port + UART_LSR) & LSR_DR))
		return -1;
	return inb(uart_port + UART_RBR);
}

int uart_isa_irq(void)
{
	switch (uart_port) {
	case COM1_PORT:
	case COM3_PORT:
		return 4;
	case COM2_PORT:
	case COM4_PORT:
		return 3;
	default:
		return -1;
	}
}

bool uart_rx_irq_enable(void)
{
	if (!uart_port)
		return false;
	outb(uart_port + UART_MCR, inb(uart_port + UART_MCR) | MCR_OUT2);
	outb(uart_port + UART_IER, inb(uart_port + UART_IER) | IER_RDA);
	return true;
}

size_t uart_read(u8 *buf, size_t max)
{
	size_t n = 0;

	if (!uart_port)
		return 0;
	while (n < max && (inb(uart_port + UART_LSR) & LSR_DR))
		buf[n++] = inb(uart_port + UART_RBR);
	return n;
}
