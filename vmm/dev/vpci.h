/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, §3.2.2.3.2): CONFIG_ADDRESS
 * at 0xcf8 and CONFIG_DATA at 0xcfc-0xcff, one bus (bus 0) with a host bridge at 00:00.0 and
 * devices registered by the platform. A pure model: no locking (the caller serializes), no
 * globals (tests/unit/test_vpci.c).
 *
 * Port ownership: a 1-byte access to 0xcf9 is the chipset's Reset Control register, not PCI;
 * the caller routes it elsewhere. vpci_owns() says which accesses belong here.
 */
#ifndef KEEL_VMM_DEV_VPCI_H
#define KEEL_VMM_DEV_VPCI_H

#include "kernel/types.h"
#include "vmm/dev/vpci_dev.h"

#define VPCI_CONFIG_ADDRESS 0xcf8
#define VPCI_CONFIG_DATA    0xcfc
#define VPCI_RESET_CONTROL  0xcf9 /* byte accesses only; not handled here */
#define VPCI_PORT_FIRST	    0xcf8
#define VPCI_PORT_LAST	    0xcff
#define VPCI_DEVS	    32
#define VPCI_FNS	    8

/* A device's configuration space. offset is 0..255 and naturally aligned to size (1, 2 or 4):
 * the bus guarantees it. cfg_read returns the value in the low `size` bytes (the bus masks the
 * rest). Both are required. */
struct vpci_device_ops {
	u32 (*cfg_read)(void *opaque, u32 offset, unsigned size);
	void (*cfg_write)(void *opaque, u32 offset, unsigned size, u32 val);
};

struct vpci_function {
	const struct vpci_device_ops *ops; /* NULL: empty */
	void *opaque;
	struct vpci_dev *dev; /* an emulated function with BARs (vpci_register_dev), or NULL */
};

/* The host bridge's only mutable state. */
struct vpci_hostbridge {
	u16 command;
};

struct vpci_bus {
	u32 addr; /* CONFIG_ADDRESS as the guest last wrote it, reserved bits cleared */
	struct vpci_function slot[VPCI_DEVS][VPCI_FNS];
	struct vpci_hostbridge hb;
};

/* Empties the bus and registers the host bridge at 00:00.0 (CONFIG_ADDRESS disabled). */
void vpci_init(struct vpci_bus *bus);

/*
 * Puts a function at 00:dev.fn. -EINVAL for dev >= 32, fn >= 8 or missing ops; -EBUSY if taken;
 * -ENOENT for fn != 0 when function 0 of that device is not registered: a multi-function device
 * registers function 0 first, and setting bit 7 (multi-function) of function 0's header type
 * register, so the guest scans functions 1-7, is that device's job.
 */
int vpci_register(struct vpci_bus *bus, u8 dev, u8 fn, const struct vpci_device_ops *ops, void *opaque);

/* Puts an emulated function (vpci_dev.h) at 00:dev.fn: its configuration space and its BARs. */
int vpci_register_dev(struct vpci_bus *bus, u8 dev, u8 fn, struct vpci_dev *d);

/* The windows a root bridge forwards (inclusive), from which vpci_assign_bars() places BARs. */
struct vpci_windows {
	u64 io_first, io_last;
	u64 mem32_first, mem32_last;
	u64 mem64_first, mem64_last; /* mem64_last 0: none (64-bit BARs then go below 4 GiB) */
};

/*
 * What firmware does before the OS boots: every BAR of every emulated function gets a
 * size-aligned address in its window (prefetchable 64-bit BARs in the 64-bit window, everything
 * else in the 32-bit one, I/O in the I/O window), largest first, and COMMAND enables the spaces
 * the function uses. -ENOSPC if they do not all fit.
 */
int vpci_assign_bars(struct vpci_bus *bus, const struct vpci_windows *w);

/*
 * An access by the guest at I/O port or guest-physical address addr, size bytes: the function
 * whose BAR decodes it now (space enabled in COMMAND, the BAR's current address, the whole
 * access inside the BAR) handles it and is returned (its `out` may hold MSIs to deliver);
 * NULL if none does (the caller reads all-ones and drops writes, as a master abort does).
 */
struct vpci_dev *vpci_bar_access(struct vpci_bus *bus, bool io, u64 addr, unsigned size, bool write, u64 *val);

/* The emulated function CONFIG_ADDRESS selects now (enabled, bus 0), or NULL. */
struct vpci_dev *vpci_selected_dev(const struct vpci_bus *bus);

/* Whether the access (port, size) is the PCI model's: anything within 0xcf8-0xcff except a 1-byte
 * access to 0xcf9 (Reset Control). */
bool vpci_owns(u16 port, unsigned size);

/*
 * Guest port access, any port and size (what vpci_owns() rejects reads all-ones and drops
 * writes). Only 32-bit accesses at 0xcf8 reach CONFIG_ADDRESS, other sizes at 0xcf8-0xcfb read
 * all-ones and are dropped. A data access that is not naturally aligned within the dword, or
 * that crosses 0xcff, also reads all-ones. Nonexistent functions, buses other than 0 and a
 * clear enable bit read all-ones (truncated to the access size); their writes are dropped.
 */
u32 vpci_io_read(struct vpci_bus *bus, u16 port, unsigned size);
void vpci_io_write(struct vpci_bus *bus, u16 port, unsigned size, u32 val);

#endif
