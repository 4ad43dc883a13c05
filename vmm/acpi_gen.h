/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for a VM (ACPI 6.4 chapter 5): RSDP, XSDT and RSDT, MADT, FADT, FACS and a DSDT
 * whose AML defines \_S5_ and, with has_pci, the PCI root bridge \_SB.PCI0. A pure builder: it
 * knows nothing of struct vm, writes every table into a caller buffer that the caller then places
 * at guest-physical buf_gpa, and puts guest-physical addresses in every pointer. With buf_gpa in
 * 0xE0000-0xFFFFF (16-byte aligned) a guest finds the RSDP by the legacy BIOS-area scan (ACPI 6.4
 * §5.2.5.1).
 */
#ifndef KEEL_VMM_ACPI_GEN_H
#define KEEL_VMM_ACPI_GEN_H

#include "kernel/types.h"

/* xAPIC IDs 0..254: ID 0xff is "no processor" in a Local APIC entry (ACPI 6.4 §5.2.12.2). */
#define ACPI_GEN_MAX_CPUS 255

/*
 * SLP_TYPa/SLP_TYPb of \_S5_ in the generated DSDT: a guest powers off by writing
 * SLP_TYP = ACPI_GEN_S5_SLP_TYP with SLP_EN (bit 13) to PM1a_CNT (ACPI 6.4 §4.8.3.2.1, §7.4.2).
 * The device model behind pm1a_cnt_port must treat that write as soft-off.
 */
#define ACPI_GEN_S5_SLP_TYP 5

/* Where a guest scans for the RSDP, and room for the tables with many CPUs (see acpi_gen_build). */
#define ACPI_GEN_BIOS_AREA_GPA 0xe0000
#define ACPI_GEN_MIN_BUF_SIZE  0x2000 /* always enough up to ACPI_GEN_MAX_CPUS, with PCI */

struct acpi_gen_config {
	u32 nr_cpus;	     /* 1..ACPI_GEN_MAX_CPUS; vCPU i gets APIC ID i and processor UID i */
	u32 ioapic_id;	     /* 0..0xff */
	u64 ioapic_addr;     /* below 4 GiB (the MADT field is 32 bits) */
	u32 ioapic_gsi_base; /* first GSI of the I/O APIC */
	u64 lapic_addr;	     /* below 4 GiB */
	/* SCI_EN must read as 1 in PM1a_CNT: SMI_CMD is 0, the platform is always in ACPI mode. */
	u16 pm1a_evt_port; /* 4 ports: PM1 status (2 bytes), PM1 enable (2 bytes); required */
	u16 pm1a_cnt_port; /* 2 ports; required */
	u16 pm_tmr_port;   /* 4 ports, 24-bit counter at 3.579545 MHz; 0: no PM timer */
	u8 sci_irq;	   /* ISA IRQ of the SCI, identity-mapped to GSI sci_irq, level/high; 1..15, not 2 */
	u16 reset_port;	   /* RESET_REG in system I/O space; 0: no reset register */
	u8 reset_value;	   /* written (one byte) to reset_port to reset the VM */
	/*
	 * Devices of the virtual platform, for the FADT's IA-PC boot architecture flags (ACPI 6.4
	 * table 5.11). Zero-initialised means: none of them (8042 flag clear, VGA Not Present,
	 * CMOS RTC Not Present, MSI Not Supported, LEGACY_DEVICES clear).
	 */
	bool has_i8042;	     /* an 8042 keyboard controller at ports 0x60/0x64 */
	bool has_vga;	     /* legacy VGA ports and the 0xA0000 window are safe to probe */
	bool has_cmos_rtc;   /* a CMOS RTC at ports 0x70/0x71 */
	u8 rtc_century;	     /* CMOS index of the century byte, 0: none (only with has_cmos_rtc) */
	bool has_msi;	     /* MSI may be enabled on PCI devices */
	bool legacy_devices; /* user-visible ISA/LPC devices that need a driver, e.g. a 16550 UART */
	/*
	 * The PCI root bridge \_SB.PCI0 (segment 0, bus 0, configuration ports 0xcf8-0xcff) and the
	 * windows it forwards to BARs, inclusive ranges: I/O, 32-bit memory (uncached), 64-bit
	 * memory (cacheable, for prefetchable BARs; pci_mem64_last 0: none). INTA-D of slot s, pin p
	 * go to GSI pci_gsi_base + (s + p) % pci_nr_gsis (1..32). Without has_pci: no PCI0.
	 */
	bool has_pci;
	u16 pci_io_first, pci_io_last;
	u32 pci_mem32_first, pci_mem32_last;
	u64 pci_mem64_first, pci_mem64_last;
	u32 pci_gsi_base, pci_nr_gsis;
};

/*
 * Builds every table into buf (buf_size bytes; the caller copies it to guest-physical buf_gpa)
 * and sets *rsdp_gpa. Layout: RSDP at the first 16-byte-aligned GPA, FACS on a 64-byte boundary,
 * then DSDT, FADT, MADT, XSDT and RSDT on 8-byte boundaries; bytes between tables are zeroed.
 * Returns the number of bytes of buf used, -ENOSPC if they do not fit in buf_size (buf is then
 * untouched), or -EINVAL for an invalid configuration (see the field comments) or tables that
 * would not lie entirely below 4 GiB (the RSDT and FADT hold 32-bit pointers).
 */
int acpi_gen_build(const struct acpi_gen_config *cfg, u8 *buf, u64 buf_size, u64 buf_gpa, u64 *rsdp_gpa);

#endif
