/* SPDX-License-Identifier: MIT */
/*
 * The VM's port map: platform_init() resets the devices every VM has and says which handler
 * answers which I/O ports and guest-physical MMIO ranges. The handlers of the interrupt
 * controllers are in vmm/platform_irq.c and those of the PIT and RTC in vmm/platform_timers.c;
 * here are the legacy and ACPI devices': PM timer and PM1 blocks, reset sources (0xcf9 and the
 * 8042), PCI configuration space and port 0x61. vm->lock guards them all.
 */
#include "vmm/platform.h"

#include "arch/x86/cmos.h"
#include "arch/x86/tsc.h"
#include "vmm/ioreq.h"
#include "vmm/platform_internal.h"

static void power_event(struct vm *vm, enum vacpi_event ev)
{
	if (ev == VACPI_POWEROFF) {
		vm_power_event(vm, VM_END_POWEROFF);
	} else if (ev == VACPI_RESET) {
		vm_power_event(vm, VM_END_RESET);
	} else if (ev == VACPI_SLEEP) {
		/* S1-S4 need firmware to resume through; the DSDT offers only \_S5_. */
		vm_crash(vm, "the guest asked for an ACPI sleep state other than S5 (not offered)");
	}
}

static void pm_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned off = port - PLATFORM_PM_BASE;
	enum vacpi_event ev = VACPI_NONE;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (off < 4) {
		if (in)
			*val = vacpi_pm1_evt_read(&vm->acpi, off, size, time_ns());
		else
			vacpi_pm1_evt_write(&vm->acpi, off, size, *val);
	} else if (off < 6) {
		if (in)
			*val = vacpi_pm1_cnt_read(&vm->acpi, off - 4, size);
		else
			ev = vacpi_pm1_cnt_write(&vm->acpi, off - 4, size, *val);
	} else if (off >= 8 && in) {
		*val = vacpi_pm_tmr_read(&vm->acpi, off - 8, size, time_ns());
	} else if (in) {
		*val = ~0u;
	}
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
}

/*
 * 0xcf8-0xcff: PCI configuration mechanism 1, and the Reset Control register at 0xcf9. Only a
 * byte access to 0xcf9 is Reset Control; everything else is the PCI model's, which reads
 * all-ones and drops what it does not own (a dword at 0xcfe, a word at 0xcff: they run past
 * 0xcff), so no odd access can reset the VM.
 */
/* A CONFIG_DATA access that CONFIG_ADDRESS points at a function the device model claimed: its
 * struct keel_ioreq address (bus 0), else -1. vm->lock held. */
static s64 claimed_cfg(const struct vm *vm, u16 port, unsigned size)
{
	u32 a = vm->pci.addr, byte = port - VPCI_CONFIG_DATA;

	if (!vpci_owns(port, size) || port < VPCI_CONFIG_DATA || byte % size || !(a & (1u << 31)) ||
	    ((a >> 16) & 0xff) != 0 || !ioreq_pci_claimed(vm, (a >> 11) & 0x1f, (a >> 8) & 7))
		return -1;
	return (a & 0xfffcu) + byte;
}

static void pci_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	enum vacpi_event ev = VACPI_NONE;
	struct vpci_msi_out msgs = { .n = 0 };
	unsigned long flags = spin_lock_irqsave(&vm->lock);
	s64 cfg = claimed_cfg(vm, port, size);

	if (cfg >= 0) {
		/* The device model's function: one request, made without the VM's lock. */
		spin_unlock_irqrestore(&vm->lock, flags);
		ioreq_pci_cfg(v, (u32)cfg, size, in, val);
		return;
	}
	if (port == VACPI_CF9_PORT && size == 1) {
		if (in)
			*val = vacpi_cf9_read(&vm->acpi);
		else
			ev = vacpi_cf9_write(&vm->acpi, (u8)*val);
	} else if (in) {
		*val = vpci_io_read(&vm->pci, port, size);
	} else {
		vpci_io_write(&vm->pci, port, size, *val);
		/* Enabling MSI-X or clearing a mask may release pending vectors. */
		platform_pci_take(vm, vpci_selected_dev(&vm->pci), &msgs);
	}
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
	platform_pci_send(v, &msgs);
}

/* 0x60/0x64: the keyboard controller, for its reset line only (no keyboard is attached). */
static void kbc_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	enum vacpi_event ev = VACPI_NONE;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vacpi_kbc_read(&vm->acpi, port);
	else
		ev = vacpi_kbc_write(&vm->acpi, port, (u8)*val);
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
}

/* 0x61: PIT channel 2's gate and output, the speaker, the refresh toggle. */
static void port61_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vpit_port61_read(&vm->pit, time_ns());
	else
		vpit_port61_write(&vm->pit, (u8)*val, time_ns());
	spin_unlock_irqrestore(&vm->lock, flags);
}

int platform_init(struct vm *vm)
{
	u64 now = time_ns();
	int ret;

	vpic_reset(&vm->pic);
	vpit_reset(&vm->pit);
	vioapic_reset(&vm->ioapic, (u8)vm->nr_vcpus);
	vrtc_init(&vm->rtc, cmos_unix_time(), now); /* the host RTC, taken as UTC */
	vacpi_reset(&vm->acpi, now);
	vpci_init(&vm->pci);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		platform_vcpu_reset(vm->vcpus[i]);
	ret = vm_io_register(vm, 0x20, 2, platform_pic_io);
	ret = ret ?: vm_io_register(vm, 0xa0, 2, platform_pic_io);
	ret = ret ?: vm_io_register(vm, 0x40, 4, platform_timer_io);
	ret = ret ?: vm_io_register(vm, 0x61, 1, port61_io);
	ret = ret ?: vm_io_register(vm, 0x60, 1, kbc_io);
	ret = ret ?: vm_io_register(vm, 0x64, 1, kbc_io);
	ret = ret ?: vm_io_register(vm, VRTC_PORT_INDEX, 2, platform_timer_io);
	ret = ret ?: vm_io_register(vm, PLATFORM_PM_BASE, 12, pm_io);
	ret = ret ?: vm_io_register(vm, VPCI_PORT_FIRST, VPCI_PORT_LAST - VPCI_PORT_FIRST + 1, pci_io);
	ret = ret ?: platform_pci_init(vm);
	ret = ret ?: vm_mmio_register(vm, VIOAPIC_BASE, VIOAPIC_SIZE, platform_ioapic_mmio);
	return ret ?: vm_mmio_register(vm, VLAPIC_BASE, VLAPIC_SIZE, platform_lapic_mmio);
}
