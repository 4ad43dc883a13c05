/* SPDX-License-Identifier: MIT */
/*
 * The virtual PC every VM gets, as the rest of the VMM sees it. Built from the device models in
 * vmm/dev/ by: vmm/platform_irq.c (interrupt routing: PIC, I/O APIC, local APICs, IPIs, injection),
 * vmm/platform_timers.c (timer polling and deadlines), vmm/platform_mp.c (INIT and SIPI),
 * vmm/platform_ports.c (the port map, platform_init) and vmm/platform_tables.c (the ACPI tables).
 */
#ifndef KEEL_VMM_PLATFORM_H
#define KEEL_VMM_PLATFORM_H

#include "vmm/vm.h"

/* I/O ports of the ACPI fixed hardware (PM1a event 0x600-0x603, PM1a control 0x604-0x605, PM
 * timer 0x608-0x60b), the SCI's ISA IRQ, and the value the FADT's reset register takes (0xcf9). */
#define PLATFORM_PM_BASE     0x600
#define PLATFORM_SCI_IRQ     9
#define PLATFORM_RESET_VALUE 0x06

/* The root bridge's windows (ACPI _CRS) where Keel places BARs: I/O 0xc000-0xffff, 32-bit memory
 * from 3 GiB up to the I/O APIC, 64-bit memory (32 GiB) from the first GiB boundary above RAM. */
#define PLATFORM_PCI_IO_FIRST	 0xc000
#define PLATFORM_PCI_IO_LAST	 0xffff
#define PLATFORM_PCI_MEM32_FIRST VM_RAM_HOLE
#define PLATFORM_PCI_MEM64_ALIGN GiB(1)
#define PLATFORM_PCI_MEM64_SIZE	 GiB(32)
/* PCI INTA-D lines go to I/O APIC GSIs 16-23 (the DSDT's _PRT); 0-15 are the ISA IRQs'. */
#define PLATFORM_PCI_GSI_BASE 16
#define PLATFORM_PCI_NR_GSIS  8

/* The devices every VM gets (PIC pair, PIT, I/O APIC, RTC, ACPI PM blocks, reset sources, PCI
 * configuration space with a host bridge) and each vCPU's local APIC (after vcpus exist). */
int platform_init(struct vm *vm);
/* Writes the ACPI tables describing that platform with nr_vcpus CPUs into the VM's BIOS area;
 * *rsdp is where the RSDP went. */
int platform_write_tables(struct vm *vm, u32 nr_vcpus, u64 *rsdp);
/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs of v: 0, or -EINVAL for #GP. */
int platform_lapic_msr(struct vcpu *v, u32 msr, bool write, u64 *val);
/* Local APIC at power-on (vCPU 0 as firmware leaves it: LINT0 takes the PIC). */
void platform_vcpu_reset(struct vcpu *v);
/* Before each entry, on v's CPU: advance timers and hand the guest the interrupt it can take,
 * or ask for an interrupt window. */
void platform_before_entry(struct vcpu *v);
/* A halted v may resume: an interrupt is pending and its IF is set. On v's CPU. */
bool platform_can_wake(struct vcpu *v);
/* When the next timer interrupt of running v is due (ns, time_ns clock), 0 if none can be delivered. */
u64 platform_next_timer(const struct vcpu *v);
/* For v about to block, on its CPU: when a timer interrupt it can take (or, for vCPU 0, that it
 * must route to the others) is due; 0 if only an event can wake it. */
u64 platform_wake_time(const struct vcpu *v);
/* Applies INIT and SIPI sent to v (on v's CPU, before entry); returns false while v waits for
 * a SIPI. */
bool platform_mp_events(struct vcpu *v);
/* An IPI from src's local APIC to the vCPUs it selects. */
void platform_send_ipi(struct vcpu *src, const struct vlapic_ipi *ipi);
/* An MSI (address, data; Intel SDM vol. 3A §11.11) from a device of vm, to the local APICs it
 * names; anything that is not an interrupt message is dropped. Called without vm->lock. */
void platform_msi(struct vm *vm, u64 addr, u32 data, const struct vcpu *self);
/* The device model (vmm/ioreq.c): I/O APIC input `gsi` (0-23) set to level 0/1 (logical:
 * 1 asserted), or pulsed (level < 0). Called without vm->lock. */
void platform_set_gsi(struct vm *vm, unsigned gsi, int level);
/* Raises MSI-X vector `vector` of vm's control function (an upcall; pending while masked); with
 * `boost`, the vCPUs it goes to run first (sched_kick_boost). Takes vm->lock: callable from any
 * CPU that holds no vm->lock. */
void platform_ctl_upcall(struct vm *vm, unsigned vector, bool boost);
/* The PCI windows of vm (they depend on its RAM). */
void platform_pci_windows(const struct vm *vm, struct vpci_windows *w);
/* A device of the VM asserts ISA IRQ `irq` (edge): through the virtual PIC to vCPU 0. */
void platform_set_irq(struct vm *vm, u8 irq);

#endif
