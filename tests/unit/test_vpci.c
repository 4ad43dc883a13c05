/* SPDX-License-Identifier: MIT */
/* PCI configuration mechanism #1: CONFIG_ADDRESS decoding, the host bridge, registered devices. */
#include "shim.h"

#include <string.h>

#include "vmm/dev/vpci.h"

static u32 cfg_addr(u8 bus, u8 dev, u8 fn, u8 reg)
{
	return 0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (reg & 0xfcu);
}

static u32 cfg_read(struct vpci_bus *b, u32 addr, u8 reg, unsigned size)
{
	vpci_io_write(b, 0xcf8, 4, addr | (reg & 0xfcu));
	return vpci_io_read(b, (u16)(0xcfc + (reg & 3)), size);
}

static void cfg_write(struct vpci_bus *b, u32 addr, u8 reg, unsigned size, u32 val)
{
	vpci_io_write(b, 0xcf8, 4, addr | (reg & 0xfcu));
	vpci_io_write(b, (u16)(0xcfc + (reg & 3)), size, val);
}

/* The host bridge's first 64 bytes, as the guest must see them. */
static const u8 hb_header[64] = {
	0x86, 0x80, 0x37, 0x12, /* 8086:1237 */
	0x06, 0x00, 0x80, 0x02, /* COMMAND memory + master, STATUS fast b2b + DEVSEL medium */
	0x02, 0x00, 0x00, 0x06, /* revision 2, class 06/00/00 */
				/* header type 0 at 0x0e, everything else 0 */
};

static void test_hostbridge_header(void **state)
{
	struct vpci_bus b;
	u32 hb = cfg_addr(0, 0, 0, 0);

	vpci_init(&b);
	for (unsigned reg = 0; reg < 256; reg += 4) {
		for (unsigned size = 1; size <= 4; size *= 2) {
			for (unsigned off = 0; off < 4; off += size) {
				u32 want = 0;

				for (unsigned i = 0; i < size; i++) {
					unsigned at = reg + off + i;

					want |= (u32)(at < sizeof(hb_header) ? hb_header[at] : 0) << (8 * i);
				}
				assert_int_equal(cfg_read(&b, hb, (u8)(reg + off), size), want);
			}
		}
	}
	/* Read-only registers ignore writes, at every size. */
	for (unsigned reg = 0; reg < 256; reg++) {
		if (reg == 4)
			continue;
		cfg_write(&b, hb, (u8)reg, 1, 0xff);
		if (!(reg & 1))
			cfg_write(&b, hb, (u8)reg, 2, 0xffff);
		if (!(reg & 3))
			cfg_write(&b, hb, (u8)reg, 4, 0xffffffff);
	}
	cfg_write(&b, hb, 5, 1, 0xff); /* COMMAND's high byte is read-only */
	for (unsigned reg = 0; reg < 256; reg += 4)
		assert_int_equal(cfg_read(&b, hb, (u8)reg, 4),
				 reg < sizeof(hb_header) ? hb_header[reg] | hb_header[reg + 1] << 8 |
							       hb_header[reg + 2] << 16 | (u32)hb_header[reg + 3] << 24
							 : 0);
}

static void test_hostbridge_command(void **state)
{
	struct vpci_bus b;
	u32 hb = cfg_addr(0, 0, 0, 0);

	vpci_init(&b);
	cfg_write(&b, hb, 4, 2, 0xffff);
	assert_int_equal(cfg_read(&b, hb, 4, 4), 0x02800007);
	cfg_write(&b, hb, 4, 4, 0);
	assert_int_equal(cfg_read(&b, hb, 4, 4), 0x02800000); /* STATUS is read-only */
	cfg_write(&b, hb, 4, 1, 0xfa);
	assert_int_equal(cfg_read(&b, hb, 4, 2), 0x0002);
	cfg_write(&b, hb, 6, 2, 0xffff);
	assert_int_equal(cfg_read(&b, hb, 6, 2), 0x0280);
	/* Writes with the enable bit clear or to another bus don't reach it. */
	vpci_io_write(&b, 0xcf8, 4, 0x00000004);
	vpci_io_write(&b, 0xcfc, 1, 0x07);
	cfg_write(&b, cfg_addr(1, 0, 0, 0), 4, 1, 0x07);
	assert_int_equal(cfg_read(&b, hb, 4, 2), 0x0002);
}

static void test_config_address(void **state)
{
	struct vpci_bus b;

	vpci_init(&b);
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), 0);
	/* Reserved bits 30:24 and 1:0 read 0. */
	vpci_io_write(&b, 0xcf8, 4, 0xffffffff);
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), 0x80fffffc);
	/* Linux's probe: a byte write to 0xcfb, then the enable bit alone reads back. */
	vpci_io_write(&b, 0xcfb, 1, 0x01);
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), 0x80fffffc);
	vpci_io_write(&b, 0xcf8, 4, 0x80000000);
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), 0x80000000);
	/* Narrow accesses never touch CONFIG_ADDRESS: they read all-ones and are dropped. */
	for (u16 port = 0xcf8; port <= 0xcfb; port++) {
		vpci_io_write(&b, port, 1, 0x12);
		assert_int_equal(vpci_io_read(&b, port, 1), 0xff);
		if (!(port & 1)) {
			vpci_io_write(&b, port, 2, 0x1234);
			assert_int_equal(vpci_io_read(&b, port, 2), 0xffff);
		}
	}
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), 0x80000000);
	/* The extended-register bits some chipsets put in 27:24 are ignored: still 00:00.0 reg 0. */
	vpci_io_write(&b, 0xcf8, 4, 0x8f000000);
	assert_int_equal(vpci_io_read(&b, 0xcfc, 4), 0x12378086);
}

static void test_absent(void **state)
{
	struct vpci_bus b;

	vpci_init(&b);
	/* Enable bit clear: all-ones at every size, even for 00:00.0. */
	vpci_io_write(&b, 0xcf8, 4, 0x00000000);
	assert_int_equal(vpci_io_read(&b, 0xcfc, 4), 0xffffffff);
	assert_int_equal(vpci_io_read(&b, 0xcfe, 2), 0xffff);
	assert_int_equal(vpci_io_read(&b, 0xcff, 1), 0xff);
	/* Empty slots and functions. */
	assert_int_equal(cfg_read(&b, cfg_addr(0, 1, 0, 0), 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 0, 1, 0), 0, 2), 0xffff);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 31, 7, 0), 0xff, 1), 0xff);
	/* Other buses, even where bus 0 has the host bridge. */
	assert_int_equal(cfg_read(&b, cfg_addr(1, 0, 0, 0), 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(&b, cfg_addr(0xff, 0, 0, 0), 2, 2), 0xffff);
	assert_int_equal(cfg_read(&b, cfg_addr(0x80, 0, 0, 0), 3, 1), 0xff);
	/* Writes there are dropped without harm. */
	cfg_write(&b, cfg_addr(0, 1, 0, 0), 4, 4, 0xffffffff);
	cfg_write(&b, cfg_addr(2, 31, 7, 0), 0xfc, 4, 0xffffffff);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 0, 0, 0), 0, 4), 0x12378086);
}

struct fake_dev {
	u32 off, val, ret;
	unsigned size;
	int reads, writes;
};

static u32 fake_read(void *opaque, u32 offset, unsigned size)
{
	struct fake_dev *d = opaque;

	d->off = offset;
	d->size = size;
	d->reads++;
	return d->ret;
}

static void fake_write(void *opaque, u32 offset, unsigned size, u32 val)
{
	struct fake_dev *d = opaque;

	d->off = offset;
	d->size = size;
	d->val = val;
	d->writes++;
}

static const struct vpci_device_ops fake_ops = { fake_read, fake_write };
static const struct vpci_device_ops no_read_ops = { NULL, fake_write };
static const struct vpci_device_ops no_write_ops = { fake_read, NULL };

static void test_register(void **state)
{
	struct vpci_bus b;
	struct fake_dev d0 = { .ret = 0xdeadbeef }, d1 = { .ret = 0x11223344 };

	vpci_init(&b);
	assert_int_equal(vpci_register(&b, 0, 0, &fake_ops, &d0), -EBUSY); /* the host bridge */
	assert_int_equal(vpci_register(&b, 32, 0, &fake_ops, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 0xff, 0, &fake_ops, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 3, 8, &fake_ops, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 3, 0, NULL, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 3, 0, &no_read_ops, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 3, 0, &no_write_ops, &d0), -EINVAL);
	assert_int_equal(vpci_register(&b, 3, 1, &fake_ops, &d1), -ENOENT); /* function 0 first */
	assert_int_equal(vpci_register(&b, 3, 0, &fake_ops, &d0), 0);
	assert_int_equal(vpci_register(&b, 3, 0, &fake_ops, &d1), -EBUSY);
	assert_int_equal(vpci_register(&b, 3, 1, &fake_ops, &d1), 0);
	assert_int_equal(vpci_register(&b, 31, 0, &fake_ops, &d1), 0);
	assert_int_equal(vpci_register(&b, 31, 7, &fake_ops, &d1), 0);

	/* Reads reach the right device with offset = register + port - 0xcfc, masked to size. */
	assert_int_equal(cfg_read(&b, cfg_addr(0, 3, 0, 0), 0x42, 2), 0xbeef);
	assert_int_equal(d0.off, 0x42);
	assert_int_equal(d0.size, 2);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 3, 0, 0), 0x43, 1), 0xef);
	assert_int_equal(d0.off, 0x43);
	assert_int_equal(d0.size, 1);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 3, 0, 0), 0xfc, 4), 0xdeadbeef);
	assert_int_equal(d0.off, 0xfc);
	assert_int_equal(d0.size, 4);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 3, 1, 0), 0xff, 1), 0x44);
	assert_int_equal(d1.off, 0xff);
	assert_int_equal(cfg_read(&b, cfg_addr(0, 31, 7, 0), 0x10, 4), 0x11223344);
	assert_int_equal(d1.off, 0x10);
	/* Writes: value truncated to the access size. */
	cfg_write(&b, cfg_addr(0, 3, 0, 0), 0x41, 1, 0x1234);
	assert_int_equal(d0.off, 0x41);
	assert_int_equal(d0.size, 1);
	assert_int_equal(d0.val, 0x34);
	cfg_write(&b, cfg_addr(0, 3, 0, 0), 0x06, 2, 0xabcdef01);
	assert_int_equal(d0.off, 0x06);
	assert_int_equal(d0.size, 2);
	assert_int_equal(d0.val, 0xef01);
	cfg_write(&b, cfg_addr(0, 3, 1, 0), 0x04, 4, 0xabcdef01);
	assert_int_equal(d1.off, 0x04);
	assert_int_equal(d1.val, 0xabcdef01);
	assert_int_equal(d0.writes, 2);
	/* Unregistered functions of a registered device stay empty. */
	assert_int_equal(cfg_read(&b, cfg_addr(0, 3, 2, 0), 0, 4), 0xffffffff);
	/* The same slot on bus 1 doesn't reach it. */
	d0.reads = d0.writes = 0;
	assert_int_equal(cfg_read(&b, cfg_addr(1, 3, 0, 0), 0, 4), 0xffffffff);
	cfg_write(&b, cfg_addr(1, 3, 0, 0), 0, 4, 0);
	assert_int_equal(d0.reads + d0.writes, 0);
}

static void test_ports_and_alignment(void **state)
{
	struct vpci_bus b;
	struct fake_dev d = { .ret = 0xffffffff };

	/* Ownership: 0xcf8-0xcff except a byte at 0xcf9 (Reset Control). */
	assert_true(vpci_owns(0xcf8, 4));
	assert_true(vpci_owns(0xcf8, 1));
	assert_true(vpci_owns(0xcf8, 2));
	assert_false(vpci_owns(0xcf9, 1));
	assert_true(vpci_owns(0xcfa, 1));
	assert_true(vpci_owns(0xcfb, 1));
	assert_true(vpci_owns(0xcfc, 4));
	assert_true(vpci_owns(0xcfe, 2));
	assert_true(vpci_owns(0xcff, 1));
	assert_false(vpci_owns(0xcfd, 4));
	assert_false(vpci_owns(0xcff, 2));
	assert_false(vpci_owns(0xcf7, 1));
	assert_false(vpci_owns(0xcf6, 4));
	assert_false(vpci_owns(0xd00, 1));
	assert_false(vpci_owns(0xcfc, 3));
	assert_false(vpci_owns(0xcfc, 0));
	assert_false(vpci_owns(0xcfc, 8));
	assert_false(vpci_owns(0xffff, 4));

	vpci_init(&b);
	assert_int_equal(vpci_register(&b, 5, 0, &fake_ops, &d), 0);
	vpci_io_write(&b, 0xcf8, 4, cfg_addr(0, 5, 0, 0x40));
	/* Accesses not naturally aligned within the dword, or crossing 0xcff, never reach it. */
	assert_int_equal(vpci_io_read(&b, 0xcfd, 2), 0xffff);
	assert_int_equal(vpci_io_read(&b, 0xcff, 2), 0xffff);
	assert_int_equal(vpci_io_read(&b, 0xcfd, 4), 0xffffffff);
	assert_int_equal(vpci_io_read(&b, 0xcfe, 4), 0xffffffff);
	assert_int_equal(vpci_io_read(&b, 0xcfc, 3), 0xffffff);
	assert_int_equal(vpci_io_read(&b, 0xcfa, 4), 0xffffffff);
	vpci_io_write(&b, 0xcfd, 2, 0);
	vpci_io_write(&b, 0xcfe, 4, 0);
	vpci_io_write(&b, 0xcfc, 3, 0);
	vpci_io_write(&b, 0xcfc, 8, 0);
	vpci_io_write(&b, 0xcfa, 4, 0);
	assert_int_equal(d.reads + d.writes, 0);
	/* Other ports, and Reset Control, are not this model's. */
	assert_int_equal(vpci_io_read(&b, 0xcf9, 1), 0xff);
	vpci_io_write(&b, 0xcf9, 1, 0x06);
	assert_int_equal(vpci_io_read(&b, 0x80, 4), 0xffffffff);
	vpci_io_write(&b, 0xcf7, 4, 0);
	assert_int_equal(vpci_io_read(&b, 0xcf8, 4), cfg_addr(0, 5, 0, 0x40));
	/* While the aligned ones do. */
	assert_int_equal(vpci_io_read(&b, 0xcfe, 2), 0xffff);
	assert_int_equal(d.off, 0x42);
	assert_int_equal(d.reads, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostbridge_header), cmocka_unit_test(test_hostbridge_command),
		cmocka_unit_test(test_config_address),	  cmocka_unit_test(test_absent),
		cmocka_unit_test(test_register),	  cmocka_unit_test(test_ports_and_alignment),
	};

	return cmocka_run_group_tests_name("virtual PCI configuration space", tests, NULL, NULL);
}
