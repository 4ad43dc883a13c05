/* SPDX-License-Identifier: MIT */
/*
 * The Keel control function: Keel's own PCI function, which the management VM's keel.ko will
 * bind to (issue 14). Today it is the test function behind a VM option (ctl=on, README): Linux
 * enumerates it, and a doorbell write fires one of its MSI-X vectors so the interrupt path is
 * testable. docs/pci.md explains the IDs.
 *
 *   ID 4b45:0001 (subsystem 4b45:0001), revision 1, class ff/80/00 ("other, unassigned class")
 *   BAR0  MEM32, 16 KiB: registers at 0x0000, MSI-X table at 0x1000, PBA at 0x2000
 *   BAR2  MEM64 prefetchable, 16 GiB: the memory windows (vmm/mgmt_window.c): VMs' RAM mapped
 *         at 1 GiB-aligned offsets by HC_WINDOW_MAP; elsewhere reads 0, writes dropped
 *   MSI-X capability at 0x40, KEELCTL_VECTORS vectors; no INTx (interrupt pin 0)
 *
 * Registers (dword, little endian; other offsets read 0 and drop writes):
 *   0x00 MAGIC     RO  0x4c45454b ("KEEL")
 *   0x04 VERSION   RO  1
 *   0x08 DOORBELL  WO  writing N raises MSI-X vector N (pending while masked; dropped when MSI-X
 *                      is disabled or N >= VECTORS); reads 0
 *   0x0c VECTORS   RO  number of MSI-X vectors
 *   0x10 RINGS     RO  doorbell writes that raised a vector (sent or made pending)
 */
#ifndef KEEL_VMM_DEV_KEELCTL_H
#define KEEL_VMM_DEV_KEELCTL_H

#include "vmm/dev/vpci_dev.h"

#define KEELCTL_VENDOR	   0x4b45 /* not assigned by the PCI-SIG to Keel: see docs/pci.md */
#define KEELCTL_DEVICE	   0x0001
#define KEELCTL_REVISION   1
#define KEELCTL_CLASS	   0xff8000u
#define KEELCTL_SLOT	   2 /* 00:02.0 */
#define KEELCTL_VECTORS	   2
#define KEELCTL_REGS_BAR   0
#define KEELCTL_REGS_SIZE  0x4000
#define KEELCTL_TABLE	   0x1000
#define KEELCTL_PBA	   0x2000
#define KEELCTL_WINDOW_BAR 2
#define KEELCTL_WINDOW	   GiB(16)
#define KEELCTL_MSIX_CAP   0x40

#define KEELCTL_REG_MAGIC    0x00
#define KEELCTL_REG_VERSION  0x04
#define KEELCTL_REG_DOORBELL 0x08
#define KEELCTL_REG_VECTORS  0x0c
#define KEELCTL_REG_RINGS    0x10
#define KEELCTL_MAGIC	     0x4c45454bu
#define KEELCTL_VERSION	     1

struct keelctl {
	struct vpci_dev pci; /* first: the BAR callbacks get &pci */
	u32 rings;
};

/* The function at power-on: BARs declared (unassigned), MSI-X disabled, every vector masked. */
void keelctl_init(struct keelctl *k);

#endif
