/* SPDX-License-Identifier: MIT */
#ifndef KEEL_POWER_H
#define KEEL_POWER_H

#include "kernel/types.h"

/* ACPI reset register, then the keyboard controller, then a triple fault. */
__noreturn void machine_reboot(void);
/* ACPI S5; if that fails, says so and halts. */
__noreturn void machine_poweroff(void);
__noreturn void machine_halt(void);

#endif
