/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_DEV_VUART_H
#define KEEL_VMM_DEV_VUART_H

#include "kernel/spinlock.h"
#include "kernel/types.h"

#define GUEST_UART_FIFO 16 /* receiver FIFO depth of a PC16550D */
#define GUEST_UART_IRQ	4  /* COM1's ISA IRQ */
/* Typed bytes waiting for room in the receiver FIFO: the flow control a terminal gets from a
 * real line (RTS/CTS), so pasting a command does not overrun a guest that drains the FIFO one
 * interrupt at a time. A power of two. */
#define GUEST_UART_BACKLOG 4096
/* Guest output (COM1's THR and HC_CONSOLE_WRITE) waiting for Keel's console: the exit path only
 * copies bytes in; guest_console_drain() prints them later, GUEST_OUT_BUDGET bytes at a time.
 * While it is full the transmitter is busy (LSR.THRE clear). A power of two. */
#define GUEST_OUT_RING 4096
/* Bytes one drain step takes from a VM's ring: about 11 ms of a 115200-baud UART, so a chatty VM
 * holds the host console for at most that (plus the rest of one line) before others get it. */
#define GUEST_OUT_BUDGET 128

/*
 * COM1 as a guest sees it: a PC16550D (National Semiconductor data sheet, 1995). Transmitted
 * bytes go into the output ring (the transmitter is busy only while that is full); received
 * bytes come from the hypervisor console. Embedded in struct vm as `uart`. `lock` covers these
 * registers and the output ring: the vCPUs that touch the ports, the console input and the
 * drain run on different CPUs. Nothing is printed under it.
 */
struct guest_uart {
	spinlock_t lock;
	u8 out[GUEST_OUT_RING]; /* output not yet printed, oldest at out_head */
	u16 out_head;
	u16 out_count;		/* also read without the lock, to skip an empty drain */
	u32 out_lost;		/* THR writes that found the ring full (the guest ignored THRE) */
	u8 rx[GUEST_UART_FIFO]; /* receiver FIFO, oldest at rx_head */
	u8 rx_head, rx_count;
	u8 backlog[GUEST_UART_BACKLOG]; /* console input not yet in the FIFO, oldest at backlog_head */
	u16 backlog_head, backlog_count;
	u8 ier, lcr, mcr, fcr, scr;
	u8 dll, dlm;	   /* divisor latch, reached with LCR.DLAB set */
	u8 lsr_errors;	   /* LSR.OE until LSR is read */
	u8 msr_delta;	   /* MSR bits 0-3 (delta and trailing-edge bits) until MSR is read */
	bool thre_pending; /* THRE interrupt: THR emptied and neither IIR (reporting it) nor THR touched since */
};

struct vm;

/*
 * A guest's console bytes become lines on Keel's console, prefixed with the VM's name, in two
 * steps. guest_console_write() (HC_CONSOLE_WRITE; COM1's THR does the same) copies into the VM's
 * output ring what fits and returns how many bytes that was: the exit path never waits for the
 * console. guest_console_drain() prints at most `budget` bytes of it as whole lines and returns
 * whether more is waiting; the vCPU's run loop calls it before each entry (kernel/sched.c), with
 * no lock held. guest_console_flush() prints everything left, and the last partial line, when
 * the VM has ended (before Keel's line about its end).
 */
u32 guest_console_write(struct vm *vm, const void *buf, u32 len);
bool guest_console_drain(struct vm *vm, u32 budget);
void guest_console_flush(struct vm *vm);
/* Takes up to len bytes of what the VM printed (whole lines as Keel's console showed them, each
 * ending in '\n'; the oldest are dropped when more than VM_CONLOG_SIZE wait), oldest first. */
u32 guest_console_take(struct vm *vm, void *buf, u32 len);
/* Bytes typed at the hypervisor console for this VM: into COM1's receiver FIFO as the guest
 * makes room in it (a byte that finds the backlog behind the FIFO full too is dropped and sets
 * LSR.OE), raising IRQ 4 when the guest enabled that. */
void guest_console_input(struct vm *vm, const u8 *buf, size_t len);

/* Devices Keel emulates itself for every VM for now: COM1 and the debug-exit port. */
int guest_devices_init(struct vm *vm);

/* Users of this header expect struct vm too; vm.h includes this file for struct guest_uart. */
#include "vmm/vm.h"

#endif
