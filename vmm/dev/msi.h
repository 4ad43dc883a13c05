/* SPDX-License-Identifier: MIT */
/*
 * Message Signalled Interrupts as an x86 local APIC takes them (Intel SDM vol. 3A §11.11): a
 * dword write of `data` to `addr` in 0xFEExxxxx. Decoded into the message an I/O APIC pin would
 * send (struct vioapic_msg), so MSIs travel the same routing to the local APICs.
 */
#ifndef KEEL_VMM_DEV_MSI_H
#define KEEL_VMM_DEV_MSI_H

#include "kernel/types.h"
#include "vmm/dev/vioapic.h"

#define MSI_ADDR_BASE	   0xfee00000u
#define MSI_ADDR_BASE_MASK 0xfff00000u		/* bits 31:20 are 0FEEh */
#define MSI_ADDR_DEST(a)   (((a) >> 12) & 0xff) /* Destination ID, bits 19:12 */
#define MSI_ADDR_RH	   (1u << 3)		/* Redirection Hint */
#define MSI_ADDR_DM	   (1u << 2)		/* Destination Mode: 1 logical */
#define MSI_DATA_VECTOR(d) ((d)&0xff)
#define MSI_DATA_MODE(d)   (((d) >> 8) & 7) /* Delivery Mode, bits 10:8 */
#define MSI_DATA_LEVEL	   (1u << 14)
#define MSI_DATA_TRIGGER   (1u << 15) /* 1: level */

/*
 * 0 and *m filled, or -EINVAL: the address is not in the interrupt range (above 4 GiB, or not
 * 0xFEExxxxx: a DMA write to memory, not an interrupt), or it is a level-triggered message with
 * Level 0 (a deassert, which a local APIC ignores), or a reserved delivery mode (011b, 110b).
 *
 * DM chooses logical or physical destination, with RH = 0 as with RH = 1: the SDM's "if RH is 0,
 * the DM bit is ignored" (§11.11.1) is about the lowest-priority redirection, not the destination
 * format, and Linux in flat logical mode sends DM = 1, RH = 0 with a logical destination (what
 * KVM and QEMU deliver as logical too). RH itself changes nothing here. The
 * trigger mode is not kept: a local APIC that took a level MSI would send its EOI to the I/O
 * APIC, where no pin raised it, so every MSI is delivered edge-triggered (as KVM does for
 * devices that are not assigned).
 */
int msi_decode(u64 addr, u32 data, struct vioapic_msg *m);

#endif
