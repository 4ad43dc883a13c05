/* SPDX-License-Identifier: MIT */
#ifndef KEEL_KERNEL_H
#define KEEL_KERNEL_H

#include "kernel/bootinfo.h"

#define KEEL_VERSION "0.1.0"

/* First thing on the boot CPU: per-CPU area, GDT and IDT, so faults are reported. */
void kernel_early_init(void);
/* bi from the loader (how: the loader magic, err: the parser's verdict). */
__noreturn void kernel_main(struct boot_info *bi, u32 how, int err);

#endif
