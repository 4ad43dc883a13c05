/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration mechanism #1 and the host bridge (PCI Local Bus Specification 3.0: §3.2.2.3.2
 * for CONFIG_ADDRESS/CONFIG_DATA, §6.1-6.2 for the type 0 header). Every port and value comes from
 * the guest: addresses are decoded with masks, data accesses are checked to fall naturally
 * aligned inside the selected dword, and the slot table is only indexed by 5- and 3-bit fields.
 */
#include "vmm/dev/vpci.h"

/* CONFIG_ADDRESS (§3.2.2.3.2): 31 enable, 30:24 reserved (read 0), 23:16 bus, 15:11 device,
 * 10:8 function, 7:2 register, 1:0 read 0. */
#define ADDR_ENABLE  (1u << 31)
#define ADDR_RW_MASK 0x80fffffcu
#define ADDR_BUS(a)  (((a) >> 16) & 0xff)
#define ADDR_DEV(a)  (((a) >> 11) & 0x1f)
#define ADDR_FN(a)   (((a) >> 8) & 0x7)
#define ADDR_REG(a)  ((a)&0xfc)

/* Type 0 header offsets (§6.1) beyond vpci_dev.h's. */
#define PCI_REVISION_CLASS   0x08
#define PCI_STATUS_FAST_B2B  (1u << 7)
#define PCI_STATUS_DEVSEL_MD (1u << 9)

/*
 * The host bridge is the Intel 82441FX (i440FX) PMC, 8086:1237, revision 02h: the host bridge of
 * QEMU's default "pc" machine, so every mainstream guest OS has met it as a virtual machine's
 * bridge. Linux's only fixup for it (quirk_natoma) concerns PCI-to-PCI DMA through bridges this
 * bus doesn't have. The chipset registers beyond the header (PAM, SMRAM, DRAM rows) are firmware
 * business and read 0. The 82441FX predates the PCI 2.1 subsystem IDs, so they read 0 ("none").
 * COMMAND and STATUS reset to the 82441FX defaults, 0006h and 0280h.
 */
#define HB_VENDOR	0x8086
#define HB_DEVICE	0x1237
#define HB_REVISION	0x02
#define HB_CLASS	0x060000u /* base class 06h bridge, subclass 00h host, prog-if 00h */
#define HB_COMMAND_RW	(PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER)
#define HB_COMMAND_INIT (PCI_CMD_MEMORY | PCI_CMD_MASTER)
#define HB_STATUS	(PCI_STATUS_DEVSEL_MD | PCI_STATUS_FAST_B2B)

static u32 hb_dword(const struct vpci_hostbridge *hb, u32 offset)
{
	switch (offset) {
	case PCI_VENDOR_ID:
		return HB_DEVICE << 16 | HB_VENDOR;
	case PCI_COMMAND:
		return HB_STATUS << 16 | hb->command;
	case PCI_REVISION_CLASS:
		return HB_CLASS << 8 | HB_REVISION;
	}
	/* Header type 0 (single function) at 0x0e, no BARs, no subsystem IDs, no capabilities
	 * (STATUS bit 4 is clear, and the pointer at 0x34 is 0), no interrupt pin. */
	return 0;
}

static u32 hb_read(void *opaque, u32 offset, unsigned size)
{
	return hb_dword(opaque, offset & ~3u) >> ((offset & 3) * 8);
}

static void hb_write(void *opaque, u32 offset, unsigned size, u32 val)
{
	struct vpci_hostbridge *hb = opaque;

	/* COMMAND is the one writable register; alignment means a write covering its low byte
	 * starts at it. STATUS has no error bits ever set, so its write-1-to-clear is a no-op. */
	if (offset == PCI_COMMAND)
		hb->command = (u16)((hb->command & ~HB_COMMAND_RW) | (val & HB_COMMAND_RW));
}

static const struct vpci_device_ops hostbridge_ops = {
	.cfg_read = hb_read,
	.cfg_write = hb_write,
};

void vpci_init(struct vpci_bus *bus)
{
	*bus = (struct vpci_bus){ .hb = { .command = HB_COMMAND_INIT } };
	bus->slot[0][0] = (struct vpci_function){ .ops = &hostbridge_ops, .opaque = &bus->hb };
}

int vpci_register(struct vpci_bus *bus, u8 dev, u8 fn, const struct vpci_device_ops *ops, void *opaque)
{
	if (dev >= VPCI_DEVS || fn >= VPCI_FNS || !ops || !ops->cfg_read || !ops->cfg_write)
		return -EINVAL;
	if (bus->slot[dev][fn].ops)
		return -EBUSY;
	if (fn && !bus->slot[dev][0].ops)
		return -ENOENT;
	bus->slot[dev][fn] = (struct vpci_function){ .ops = ops, .opaque = opaque };
	return 0;
}

int vpci_register_dev(struct vpci_bus *bus, u8 dev, u8 fn, struct vpci_dev *d)
{
	static const struct vpci_device_ops dev_ops = {
		.cfg_read = vpci_dev_cfg_read,
		.cfg_write = vpci_dev_cfg_write,
	};
	int ret = d ? vpci_register(bus, dev, fn, &dev_ops, d) : -EINVAL;

	if (!ret)
		bus->slot[dev][fn].dev = d;
	return ret;
}

/* Which window a BAR goes in: 0 I/O, 1 32-bit memory, 2 64-bit memory. */
static unsigned bar_window(const struct vpci_bar *b, const struct vpci_windows *w)
{
	if (b->type == VPCI_BAR_IO)
		return 0;
	return b->type == VPCI_BAR_MEM64 && b->prefetch && w->mem64_last ? 2 : 1;
}

/* Places one BAR at the next size-aligned address of its window; false if it does not fit. */
static bool place_bar(struct vpci_dev *d, struct vpci_bar *b, const struct vpci_windows *w, u64 next[3])
{
	const u64 last[3] = { w->io_last, w->mem32_last, w->mem64_last };
	unsigned win = bar_window(b, w);
	u64 at = ALIGN_UP(next[win], b->size);

	if (at < next[win] || at > last[win] || b->size - 1 > last[win] - at)
		return false;
	b->addr = at;
	next[win] = at + b->size;
	d->cfg[PCI_COMMAND] |= win ? PCI_CMD_MEMORY : PCI_CMD_IO;
	return true;
}

int vpci_assign_bars(struct vpci_bus *bus, const struct vpci_windows *w)
{
	u64 next[3] = { w->io_first, w->mem32_first, w->mem64_first };

	/* Largest first (sizes are powers of two): each BAR then starts where the previous one in
	 * its window ended, with no gaps. */
	for (int shift = 63; shift >= 2; shift--) {
		for (unsigned dv = 0; dv < VPCI_DEVS; dv++) {
			for (unsigned fn = 0; fn < VPCI_FNS; fn++) {
				struct vpci_dev *d = bus->slot[dv][fn].dev;

				for (unsigned n = 0; d && n < VPCI_NR_BARS; n++) {
					struct vpci_bar *b = &d->bar[n];

					if (b->type == VPCI_BAR_NONE || b->type == VPCI_BAR_MEM64_HI ||
					    b->size != 1ull << shift)
						continue;
					if (!place_bar(d, b, w, next))
						return -ENOSPC;
				}
			}
		}
	}
	return 0;
}

struct vpci_dev *vpci_bar_access(struct vpci_bus *bus, bool io, u64 addr, unsigned size, bool write, u64 *val)
{
	for (unsigned dv = 0; dv < VPCI_DEVS; dv++) {
		for (unsigned fn = 0; fn < VPCI_FNS; fn++) {
			struct vpci_dev *d = bus->slot[dv][fn].dev;

			for (unsigned n = 0; d && n < VPCI_NR_BARS; n++) {
				u64 base;

				if ((d->bar[n].type == VPCI_BAR_IO) != io || !vpci_dev_bar_live(d, n, &base))
					continue;
				if (addr < base || addr - base >= d->bar[n].size ||
				    size > d->bar[n].size - (addr - base))
					continue;
				if (write)
					vpci_dev_bar_write(d, n, addr - base, size, *val);
				else
					*val = vpci_dev_bar_read(d, n, addr - base, size);
				return d;
			}
		}
	}
	return NULL;
}

struct vpci_dev *vpci_selected_dev(const struct vpci_bus *bus)
{
	u32 a = bus->addr;

	if (!(a & ADDR_ENABLE) || ADDR_BUS(a) != 0)
		return NULL;
	return bus->slot[ADDR_DEV(a)][ADDR_FN(a)].dev;
}

bool vpci_owns(u16 port, unsigned size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	if (port < VPCI_PORT_FIRST || port + size > VPCI_PORT_LAST + 1u)
		return false;
	return !(port == VPCI_RESET_CONTROL && size == 1);
}

static u32 ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* The function and register a CONFIG_DATA access reaches, or NULL (reads all-ones). */
static const struct vpci_function *data_target(const struct vpci_bus *bus, u16 port, unsigned size, u32 *offset)
{
	u32 a = bus->addr;
	u32 byte;
	const struct vpci_function *f;

	if (!vpci_owns(port, size) || port < VPCI_CONFIG_DATA)
		return NULL;
	byte = port - VPCI_CONFIG_DATA;
	if (byte % size)
		return NULL; /* 2 bytes at 0xcfd or 0xcff, 4 bytes anywhere but 0xcfc */
	if (!(a & ADDR_ENABLE) || ADDR_BUS(a) != 0)
		return NULL;
	f = &bus->slot[ADDR_DEV(a)][ADDR_FN(a)];
	if (!f->ops)
		return NULL;
	*offset = ADDR_REG(a) + byte;
	return f;
}

u32 vpci_io_read(struct vpci_bus *bus, u16 port, unsigned size)
{
	const struct vpci_function *f;
	u32 offset;

	if (port == VPCI_CONFIG_ADDRESS && size == 4)
		return bus->addr;
	f = data_target(bus, port, size, &offset);
	if (!f)
		return ones(size);
	return f->ops->cfg_read(f->opaque, offset, size) & ones(size);
}

void vpci_io_write(struct vpci_bus *bus, u16 port, unsigned size, u32 val)
{
	const struct vpci_function *f;
	u32 offset;

	if (port == VPCI_CONFIG_ADDRESS && size == 4) {
		bus->addr = val & ADDR_RW_MASK;
		return;
	}
	f = data_target(bus, port, size, &offset);
	if (f)
		f->ops->cfg_write(f->opaque, offset, size, val & ones(size));
}
