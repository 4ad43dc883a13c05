/* SPDX-License-Identifier: MIT */
/*
 * The guest-facing console for now: a 16550 at COM1 that transmits instantly (registers from
 * the PC16550D data sheet) and QEMU's isa-debug-exit at port 0xf4. The management guest takes
 * devices over in a later issue.
 */
#include "vmm/guest_console.h"

#include "kernel/log.h"
#include "vmm/public/keel_hypercall.h"

#define COM1	      0x3f8
#define UART_LSR      5
#define UART_IIR      2
#define UART_MSR      6
#define UART_SCR      7
#define LSR_THRE_TEMT 0x60
#define IIR_NO_INT    0x01

void guest_console_flush(struct vm *vm)
{
	if (!vm->con_len)
		return;
	vm->con_line[vm->con_len] = '\0';
	pr_info("[%s] %s\n", vm->name, vm->con_line);
	vm->con_len = 0;
}

void guest_console_putc(struct vm *vm, char c)
{
	if (c == '\n') {
		guest_console_flush(vm);
		return;
	}
	if (c == '\r')
		return;
	/* Control characters would let a guest drive the host's terminal: show them as '?'. */
	if ((unsigned char)c < 0x20 && c != '\t')
		c = '?';
	vm->con_line[vm->con_len++] = c;
	if (vm->con_len >= sizeof(vm->con_line) - 1)
		guest_console_flush(vm);
}

static void uart_io(struct vm *vm, u16 port, unsigned size, bool in, u32 *val)
{
	unsigned reg = port - COM1;

	if (!in) {
		if (reg == 0)
			guest_console_putc(vm, (char)*val);
		return; /* divisor, line and modem control: accepted, nothing to program */
	}
	switch (reg) {
	case UART_LSR:
		*val = LSR_THRE_TEMT;
		break;
	case UART_IIR:
		*val = IIR_NO_INT;
		break;
	case UART_MSR:
		*val = 0xb0; /* DCD, DSR, CTS */
		break;
	default:
		*val = 0;
		break;
	}
}

static void debug_exit_io(struct vm *vm, u16 port, unsigned size, bool in, u32 *val)
{
	if (in) {
		*val = ~0u;
		return;
	}
	guest_console_flush(vm);
	vm_exit_status(vm, *val);
}

int guest_devices_init(struct vm *vm)
{
	int ret = vm_io_register(vm, COM1, 8, uart_io);

	return ret ?: vm_io_register(vm, KEEL_DEBUG_EXIT_PORT, 4, debug_exit_io);
}
