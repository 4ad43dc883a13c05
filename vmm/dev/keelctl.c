/* SPDX-License-Identifier: MIT */
/* The Keel control function (see keelctl.h). Offsets and values come from the guest. */
#include "vmm/dev/keelctl.h"

#include "kernel/panic.h"

static u64 regs_read(struct vpci_dev *d, unsigned bar, u64 off, unsigned size)
{
	const struct keelctl *k = (const struct keelctl *)d;
	u32 v = 0;

	if (bar != KEELCTL_REGS_BAR || size != 4 || off % 4)
		return bar == KEELCTL_WINDOW_BAR ? 0 : ~0ull;
	switch (off) {
	case KEELCTL_REG_MAGIC:
		v = KEELCTL_MAGIC;
		break;
	case KEELCTL_REG_VERSION:
		v = KEELCTL_VERSION;
		break;
	case KEELCTL_REG_VECTORS:
		v = KEELCTL_VECTORS;
		break;
	case KEELCTL_REG_RINGS:
		v = k->rings;
		break;
	}
	return v;
}

static void regs_write(struct vpci_dev *d, unsigned bar, u64 off, unsigned size, u64 val)
{
	struct keelctl *k = (struct keelctl *)d;

	if (bar == KEELCTL_REGS_BAR && size == 4 && off == KEELCTL_REG_DOORBELL && vpci_dev_msix_notify(d, (u32)val))
		k->rings++;
}

static const struct vpci_dev_ops keelctl_ops = {
	.bar_read = regs_read,
	.bar_write = regs_write,
};

void keelctl_init(struct keelctl *k)
{
	struct vpci_dev *d = &k->pci;
	int ret;

	k->rings = 0;
	vpci_dev_init(d, KEELCTL_VENDOR, KEELCTL_DEVICE, KEELCTL_CLASS, KEELCTL_REVISION, KEELCTL_VENDOR,
		      KEELCTL_DEVICE);
	ret = vpci_dev_add_bar(d, KEELCTL_REGS_BAR, VPCI_BAR_MEM32, false, KEELCTL_REGS_SIZE);
	ret = ret ?: vpci_dev_add_bar(d, KEELCTL_WINDOW_BAR, VPCI_BAR_MEM64, true, KEELCTL_WINDOW);
	ret = ret
		  ?: vpci_dev_add_msix(d, KEELCTL_MSIX_CAP, KEELCTL_REGS_BAR, KEELCTL_VECTORS, KEELCTL_TABLE,
				       KEELCTL_PBA);
	ASSERT(!ret); /* constants checked by tests/unit/test_vpci.c */
	(void)ret;
	d->ops = &keelctl_ops;
}
