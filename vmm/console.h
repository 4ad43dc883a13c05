/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console: commands typed on the serial console (list, vcpus, top, exits, pause,
 * resume, destroy, sched; README.md "Hypervisor console"), and Ctrl-A three times to hand the
 * input to each VM's COM1 in turn and back, as Xen's console does. Output goes through klog()
 * at LOG_ALWAYS, so to the serial port and the framebuffer alike.
 */
#ifndef KEEL_VMM_CONSOLE_H
#define KEEL_VMM_CONSOLE_H

#include "kernel/types.h"

#define HVCON_ESCAPE	   0x01 /* Ctrl-A */
#define HVCON_ESCAPE_COUNT 3
#define HVCON_LINE_MAX	   128

/*
 * Takes console input by interrupt (COM1's IRQ through the I/O APIC to the boot CPU, on
 * VEC_UART) and resets the console: input to the hypervisor, `top` measuring from now. Call once
 * before the VMs start. Without a UART or an I/O APIC it says that input is unavailable.
 */
void hvcon_init(void);
/* Bytes typed at the console, in order (the UART interrupt handler calls this). */
void hvcon_input(const u8 *buf, size_t len);
/* Who has the input: 0 for the hypervisor, else the VM's id. */
u32 hvcon_focus(void);

/*
 * A CPU set as a list such as "0-1", "0,2-3": "-" when empty, "all" when it holds every one of
 * CPUs 0 .. all_cpus-1 (all_cpus 0: never "all"). Returns the length it needed, like snprintf.
 */
size_t hvcon_format_cpulist(char *buf, size_t size, u64 mask, u32 all_cpus);

#endif
