/* SPDX-License-Identifier: MIT */
#include "kernel/power.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"
#include "arch/x86/tsc.h"
#include "drivers/acpi/acpi.h"
#include "kernel/log.h"

#define KBC_STATUS	0x64
#define KBC_CMD		0x64
#define KBC_STATUS_IBF	0x02
#define KBC_PULSE_RESET 0xfe

__noreturn void machine_reboot(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed null_idt = { 0, 0 };

	pr_info("keel: rebooting\n");
	irq_disable();
	acpi_reset();
	udelay(50000);
	/* 8042: wait for an empty input buffer, then pulse the reset line. */
	for (int i = 0; i < 100000 && (inb(KBC_STATUS) & KBC_STATUS_IBF); i++)
		udelay(10);
	outb(KBC_CMD, KBC_PULSE_RESET);
	udelay(50000);
	/* Last resort: an exception with no IDT is a triple fault, which resets the machine. */
	__asm__ volatile("lidt %0; int3" ::"m"(null_idt));
	cpu_stop();
}

__noreturn void machine_poweroff(void)
{
	int ret;

	pr_info("keel: powering off\n");
	irq_disable();
	ret = acpi_poweroff();
	udelay(100000);
	pr_err("keel: ACPI poweroff failed (%d); halting instead\n", ret);
	cpu_stop();
}

__noreturn void machine_halt(void)
{
	pr_info("keel: halted\n");
	cpu_stop();
}
