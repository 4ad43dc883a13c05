/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_GUEST_CONSOLE_H
#define KEEL_VMM_GUEST_CONSOLE_H

#include "vmm/vm.h"

/* A guest's console bytes become lines on Keel's console, prefixed with the VM's name. */
void guest_console_putc(struct vm *vm, char c);
void guest_console_flush(struct vm *vm);

/* Devices Keel emulates itself for every VM for now: COM1 and the debug-exit port. */
int guest_devices_init(struct vm *vm);

#endif
