/* SPDX-License-Identifier: MIT */
/*
 * Emulated PCI functions (vmm/dev/vpci_dev.c) on the bus (vmm/dev/vpci.c): BAR sizing and
 * programming, decode through COMMAND, routing of I/O and memory accesses to the BAR at its
 * current address, firmware-style BAR assignment, the MSI-X capability, table, PBA and masks,
 * the MSI capability, the Keel control function (vmm/dev/keelctl.c) and MSI address/data
 * decoding (vmm/dev/msi.c).
 */
#include "shim.h"

#include <string.h>

#include "vmm/dev/keelctl.h"
#include "vmm/dev/msi.h"
#include "vmm/dev/vpci.h"

#define SLOT 3

static u32 cfg_addr(u8 dev, u8 reg)
{
	return 0x80000000u | (u32)dev << 11 | (reg & 0xfcu);
}

static u32 cfg_rd(struct vpci_bus *b, u8 dev, u8 reg, unsigned size)
{
	vpci_io_write(b, 0xcf8, 4, cfg_addr(dev, reg));
	return vpci_io_read(b, (u16)(0xcfc + (reg & 3)), size);
}

static void cfg_wr(struct vpci_bus *b, u8 dev, u8 reg, unsigned size, u32 val)
{
	vpci_io_write(b, 0xcf8, 4, cfg_addr(dev, reg));
	vpci_io_write(b, (u16)(0xcfc + (reg & 3)), size, val);
}

/* The owner's side of a BAR: remembers the last access. */
struct owner {
	unsigned bar, size, reads, writes;
	u64 off, val;
};
static struct owner own;

static u64 own_read(struct vpci_dev *d, unsigned bar, u64 off, unsigned size)
{
	own.bar = bar, own.off = off, own.size = size, own.reads++;
	return 0x1122334455667788ull;
}

static void own_write(struct vpci_dev *d, unsigned bar, u64 off, unsigned size, u64 val)
{
	own.bar = bar, own.off = off, own.size = size, own.val = val, own.writes++;
}

static const struct vpci_dev_ops own_ops = { .bar_read = own_read, .bar_write = own_write };

/* I/O (32 ports) in BAR0, 32-bit memory (8 KiB) in BAR1, 64-bit prefetchable (4 MiB) in BAR2-3. */
static void make_dev(struct vpci_bus *b, struct vpci_dev *d)
{
	vpci_init(b);
	vpci_dev_init(d, 0x1234, 0x5678, 0xff8000, 3, 0x1234, 0x9abc);
	assert_int_equal(vpci_dev_add_bar(d, 0, VPCI_BAR_IO, false, 32), 0);
	assert_int_equal(vpci_dev_add_bar(d, 1, VPCI_BAR_MEM32, false, 0x2000), 0);
	assert_int_equal(vpci_dev_add_bar(d, 2, VPCI_BAR_MEM64, true, MiB(4)), 0);
	d->ops = &own_ops;
	assert_int_equal(vpci_register_dev(b, SLOT, 0, d), 0);
	memset(&own, 0, sizeof(own));
}

static void test_header_and_sizing(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;

	make_dev(&b, &d);
	assert_int_equal(cfg_rd(&b, SLOT, 0, 4), 0x56781234);
	assert_int_equal(cfg_rd(&b, SLOT, 8, 4), 0xff800003);
	assert_int_equal(cfg_rd(&b, SLOT, 0x2c, 4), 0x9abc1234);
	assert_int_equal(cfg_rd(&b, SLOT, 4, 4), 0); /* decode off, no capabilities */
	/* Unassigned BARs read their type bits (PCI 3.0 §6.2.5.1). */
	assert_int_equal(cfg_rd(&b, SLOT, 0x10, 4), 0x1);
	assert_int_equal(cfg_rd(&b, SLOT, 0x14, 4), 0x0);
	assert_int_equal(cfg_rd(&b, SLOT, 0x18, 4), 0xc);
	assert_int_equal(cfg_rd(&b, SLOT, 0x1c, 4), 0x0);
	assert_int_equal(cfg_rd(&b, SLOT, 0x20, 4), 0x0);
	/* The size probe: all-ones in, the size mask and the type bits out. */
	for (u8 reg = 0x10; reg < 0x28; reg += 4)
		cfg_wr(&b, SLOT, reg, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&b, SLOT, 0x10, 4), 0xffffffe1);
	assert_int_equal(cfg_rd(&b, SLOT, 0x14, 4), 0xffffe000);
	assert_int_equal(cfg_rd(&b, SLOT, 0x18, 4), 0xffc0000c);
	assert_int_equal(cfg_rd(&b, SLOT, 0x1c, 4), 0xffffffff);
	assert_int_equal(cfg_rd(&b, SLOT, 0x20, 4), 0); /* BARs 4 and 5 are not there */
	assert_int_equal(cfg_rd(&b, SLOT, 0x24, 4), 0);
	assert_int_equal(cfg_rd(&b, SLOT, 0x30, 4), 0); /* no expansion ROM */
	/* Addresses: low bits below the size are dropped; byte and word writes merge. */
	cfg_wr(&b, SLOT, 0x10, 4, 0xc123);
	assert_int_equal(cfg_rd(&b, SLOT, 0x10, 4), 0xc121);
	cfg_wr(&b, SLOT, 0x14, 4, 0xd0001fff);
	assert_int_equal(cfg_rd(&b, SLOT, 0x14, 4), 0xd0000000);
	cfg_wr(&b, SLOT, 0x17, 1, 0xe0);
	assert_int_equal(cfg_rd(&b, SLOT, 0x14, 4), 0xe0000000);
	cfg_wr(&b, SLOT, 0x18, 4, 0x00c00000);
	cfg_wr(&b, SLOT, 0x1c, 4, 0x2);
	assert_int_equal(d.bar[2].addr, 0x200c00000ull);
	assert_int_equal(cfg_rd(&b, SLOT, 0x1e, 2), 0);
	assert_int_equal(cfg_rd(&b, SLOT, 0x1c, 2), 2);
	/* Read-only registers stay; COMMAND takes only its decode, master and INTx-disable bits. */
	cfg_wr(&b, SLOT, 0, 4, 0);
	cfg_wr(&b, SLOT, 8, 4, 0);
	assert_int_equal(cfg_rd(&b, SLOT, 0, 4), 0x56781234);
	assert_int_equal(cfg_rd(&b, SLOT, 8, 4), 0xff800003);
	cfg_wr(&b, SLOT, 4, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&b, SLOT, 4, 4), 0x00000407);
	cfg_wr(&b, SLOT, 0x3c, 1, 11);
	assert_int_equal(cfg_rd(&b, SLOT, 0x3c, 4), 11); /* interrupt line is scratch, pin 0 */
}

static void test_add_bar_rejects(void **state)
{
	struct vpci_dev d;

	vpci_dev_init(&d, 1, 2, 0, 0, 0, 0);
	assert_int_equal(vpci_dev_add_bar(&d, 6, VPCI_BAR_MEM32, false, 0x1000), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_MEM32, false, 0x1800), -EINVAL); /* not 2^n */
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_MEM32, false, 0x800), -EINVAL);  /* under a page */
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_IO, false, 2), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_IO, false, 512), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_IO, true, 16), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 5, VPCI_BAR_MEM64, false, 0x1000), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_MEM64_HI, false, 0x1000), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&d, 1, VPCI_BAR_MEM32, false, 0x1000), 0);
	assert_int_equal(vpci_dev_add_bar(&d, 0, VPCI_BAR_MEM64, false, 0x1000), -EINVAL); /* over BAR1 */
	assert_int_equal(vpci_dev_add_bar(&d, 1, VPCI_BAR_IO, false, 16), -EINVAL);	   /* taken */
	assert_int_equal(vpci_dev_add_bar(&d, 2, VPCI_BAR_MEM64, false, GiB(8)), 0);
	assert_int_equal(vpci_dev_add_bar(&d, 3, VPCI_BAR_MEM32, false, 0x1000), -EINVAL); /* BAR2's upper half */
}

/* Accesses reach the owner only inside a BAR, at its current address, with its space enabled. */
static void test_routing(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;
	u64 v;

	make_dev(&b, &d);
	cfg_wr(&b, SLOT, 0x10, 4, 0xc000);
	cfg_wr(&b, SLOT, 0x14, 4, 0xc0002000);
	cfg_wr(&b, SLOT, 0x18, 4, 0x0);
	cfg_wr(&b, SLOT, 0x1c, 4, 0x1);
	/* Decode off: nobody answers. */
	v = 0;
	assert_null(vpci_bar_access(&b, false, 0xc0002000, 4, false, &v));
	assert_null(vpci_bar_access(&b, true, 0xc000, 1, false, &v));
	assert_int_equal(own.reads, 0);
	/* Memory on: the memory BARs, not the I/O one. */
	cfg_wr(&b, SLOT, 4, 2, PCI_CMD_MEMORY);
	assert_ptr_equal(vpci_bar_access(&b, false, 0xc0002010, 4, false, &v), &d);
	assert_int_equal(v, 0x1122334455667788ull);
	assert_int_equal(own.bar, 1);
	assert_int_equal(own.off, 0x10);
	assert_int_equal(own.size, 4);
	assert_ptr_equal(vpci_bar_access(&b, false, 0x100000000ull + MiB(4) - 8, 8, true, &(u64){ 0xabcdef }), &d);
	assert_int_equal(own.bar, 2);
	assert_int_equal(own.off, MiB(4) - 8);
	assert_int_equal(own.val, 0xabcdef);
	assert_null(vpci_bar_access(&b, true, 0xc000, 1, false, &v));
	/* Edges: the byte before and after, and an access running past the end. */
	assert_null(vpci_bar_access(&b, false, 0xc0001fff, 1, false, &v));
	assert_null(vpci_bar_access(&b, false, 0xc0004000, 1, false, &v));
	assert_null(vpci_bar_access(&b, false, 0xc0003ffe, 4, false, &v));
	assert_ptr_equal(vpci_bar_access(&b, false, 0xc0003ffc, 4, false, &v), &d);
	/* I/O on as well. */
	cfg_wr(&b, SLOT, 4, 2, PCI_CMD_MEMORY | PCI_CMD_IO);
	assert_ptr_equal(vpci_bar_access(&b, true, 0xc01f, 1, true, &(u64){ 5 }), &d);
	assert_int_equal(own.bar, 0);
	assert_int_equal(own.off, 0x1f);
	assert_null(vpci_bar_access(&b, true, 0xc020, 1, false, &v));
	assert_null(vpci_bar_access(&b, false, 0xc000, 1, false, &v)); /* I/O BAR, memory access */
	/* The BAR moves: the old address is dead, the new one live. */
	cfg_wr(&b, SLOT, 0x14, 4, 0xd0000000);
	assert_null(vpci_bar_access(&b, false, 0xc0002000, 4, false, &v));
	assert_ptr_equal(vpci_bar_access(&b, false, 0xd0000000, 4, false, &v), &d);
	/* Memory off again. */
	cfg_wr(&b, SLOT, 4, 2, PCI_CMD_IO);
	assert_null(vpci_bar_access(&b, false, 0xd0000000, 4, false, &v));
}

/* The windows of Keel's VMs (vmm/platform.h) with RAM below 4 GiB. */
static const struct vpci_windows w = {
	.io_first = 0xc000,
	.io_last = 0xffff,
	.mem32_first = 0xc0000000,
	.mem32_last = 0xfebfffff,
	.mem64_first = GiB(4),
	.mem64_last = GiB(36) - 1,
};

static void test_assign(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d, e;
	struct vpci_windows small = w;

	make_dev(&b, &d);
	vpci_dev_init(&e, 1, 2, 0, 0, 0, 0);
	assert_int_equal(vpci_dev_add_bar(&e, 0, VPCI_BAR_MEM32, false, 0x1000), 0);
	assert_int_equal(vpci_dev_add_bar(&e, 1, VPCI_BAR_MEM32, true, 0x10000), 0);
	assert_int_equal(vpci_dev_add_bar(&e, 2, VPCI_BAR_MEM64, false, 0x4000), 0); /* not prefetchable: below 4G */
	assert_int_equal(vpci_dev_add_bar(&e, 4, VPCI_BAR_IO, false, 256), 0);
	assert_int_equal(vpci_register_dev(&b, 7, 0, &e), 0);
	assert_int_equal(vpci_assign_bars(&b, &w), 0);
	/* Largest first in each window, each size-aligned. */
	assert_int_equal(e.bar[4].addr, 0xc000);
	assert_int_equal(d.bar[0].addr, 0xc100);
	assert_int_equal(e.bar[1].addr, 0xc0000000);
	assert_int_equal(e.bar[2].addr, 0xc0010000);
	assert_int_equal(d.bar[1].addr, 0xc0014000);
	assert_int_equal(e.bar[0].addr, 0xc0016000);
	assert_int_equal(d.bar[2].addr, GiB(4));
	assert_int_equal(cfg_rd(&b, SLOT, 0x1c, 4), 1);
	assert_int_equal(cfg_rd(&b, SLOT, 4, 2), PCI_CMD_IO | PCI_CMD_MEMORY);
	assert_int_equal(cfg_rd(&b, 7, 4, 2), PCI_CMD_IO | PCI_CMD_MEMORY);
	/* No 64-bit window: the prefetchable 64-bit BAR goes below 4 GiB. */
	small.mem64_last = 0;
	assert_int_equal(vpci_assign_bars(&b, &small), 0);
	assert_int_equal(d.bar[2].addr, 0xc0000000);
	/* Windows too small. */
	small.mem32_last = 0xc03fffff;
	assert_int_equal(vpci_assign_bars(&b, &small), -ENOSPC);
	small = w;
	small.io_last = 0xc0ff;
	assert_int_equal(vpci_assign_bars(&b, &small), -ENOSPC);
	small = w;
	small.mem64_first = ~0ull - MiB(2);
	small.mem64_last = ~0ull;
	assert_int_equal(vpci_assign_bars(&b, &small), -ENOSPC); /* aligning would wrap */
}

#define CAP   0x50
#define TABLE 0x800
#define PBA   0xc00

static void make_msix(struct vpci_bus *b, struct vpci_dev *d, u16 nr)
{
	make_dev(b, d);
	assert_int_equal(vpci_dev_add_msix(d, CAP, 1, nr, TABLE, PBA), 0);
	cfg_wr(b, SLOT, 0x14, 4, 0xc0000000);
	cfg_wr(b, SLOT, 4, 2, PCI_CMD_MEMORY);
}

static u64 bar1_rd(struct vpci_bus *b, u64 off, unsigned size)
{
	u64 v = 0;

	assert_non_null(vpci_bar_access(b, false, 0xc0000000 + off, size, false, &v));
	return v;
}

static void bar1_wr(struct vpci_bus *b, u64 off, unsigned size, u64 v)
{
	assert_non_null(vpci_bar_access(b, false, 0xc0000000 + off, size, true, &v));
}

static void test_msix_capability(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;

	make_msix(&b, &d, 3);
	assert_int_equal(cfg_rd(&b, SLOT, 6, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(&b, SLOT, 0x34, 1), CAP);
	assert_int_equal(cfg_rd(&b, SLOT, CAP, 4), 0x0002 << 16 | 0x00 << 8 | 0x11); /* size-1, no next */
	assert_int_equal(cfg_rd(&b, SLOT, CAP + 4, 4), TABLE | 1);
	assert_int_equal(cfg_rd(&b, SLOT, CAP + 8, 4), PBA | 1);
	/* Only enable and function mask are writable. */
	cfg_wr(&b, SLOT, CAP, 4, 0xffffffff);
	cfg_wr(&b, SLOT, CAP + 4, 4, 0);
	cfg_wr(&b, SLOT, CAP + 8, 4, 0);
	assert_int_equal(cfg_rd(&b, SLOT, CAP, 4), 0xc002u << 16 | 0x11);
	assert_int_equal(cfg_rd(&b, SLOT, CAP + 4, 4), TABLE | 1);
	assert_int_equal(cfg_rd(&b, SLOT, CAP + 8, 4), PBA | 1);
	cfg_wr(&b, SLOT, CAP + 3, 1, 0);
	assert_int_equal(cfg_rd(&b, SLOT, CAP + 2, 2), 2);
	/* Entries start masked with a zero message; the table takes dword and qword accesses. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bar1_rd(&b, TABLE + 16 * i + 12, 4), 1);
		assert_int_equal(bar1_rd(&b, TABLE + 16 * i, 8), 0);
	}
	bar1_wr(&b, TABLE + 16, 8, 0x00000000fee01003ull);
	bar1_wr(&b, TABLE + 24, 4, 0x4041);
	bar1_wr(&b, TABLE + 28, 4, 0xfffffffe);
	assert_int_equal(bar1_rd(&b, TABLE + 16, 4), 0xfee01000); /* bits 1:0 read 0 */
	assert_int_equal(bar1_rd(&b, TABLE + 24, 8), 0x4041);	  /* vector control: only the mask bit */
	/* Misaligned or odd-sized table accesses do nothing, read all-ones. */
	assert_int_equal(bar1_rd(&b, TABLE + 18, 2), 0xffffffffffffffffull);
	assert_int_equal(bar1_rd(&b, TABLE + 20, 8), 0xffffffffffffffffull);
	bar1_wr(&b, TABLE + 17, 1, 0xff);
	bar1_wr(&b, TABLE + 20, 8, ~0ull);
	assert_int_equal(bar1_rd(&b, TABLE + 16, 8), 0xfee01000);
	/* Past the last entry (still inside the BAR): the owner's, not the table's. */
	own.reads = 0;
	bar1_rd(&b, TABLE + 48, 4);
	assert_int_equal(own.reads, 1);
	/* The PBA is read-only. */
	bar1_wr(&b, PBA, 8, ~0ull);
	assert_int_equal(bar1_rd(&b, PBA, 8), 0);
	assert_int_equal(own.writes, 0);
}

static void test_msix_delivery(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;

	make_msix(&b, &d, 3);
	bar1_wr(&b, TABLE + 32, 4, 0xfee02000);
	bar1_wr(&b, TABLE + 40, 4, 0x0051);
	/* Disabled: dropped, nothing pending. */
	assert_false(vpci_dev_msix_notify(&d, 2));
	assert_int_equal(bar1_rd(&b, PBA, 4), 0);
	cfg_wr(&b, SLOT, CAP + 2, 2, PCI_MSIX_CTRL_ENABLE);
	/* Entry masked: pending. */
	assert_true(vpci_dev_msix_notify(&d, 2));
	assert_int_equal(d.out.n, 0);
	assert_int_equal(bar1_rd(&b, PBA, 4), 1u << 2);
	/* Unmasking sends it, once, with the entry's address and data; the PBA clears. */
	bar1_wr(&b, TABLE + 44, 4, 0);
	assert_int_equal(d.out.n, 1);
	assert_int_equal(d.out.msg[0].addr, 0xfee02000);
	assert_int_equal(d.out.msg[0].data, 0x51);
	assert_int_equal(bar1_rd(&b, PBA, 8), 0);
	d.out.n = 0;
	bar1_wr(&b, TABLE + 44, 4, 0);
	assert_int_equal(d.out.n, 0);
	/* Open: sent at once. */
	assert_true(vpci_dev_msix_notify(&d, 2));
	assert_int_equal(d.out.n, 1);
	d.out.n = 0;
	/* Function mask: pending until cleared, whatever the entry says. */
	cfg_wr(&b, SLOT, CAP + 2, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
	assert_true(vpci_dev_msix_notify(&d, 2));
	assert_true(vpci_dev_msix_notify(&d, 2)); /* one pending bit, not two messages */
	assert_int_equal(d.out.n, 0);
	assert_int_equal(bar1_rd(&b, PBA, 4), 1u << 2);
	cfg_wr(&b, SLOT, CAP + 3, 1, PCI_MSIX_CTRL_ENABLE >> 8);
	assert_int_equal(d.out.n, 1);
	assert_int_equal(bar1_rd(&b, PBA, 4), 0);
	d.out.n = 0;
	/* Disabling keeps a pending vector pending; enabling releases it. */
	cfg_wr(&b, SLOT, CAP + 3, 1, PCI_MSIX_CTRL_MASKALL >> 8);
	assert_false(vpci_dev_msix_notify(&d, 2));
	cfg_wr(&b, SLOT, CAP + 3, 1, (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL) >> 8);
	assert_true(vpci_dev_msix_notify(&d, 2));
	cfg_wr(&b, SLOT, CAP + 3, 1, 0);
	assert_int_equal(d.out.n, 0);
	cfg_wr(&b, SLOT, CAP + 3, 1, PCI_MSIX_CTRL_ENABLE >> 8);
	assert_int_equal(d.out.n, 1);
	/* Out of range vectors, and a full queue, never write past the arrays. */
	assert_false(vpci_dev_msix_notify(&d, 3));
	assert_false(vpci_dev_msix_notify(&d, ~0u));
	for (unsigned i = 0; i < 2 * VPCI_MSIX_MAX; i++)
		vpci_dev_msix_notify(&d, 2);
	assert_int_equal(d.out.n, VPCI_MSIX_MAX);
}

static void test_msix_rejects(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;

	make_dev(&b, &d);
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 0, 2, 0, 0x100), -EINVAL);	/* I/O BAR */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 3, 2, 0, 0x100), -EINVAL);	/* upper half */
	assert_int_equal(vpci_dev_add_msix(&d, 0x20, 1, 2, 0, 0x100), -EINVAL); /* in the header */
	assert_int_equal(vpci_dev_add_msix(&d, 0xf8, 1, 2, 0, 0x100), -EINVAL); /* past 256 */
	assert_int_equal(vpci_dev_add_msix(&d, 0x42, 1, 2, 0, 0x100), -EINVAL); /* unaligned */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 0, 0, 0x100), -EINVAL);
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, VPCI_MSIX_MAX + 1, 0, 0x1000), -EINVAL);
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 2, 0x1ff0, 0), -EINVAL); /* table past the BAR */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 2, 0, 0x2000), -EINVAL); /* PBA past the BAR */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 2, 0, 0x18), -EINVAL);	/* overlap */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 2, 4, 0x100), -EINVAL);	/* unaligned table */
	assert_int_equal(vpci_dev_add_msix(&d, CAP, 1, 2, 0, 0x20), 0);
	assert_int_equal(vpci_dev_add_msix(&d, 0x60, 1, 2, 0x100, 0x200), -EINVAL); /* one only */
}

/* Every configuration offset and size a guest can send leaves the model consistent. */
static void test_config_fuzz(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;
	u32 x = 12345;

	make_msix(&b, &d, 2);
	assert_int_equal(vpci_dev_add_msi(&d, 0x60, 5), 0);
	for (unsigned i = 0; i < 200000; i++) {
		unsigned size = 1u << (x % 3);
		u8 reg = (u8)((x >> 8) & ~(size - 1));

		x = x * 1103515245u + 12345u;
		cfg_wr(&b, SLOT, reg, size, x);
		cfg_rd(&b, SLOT, reg, size);
		vpci_dev_msix_notify(&d, x % 4);
		vpci_dev_msi_notify(&d, x % 40);
		d.out.n = 0;
	}
	/* IDs never change. */
	assert_int_equal(cfg_rd(&b, SLOT, 0, 4), 0x56781234);
	assert_int_equal(cfg_rd(&b, SLOT, CAP, 1), 0x11);
}

#define MSI_CAP 0x60

/* Plain MSI (PCI 3.0 §6.8.1): 64-bit layout, per-vector masks, multiple messages. */
static void test_msi_capability(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d, e;

	make_msix(&b, &d, 2);
	assert_int_equal(vpci_dev_add_msi(&d, MSI_CAP, 2), 0);
	/* The list: MSI at the head, then MSI-X. */
	assert_int_equal(cfg_rd(&b, SLOT, 0x34, 1), MSI_CAP);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP, 2), CAP << 8 | 0x05);
	assert_int_equal(cfg_rd(&b, SLOT, CAP, 1), 0x11);
	/* Control: 4 vectors capable (MMC 2), 64-bit, per-vector masking, everything else 0. */
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 2, 2), 0x0184);
	cfg_wr(&b, SLOT, MSI_CAP + 2, 2, 0xffff);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 2, 2), 0x01f5); /* enable and MME take; the rest stays */
	cfg_wr(&b, SLOT, MSI_CAP + 2, 2, 0);
	cfg_wr(&b, SLOT, MSI_CAP + 4, 4, 0xfee01003);
	cfg_wr(&b, SLOT, MSI_CAP + 8, 4, 0x12345678);
	cfg_wr(&b, SLOT, MSI_CAP + 12, 4, 0xffffffff);
	cfg_wr(&b, SLOT, MSI_CAP + 16, 4, 0xffffffff);
	cfg_wr(&b, SLOT, MSI_CAP + 20, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 4, 4), 0xfee01000);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 8, 4), 0x12345678);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 12, 4), 0xffff); /* 16-bit data */
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 16, 4), 0xf);    /* one mask bit per capable vector */
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 20, 4), 0);	     /* pending bits are read-only */
	/* Refused: a second MSI, overlaps, bad counts or offsets. */
	assert_int_equal(vpci_dev_add_msi(&d, 0x80, 0), -EINVAL);
	vpci_dev_init(&e, 1, 2, 0, 0, 0, 0);
	assert_int_equal(vpci_dev_add_msi(&e, 0x40, 6), -EINVAL);
	assert_int_equal(vpci_dev_add_msi(&e, 0x3c, 0), -EINVAL);
	assert_int_equal(vpci_dev_add_msi(&e, 0xec, 0), -EINVAL);
	assert_int_equal(vpci_dev_add_msi(&e, 0x42, 0), -EINVAL);
	assert_int_equal(vpci_dev_add_bar(&e, 0, VPCI_BAR_MEM32, false, 0x1000), 0);
	assert_int_equal(vpci_dev_add_msix(&e, 0x40, 0, 1, 0, 0x800), 0);
	assert_int_equal(vpci_dev_add_msi(&e, 0x48, 0), -EINVAL); /* inside MSI-X's 12 bytes */
	assert_int_equal(vpci_dev_add_msi(&e, 0x4c, 5), 0);
}

static void test_msi_delivery(void **state)
{
	struct vpci_bus b;
	struct vpci_dev d;

	make_dev(&b, &d);
	assert_int_equal(vpci_dev_add_msi(&d, MSI_CAP, 2), 0);
	cfg_wr(&b, SLOT, MSI_CAP + 4, 4, 0xfee02000);
	cfg_wr(&b, SLOT, MSI_CAP + 12, 2, 0x4043);
	/* Disabled: nothing. */
	assert_false(vpci_dev_msi_notify(&d, 0));
	/* One vector enabled (MME 0): only vector 0, with the data as written. */
	cfg_wr(&b, SLOT, MSI_CAP + 2, 2, PCI_MSI_CTRL_ENABLE);
	assert_false(vpci_dev_msi_notify(&d, 1));
	assert_true(vpci_dev_msi_notify(&d, 0));
	assert_int_equal(d.out.n, 1);
	assert_int_equal(d.out.msg[0].addr, 0xfee02000);
	assert_int_equal(d.out.msg[0].data, 0x4043);
	d.out.n = 0;
	/* Four enabled (MME 2): vector v replaces the data's low 2 bits; 8 asked, 4 capable: 4. */
	cfg_wr(&b, SLOT, MSI_CAP + 2, 2, PCI_MSI_CTRL_ENABLE | 3u << 4);
	assert_false(vpci_dev_msi_notify(&d, 4));
	assert_true(vpci_dev_msi_notify(&d, 2));
	assert_int_equal(d.out.msg[0].data, 0x4042);
	d.out.n = 0;
	cfg_wr(&b, SLOT, MSI_CAP + 2, 2, PCI_MSI_CTRL_ENABLE | 2u << 4);
	assert_true(vpci_dev_msi_notify(&d, 1));
	assert_int_equal(d.out.msg[0].data, 0x4041);
	d.out.n = 0;
	/* Masked: pending, visible in the Pending Bits; unmasking sends it once. */
	cfg_wr(&b, SLOT, MSI_CAP + 16, 4, 0x8);
	assert_true(vpci_dev_msi_notify(&d, 3));
	assert_int_equal(d.out.n, 0);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 20, 4), 0x8);
	cfg_wr(&b, SLOT, MSI_CAP + 16, 1, 0);
	assert_int_equal(d.out.n, 1);
	assert_int_equal(d.out.msg[0].data, 0x4043);
	assert_int_equal(cfg_rd(&b, SLOT, MSI_CAP + 20, 4), 0);
	cfg_wr(&b, SLOT, MSI_CAP + 16, 1, 0);
	assert_int_equal(d.out.n, 1);
}

static void test_keelctl(void **state)
{
	static struct keelctl k;
	struct vpci_bus b;
	u64 v, r0;

	vpci_init(&b);
	keelctl_init(&k);
	assert_int_equal(vpci_register_dev(&b, KEELCTL_SLOT, 0, &k.pci), 0);
	assert_int_equal(vpci_assign_bars(&b, &w), 0);
	assert_int_equal(cfg_rd(&b, KEELCTL_SLOT, 0, 4), (u32)KEELCTL_DEVICE << 16 | KEELCTL_VENDOR);
	assert_int_equal(cfg_rd(&b, KEELCTL_SLOT, 8, 4), KEELCTL_CLASS << 8 | KEELCTL_REVISION);
	assert_int_equal(cfg_rd(&b, KEELCTL_SLOT, 0x3d, 1), 0); /* no INTx */
	r0 = cfg_rd(&b, KEELCTL_SLOT, 0x10, 4);
	assert_int_equal(r0, 0xc0000000);
	assert_int_equal(cfg_rd(&b, KEELCTL_SLOT, 0x18, 4), 0x0c);
	assert_int_equal(cfg_rd(&b, KEELCTL_SLOT, 0x1c, 4), 4); /* BAR2, 16 GiB: size-aligned at 16 GiB */
	assert_true(vpci_bar_access(&b, false, r0 + KEELCTL_REG_MAGIC, 4, false, &v) == &k.pci);
	assert_int_equal(v, KEELCTL_MAGIC);
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_VECTORS, 4, false, &v);
	assert_int_equal(v, KEELCTL_VECTORS);
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_MAGIC, 2, false, &v); /* dword registers only */
	assert_int_equal(v, ~0ull);
	/* The window BAR reads 0 and drops writes. */
	vpci_bar_access(&b, false, GiB(16) + 0x1000, 8, true, &(u64){ ~0ull });
	vpci_bar_access(&b, false, GiB(16) + 0x1000, 8, false, &v);
	assert_int_equal(v, 0);
	/* The doorbell fires the vector the table says, once MSI-X is on and the entry unmasked. */
	v = 1;
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_DOORBELL, 4, true, &v);
	assert_int_equal(k.rings, 0); /* MSI-X off: dropped */
	cfg_wr(&b, KEELCTL_SLOT, KEELCTL_MSIX_CAP + 3, 1, PCI_MSIX_CTRL_ENABLE >> 8);
	vpci_bar_access(&b, false, r0 + KEELCTL_TABLE + 16, 4, true, &(u64){ 0xfee00000 });
	vpci_bar_access(&b, false, r0 + KEELCTL_TABLE + 24, 4, true, &(u64){ 0x61 });
	vpci_bar_access(&b, false, r0 + KEELCTL_TABLE + 28, 4, true, &(u64){ 0 });
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_DOORBELL, 4, true, &v);
	assert_int_equal(k.rings, 1);
	assert_int_equal(k.pci.out.n, 1);
	assert_int_equal(k.pci.out.msg[0].data, 0x61);
	v = KEELCTL_VECTORS; /* out of range */
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_DOORBELL, 4, true, &v);
	assert_int_equal(k.rings, 1);
	vpci_bar_access(&b, false, r0 + KEELCTL_REG_RINGS, 4, false, &v);
	assert_int_equal(v, 1);
	assert_int_equal(k.pci.out.n, 1);
}

static void test_msi_decode(void **state)
{
	struct vioapic_msg m;

	/* Physical, fixed, edge: destination bits 19:12, vector 7:0. */
	assert_int_equal(msi_decode(0xfee03000, 0x0041, &m), 0);
	assert_int_equal(m.dest, 3);
	assert_int_equal(m.vector, 0x41);
	assert_int_equal(m.mode, VIOAPIC_MODE_FIXED);
	assert_false(m.logical);
	assert_false(m.level);
	/* RH = 1, DM = 1: logical; lowest priority. */
	assert_int_equal(msi_decode(0xfeeff00c, 0x01ee, &m), 0);
	assert_int_equal(m.dest, 0xff);
	assert_true(m.logical);
	assert_int_equal(m.mode, VIOAPIC_MODE_LOWEST);
	assert_int_equal(m.vector, 0xee);
	/* DM without RH is still logical: Linux's flat logical mode sends exactly this (logical
	 * destination 1 is CPU 0), and the management VM's keel.ko found the MSI on the wrong CPU
	 * when it was taken as physical. */
	assert_int_equal(msi_decode(0xfee01004, 0x0030, &m), 0);
	assert_true(m.logical);
	assert_int_equal(m.dest, 1);
	/* RH alone: physical. */
	assert_int_equal(msi_decode(0xfee02008, 0x0030, &m), 0);
	assert_false(m.logical);
	assert_int_equal(m.dest, 2);
	/* Level-triggered assert is delivered (edge); a deassert is not. */
	assert_int_equal(msi_decode(0xfee00000, 0xc030, &m), 0);
	assert_false(m.level);
	assert_int_equal(msi_decode(0xfee00000, 0x8030, &m), -EINVAL);
	/* NMI and INIT modes pass through for the router to judge; reserved modes do not. */
	assert_int_equal(msi_decode(0xfee00000, 0x0400, &m), 0);
	assert_int_equal(m.mode, VIOAPIC_MODE_NMI);
	assert_int_equal(msi_decode(0xfee00000, 0x0500, &m), 0);
	assert_int_equal(m.mode, VIOAPIC_MODE_INIT);
	assert_int_equal(msi_decode(0xfee00000, 0x0300, &m), -EINVAL);
	assert_int_equal(msi_decode(0xfee00000, 0x0600, &m), -EINVAL);
	/* Not the interrupt range. */
	assert_int_equal(msi_decode(0xfed00000, 0x30, &m), -EINVAL);
	assert_int_equal(msi_decode(0xfef00000, 0x30, &m), -EINVAL);
	assert_int_equal(msi_decode(0x1fee00000ull, 0x30, &m), -EINVAL);
	assert_int_equal(msi_decode(0, 0x30, &m), -EINVAL);
	/* Bits outside the fields change nothing. */
	assert_int_equal(msi_decode(0xfee05ff0 | 3, 0xffff3842, &m), 0);
	assert_int_equal(m.dest, 5);
	assert_int_equal(m.vector, 0x42);
	assert_false(m.logical);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_sizing), cmocka_unit_test(test_add_bar_rejects),
		cmocka_unit_test(test_routing),		  cmocka_unit_test(test_assign),
		cmocka_unit_test(test_msix_capability),	  cmocka_unit_test(test_msix_delivery),
		cmocka_unit_test(test_msix_rejects),	  cmocka_unit_test(test_config_fuzz),
		cmocka_unit_test(test_keelctl),		  cmocka_unit_test(test_msi_decode),
		cmocka_unit_test(test_msi_capability),	  cmocka_unit_test(test_msi_delivery),
	};

	return cmocka_run_group_tests_name("emulated PCI functions: BARs, MSI-X, MSI", tests, NULL, NULL);
}
