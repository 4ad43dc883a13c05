/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables that describe the VM's platform to its guest (built by vmm/acpi_gen.c): where
 * platform_init() put the I/O APIC, the local APICs, the ACPI fixed hardware and the reset
 * register.
 */
#include "vmm/platform.h"

#include "vmm/acpi_gen.h"

int platform_write_tables(struct vm *vm, u32 nr_vcpus, u64 *rsdp)
{
	/* Built in place, in this VM's own memory: resets build VMs again on any CPU at once, so a
	 * shared buffer could hand one VM another's MADT. */
	u8 *buf = gpa_map(vm, ACPI_GEN_BIOS_AREA_GPA, ACPI_GEN_MIN_BUF_SIZE);
	struct vpci_windows w;
	struct acpi_gen_config cfg = {
		.nr_cpus = nr_vcpus,
		.ioapic_id = nr_vcpus, /* after the local APICs' IDs 0..n-1 */
		.ioapic_addr = VIOAPIC_BASE,
		.ioapic_gsi_base = 0,
		.lapic_addr = VLAPIC_BASE,
		.pm1a_evt_port = PLATFORM_PM_BASE,
		.pm1a_cnt_port = PLATFORM_PM_BASE + 4,
		.pm_tmr_port = PLATFORM_PM_BASE + 8,
		.sci_irq = PLATFORM_SCI_IRQ,
		.reset_port = VPCI_RESET_CONTROL,
		.reset_value = PLATFORM_RESET_VALUE,
		/* The 8042 is there only for its reset line: no keyboard to probe for. */
		.has_i8042 = false,
		.has_cmos_rtc = true,
		.rtc_century = VRTC_CENTURY_INDEX,
		.legacy_devices = true, /* COM1 */
		.has_msi = true,	/* vmm/platform_msi.c delivers them */
		.has_pci = true,
		.pci_gsi_base = PLATFORM_PCI_GSI_BASE,
		.pci_nr_gsis = PLATFORM_PCI_NR_GSIS,
	};
	int n;

	platform_pci_windows(vm, &w);
	cfg.pci_io_first = (u16)w.io_first;
	cfg.pci_io_last = (u16)w.io_last;
	cfg.pci_mem32_first = (u32)w.mem32_first;
	cfg.pci_mem32_last = (u32)w.mem32_last;
	cfg.pci_mem64_first = w.mem64_first;
	cfg.pci_mem64_last = w.mem64_last;

	if (!buf)
		return -EFAULT;
	n = acpi_gen_build(&cfg, buf, ACPI_GEN_MIN_BUF_SIZE, ACPI_GEN_BIOS_AREA_GPA, rsdp);
	return n < 0 ? n : 0;
}
