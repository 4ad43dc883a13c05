/* SPDX-License-Identifier: MIT */
/*
 * An emulated PCI function with the parts every such function shares (PCI Local Bus 3.0 §6.1-6.2
 * type 0 header, §6.2.5 BARs, §6.8.2 MSI-X): a configuration image with a mask of the bits the
 * guest may write, up to six BARs (I/O, 32- or 64-bit memory, prefetchable), the COMMAND decode
 * bits, and optionally an MSI-X capability whose table and PBA sit in one of its memory BARs.
 *
 * The bus (vmm/dev/vpci.c) reaches it through vpci_register_dev(): configuration accesses go
 * here, and vpci_bar_access() routes I/O and memory accesses to the BAR that decodes them at its
 * current address, only while COMMAND enables that space. The rest of each BAR goes to the
 * function's owner (ops). A pure model (tests/unit/test_vpci.c); the caller serializes.
 *
 * MSI-X messages it decides to send are queued in `out` for the caller to deliver once it has
 * dropped its lock (vmm/platform_msi.c); the queue holds a whole table, so it cannot overflow.
 */
#ifndef KEEL_VMM_DEV_VPCI_DEV_H
#define KEEL_VMM_DEV_VPCI_DEV_H

#include "kernel/types.h"

#define VPCI_CFG_SIZE	 256
#define VPCI_NR_BARS	 6
#define VPCI_MSIX_MAX	 32	/* table entries an emulated function may have */
#define VPCI_MSIX_ENTRY	 16	/* bytes per table entry */
#define VPCI_BAR_MIN_MEM 0x1000 /* memory BARs cover whole pages (nested paging traps them) */
#define VPCI_BAR_MIN_IO	 4
#define VPCI_BAR_MAX_IO	 256

/* Type 0 header and capability registers (PCI 3.0 §6.1, §6.7, §6.8.2). */
#define PCI_VENDOR_ID	       0x00
#define PCI_DEVICE_ID	       0x02
#define PCI_COMMAND	       0x04
#define PCI_STATUS	       0x06
#define PCI_REVISION	       0x08
#define PCI_CLASS_PROG	       0x09
#define PCI_HEADER_TYPE	       0x0e
#define PCI_BAR0	       0x10
#define PCI_SUBSYS_VENDOR      0x2c
#define PCI_SUBSYS_ID	       0x2e
#define PCI_ROM		       0x30
#define PCI_CAP_PTR	       0x34
#define PCI_INT_LINE	       0x3c
#define PCI_INT_PIN	       0x3d
#define PCI_CMD_IO	       (1u << 0)
#define PCI_CMD_MEMORY	       (1u << 1)
#define PCI_CMD_MASTER	       (1u << 2)
#define PCI_CMD_INTX_DISABLE   (1u << 10)
#define PCI_STATUS_CAP_LIST    (1u << 4)
#define PCI_BAR_IO	       (1u << 0)
#define PCI_BAR_MEM64	       (2u << 1)
#define PCI_BAR_PREFETCH       (1u << 3)
#define PCI_CAP_ID_MSI	       0x05
#define PCI_MSI_CTRL	       2 /* from the capability (PCI 3.0 §6.8.1, 64-bit layout) */
#define PCI_MSI_ADDR	       4
#define PCI_MSI_UADDR	       8
#define PCI_MSI_DATA	       12
#define PCI_MSI_MASK	       16 /* with per-vector masking */
#define PCI_MSI_PENDING	       20
#define PCI_MSI_CAP_LEN	       24
#define PCI_MSI_CTRL_ENABLE    (1u << 0)
#define PCI_MSI_CTRL_MMC(n)    ((u32)(n) << 1) /* Multiple Message Capable: 2^n vectors */
#define PCI_MSI_CTRL_MME_SHIFT 4	       /* Multiple Message Enable, 3 bits */
#define PCI_MSI_CTRL_64BIT     (1u << 7)
#define PCI_MSI_CTRL_PVM       (1u << 8)
#define PCI_CAP_ID_MSIX	       0x11
#define PCI_MSIX_CTRL	       2 /* from the capability: message control */
#define PCI_MSIX_TABLE	       4 /* offset | BIR */
#define PCI_MSIX_PBA	       8
#define PCI_MSIX_CAP_LEN       12
#define PCI_MSIX_CTRL_ENABLE   (1u << 15)
#define PCI_MSIX_CTRL_MASKALL  (1u << 14)
#define PCI_MSIX_ENTRY_ADDR    0
#define PCI_MSIX_ENTRY_UADDR   4
#define PCI_MSIX_ENTRY_DATA    8
#define PCI_MSIX_ENTRY_CTRL    12
#define PCI_MSIX_ENTRY_MASKED  (1u << 0)

/* VPCI_BAR_MEM64_HI: the upper half of the MEM64 BAR in the slot before (set by vpci_dev_add_bar). */
enum vpci_bar_type { VPCI_BAR_NONE, VPCI_BAR_IO, VPCI_BAR_MEM32, VPCI_BAR_MEM64, VPCI_BAR_MEM64_HI };

struct vpci_bar {
	u8 type; /* enum vpci_bar_type; a MEM64 BAR also takes the next slot (its upper half) */
	bool prefetch;
	u64 size; /* a power of two */
	u64 addr; /* as the guest (or vpci_assign_bars) last programmed it, size-aligned */
};

struct vpci_dev;
/* Accesses to a BAR outside the MSI-X table and PBA, at offset off into it (size 1, 2, 4 or 8,
 * never crossing the BAR's end). Optional: without them reads are all-ones, writes dropped. */
struct vpci_dev_ops {
	u64 (*bar_read)(struct vpci_dev *d, unsigned bar, u64 off, unsigned size);
	void (*bar_write)(struct vpci_dev *d, unsigned bar, u64 off, unsigned size, u64 val);
};

struct vpci_msi_out {
	u32 n;
	struct {
		u64 addr;
		u32 data;
	} msg[VPCI_MSIX_MAX];
};

struct vpci_msix {
	u8 cap;	   /* capability offset in configuration space, 0: none */
	u8 bar;	   /* the BAR holding table and PBA */
	u16 nr;	   /* entries, 1..VPCI_MSIX_MAX */
	u32 table; /* offsets into that BAR, 8-byte aligned */
	u32 pba;
	u32 entry[VPCI_MSIX_MAX][VPCI_MSIX_ENTRY / 4];
	u32 pending; /* PBA bits */
};

struct vpci_msi {
	u8 cap;	     /* capability offset, 0: none */
	u8 log2_nr;  /* Multiple Message Capable: 2^log2_nr vectors, 0..5 */
	u32 pending; /* Pending Bits (per-vector masking) */
};

struct vpci_dev {
	u8 cfg[VPCI_CFG_SIZE];
	u8 wmask[VPCI_CFG_SIZE]; /* bits the guest may change outside BARs (COMMAND included) */
	struct vpci_bar bar[VPCI_NR_BARS];
	struct vpci_msix msix;
	struct vpci_msi msi;
	struct vpci_msi_out out;
	const struct vpci_dev_ops *ops;
	void *opaque;
};

/* A type 0 header: IDs, class (base << 16 | sub << 8 | prog-if), revision, no BARs, no
 * interrupt pin, COMMAND writable in its I/O, memory, bus master and INTx-disable bits. */
void vpci_dev_init(struct vpci_dev *d, u16 vendor, u16 device, u32 class_code, u8 revision, u16 subsys_vendor,
		   u16 subsys_id);
/* Declares BAR n: -EINVAL for a bad n, type or size (I/O 4..256 bytes, memory from a page; a
 * power of two), a MEM64 in slot 5 or over a taken slot. */
int vpci_dev_add_bar(struct vpci_dev *d, unsigned n, enum vpci_bar_type type, bool prefetch, u64 size);
/* An MSI-X capability at configuration offset cap (after 0x40, dword aligned) with nr entries,
 * table and PBA at the given offsets of memory BAR bar (declared first; both must fit, not
 * overlap, be 8-byte aligned). Entries start masked, MSI-X disabled. */
int vpci_dev_add_msix(struct vpci_dev *d, u8 cap, unsigned bar, u16 nr, u32 table, u32 pba);

/* An MSI capability (PCI 3.0 §6.8.1) at configuration offset cap (after 0x40, dword aligned):
 * 64-bit address, per-vector masking, 2^log2_nr vectors (0..5). Disabled at reset. */
int vpci_dev_add_msi(struct vpci_dev *d, u8 cap, unsigned log2_nr);

/* Configuration space (the vpci_device_ops of a registered function). */
u32 vpci_dev_cfg_read(void *opaque, u32 offset, unsigned size);
void vpci_dev_cfg_write(void *opaque, u32 offset, unsigned size, u32 val);

/* Whether BAR n decodes now (declared, its space enabled in COMMAND), and where. */
bool vpci_dev_bar_live(const struct vpci_dev *d, unsigned n, u64 *base);
/* An access inside BAR n at offset off (the bus checked the range and decode). */
u64 vpci_dev_bar_read(struct vpci_dev *d, unsigned n, u64 off, unsigned size);
void vpci_dev_bar_write(struct vpci_dev *d, unsigned n, u64 off, unsigned size, u64 val);

/* The function raises MSI-X vector `vec`: queued in d->out, or made pending while masked;
 * dropped while MSI-X is disabled or vec is out of range (returns false). */
bool vpci_dev_msix_notify(struct vpci_dev *d, unsigned vec);
/* The same for MSI: vec below the 2^MME vectors the guest enabled; the message carries the data
 * with its low MME bits replaced by vec (PCI 3.0 §6.8.3.4). */
bool vpci_dev_msi_notify(struct vpci_dev *d, unsigned vec);

#endif
