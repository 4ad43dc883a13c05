// SPDX-License-Identifier: MIT
/*
 * keel-dm: the virtio modern PCI transport's configuration space, BARs and interrupts
 * (virtio_pci.h). The PCI function itself (header, BAR sizing and decode, MSI-X table, PBA and
 * masking) is Keel's model, vmm/dev/vpci_dev.c, compiled into keel-dm as into the hypervisor;
 * this file adds virtio's capabilities and registers; the common configuration is
 * virtio_pci_common.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "virtio_pci.h"
#include "virtio_pci_internal.h"
#include "virtio_spec.h"

#define PCI_STATUS_INTX 0x0008 /* PCI 3.0 §6.2.3: Interrupt Status */
#define PCI_CAP_ID_VNDR 0x09
#define PCI_INTA	1

uint64_t vp_get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

void vp_put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static bool valid_size(uint32_t size, uint32_t max)
{
	return size && size <= max && !(size & (size - 1));
}

static uint64_t size_mask(uint32_t size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* A virtio vendor capability (§4.1.4) at pos, put at the head of the capability list, naming
 * [off, off + size) of a BAR. */
static void vendor_cap(struct virtio_pci *vp, unsigned int pos, unsigned int len, unsigned int type, unsigned int bar,
		       uint32_t off, uint32_t size)
{
	uint8_t *cfg = vp->pci.cfg, *c = cfg + pos;

	c[0] = PCI_CAP_ID_VNDR;
	c[1] = cfg[PCI_CAP_PTR];
	c[2] = (uint8_t)len;
	c[VIRTIO_PCI_CAP_CFG_TYPE] = (uint8_t)type;
	c[VIRTIO_PCI_CAP_BAR] = (uint8_t)bar;
	vp_put_le(c + VIRTIO_PCI_CAP_OFFSET, off, 4);
	vp_put_le(c + VIRTIO_PCI_CAP_LENGTH, size, 4);
	cfg[PCI_CAP_PTR] = (uint8_t)pos;
	vp_put_le(cfg + PCI_STATUS, vp_get_le(cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
}

static uint64_t bar_read(struct vpci_dev *d, unsigned int n, uint64_t off, unsigned int size);
static void bar_write(struct vpci_dev *d, unsigned int n, uint64_t off, unsigned int size, uint64_t val);
static const struct vpci_dev_ops bar_ops = { bar_read, bar_write };

/* Capabilities, in list order: MSI-X, common, notify, ISR, device (if any), PCI access. */
static void init_function(struct virtio_pci *vp)
{
	const struct virtio_dev_ops *o = vp->ops;
	struct vpci_dev *d = &vp->pci;
	int err;

	/* §4.1.2.1: the subsystem ids may name the environment; as QEMU, the device type. */
	vpci_dev_init(d, VIRTIO_PCI_VENDOR_ID, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + o->type), o->class_code,
		      VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR_ID, o->type);
	d->ops = &bar_ops;
	d->cfg[PCI_INT_PIN] = PCI_INTA;
	err = vpci_dev_add_bar(d, VIRTIO_PCI_NOTIFY_BAR, VPCI_BAR_IO, false, VIRTIO_PCI_NOTIFY_BAR_SIZE);
	err |= vpci_dev_add_bar(d, VIRTIO_PCI_MEM_BAR, VPCI_BAR_MEM64, false, VIRTIO_PCI_MEM_BAR_SIZE);
	/* §4.1.4.9: the PCI configuration access capability, a window onto the BARs. */
	vendor_cap(vp, VIRTIO_PCI_CAP_CFG, VIRTIO_PCI_CFG_CAP_LEN, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
	d->wmask[VIRTIO_PCI_CAP_CFG + VIRTIO_PCI_CAP_BAR] = 0xff;
	memset(d->wmask + VIRTIO_PCI_CAP_CFG + VIRTIO_PCI_CAP_OFFSET, 0xff, 12); /* offset, length, data */
	/* Linux refuses a device configuration capability of length 0: none then. */
	if (o->config_size)
		vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_MEM_BAR,
			   VIRTIO_PCI_DEVICE_OFF, o->config_size);
	vendor_cap(vp, VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_MEM_BAR,
		   VIRTIO_PCI_ISR_OFF, 1);
	vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_CAP_LEN, VIRTIO_PCI_CAP_NOTIFY_CFG,
		   VIRTIO_PCI_NOTIFY_BAR, 0, VIRTIO_PCI_NOTIFY_MULT * o->nr_queues);
	vp_put_le(d->cfg + VIRTIO_PCI_CAP_NOTIFY + VIRTIO_PCI_NOTIFY_MULTIPLIER, VIRTIO_PCI_NOTIFY_MULT, 4);
	vendor_cap(vp, VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_MEM_BAR,
		   VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_CFG_SIZE);
	err |= vpci_dev_add_msix(d, VIRTIO_PCI_CAP_MSIX, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MSIX_VECTORS,
				 VIRTIO_PCI_MSIX_OFF, VIRTIO_PCI_PBA_OFF);
	_Static_assert(VIRTIO_PCI_MSIX_VECTORS <= VPCI_MSIX_MAX, "vpci_dev's table is large enough");
	if (err)
		abort(); /* constant arguments: a bug in this file, caught by every test */
}

void virtio_pci_init(struct virtio_pci *vp, const struct virtio_dev_ops *ops, uint64_t host_features,
		     const struct guest_mem *mem, const struct virtio_irq *irq)
{
	memset(vp, 0, sizeof(*vp));
	vp->ops = ops;
	vp->mem = mem;
	vp->irq = *irq;
	vp->host_features = host_features | VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
			    VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	init_function(vp);
	vp_reset(vp);
}

/* Interrupts. */

static bool msix_enabled(const struct virtio_pci *vp)
{
	return vp_get_le(vp->pci.cfg + VIRTIO_PCI_CAP_MSIX + PCI_MSIX_CTRL, 2) & PCI_MSIX_CTRL_ENABLE;
}

/* The messages vpci_dev decided to send (a vector fired or was unmasked while pending). */
static void send_msis(struct virtio_pci *vp)
{
	for (uint32_t i = 0; i < vp->pci.out.n; i++)
		vp->irq.raise_msi(vp->irq.opaque, vp->pci.out.msg[i].addr, vp->pci.out.msg[i].data);
	vp->pci.out.n = 0;
}

/* INTA# follows the ISR while MSI-X is off and COMMAND allows it; the status register shows it. */
void vp_update_intx(struct virtio_pci *vp)
{
	uint8_t *st = vp->pci.cfg + PCI_STATUS;
	int level = vp->isr && !msix_enabled(vp) && !(vp_get_le(vp->pci.cfg + PCI_COMMAND, 2) & PCI_CMD_INTX_DISABLE);

	st[0] = (uint8_t)((st[0] & ~PCI_STATUS_INTX) | (vp->isr ? PCI_STATUS_INTX : 0));
	if (level != vp->intx) {
		vp->intx = level;
		vp->irq.set_intx(vp->irq.opaque, level);
	}
}

/* §4.1.5.3, §4.1.5.4: with MSI-X the vector the driver chose (VIRTIO_MSI_NO_VECTOR: none), else
 * the ISR bit and INTx. */
void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(vp)) {
		vpci_dev_msix_notify(&vp->pci, vector); /* masked: pending in the PBA */
		send_msis(vp);
		return;
	}
	vp->isr |= isr_bit;
	vp_update_intx(vp);
}

/* Configuration space. */

uint64_t virtio_pci_bar_base(const struct virtio_pci *vp, unsigned int bar)
{
	uint64_t base;

	return vpci_dev_bar_live(&vp->pci, bar, &base) ? base : 0;
}

/* §4.1.4.9: pci_cfg_data reads and writes cap.length bytes at cap.offset of BAR cap.bar. */
static bool cfg_cap_target(const struct virtio_pci *vp, uint32_t reg, uint32_t size, unsigned int *bar, uint32_t *off,
			   uint32_t *len)
{
	const uint8_t *c = vp->pci.cfg + VIRTIO_PCI_CAP_CFG;
	uint32_t data = VIRTIO_PCI_CAP_CFG + VIRTIO_PCI_CFG_DATA;

	*bar = c[VIRTIO_PCI_CAP_BAR];
	*off = (uint32_t)vp_get_le(c + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = (uint32_t)vp_get_le(c + VIRTIO_PCI_CAP_LENGTH, 4);
	return reg < data + 4 && data < reg + size && valid_size(*len, 4) && *off % *len == 0;
}

static bool cfg_access_ok(uint32_t reg, uint32_t size)
{
	return reg < VPCI_CFG_SIZE && valid_size(size, 4) && reg % size == 0;
}

uint32_t virtio_pci_cfg_read(struct virtio_pci *vp, uint32_t reg, uint32_t size)
{
	unsigned int bar;
	uint32_t off, len;

	if (!cfg_access_ok(reg, size))
		return ~0u;
	if (cfg_cap_target(vp, reg, size, &bar, &off, &len))
		vp_put_le(vp->pci.cfg + VIRTIO_PCI_CAP_CFG + VIRTIO_PCI_CFG_DATA,
			  virtio_pci_bar_read(vp, bar, off, len), len);
	return (uint32_t)(vpci_dev_cfg_read(&vp->pci, reg, size) & size_mask(size));
}

void virtio_pci_cfg_write(struct virtio_pci *vp, uint32_t reg, uint32_t size, uint32_t val)
{
	unsigned int bar;
	uint32_t off, len;

	if (!cfg_access_ok(reg, size))
		return;
	vpci_dev_cfg_write(&vp->pci, reg, size, val);
	if (cfg_cap_target(vp, reg, size, &bar, &off, &len))
		virtio_pci_bar_write(vp, bar, off, len,
				     vp_get_le(vp->pci.cfg + VIRTIO_PCI_CAP_CFG + VIRTIO_PCI_CFG_DATA, len));
	vp_update_intx(vp); /* COMMAND's INTx disable, or MSI-X switched on or off */
	send_msis(vp);
}

/* The BARs: vpci_dev takes the MSI-X table and PBA, the rest comes here. */

static uint64_t device_cfg(struct virtio_pci *vp, uint64_t off, uint32_t size, const uint64_t *wval)
{
	uint8_t buf[8] = { 0 };

	if (off >= vp->ops->config_size || size > vp->ops->config_size - off)
		return 0;
	if (!wval) {
		vp->ops->config_read(vp, (uint32_t)off, buf, size);
		return vp_get_le(buf, size);
	}
	vp_put_le(buf, *wval, size);
	if (vp->ops->config_write)
		vp->ops->config_write(vp, (uint32_t)off, buf, size);
	return 0;
}

static uint64_t bar_read(struct vpci_dev *d, unsigned int n, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);
	uint64_t v;

	if (n != VIRTIO_PCI_MEM_BAR)
		return 0; /* the notify BAR reads 0 */
	if (off < VIRTIO_PCI_ISR_OFF)
		return vp_common_read(vp, off - VIRTIO_PCI_COMMON_OFF, size);
	if (off < VIRTIO_PCI_DEVICE_OFF) {
		if (off != VIRTIO_PCI_ISR_OFF)
			return 0;
		v = vp->isr; /* §4.1.4.5: reading the ISR clears it (and deasserts INTx) */
		vp->isr = 0;
		vp_update_intx(vp);
		return v;
	}
	return device_cfg(vp, off - VIRTIO_PCI_DEVICE_OFF, size, NULL);
}

static void bar_write(struct vpci_dev *d, unsigned int n, uint64_t off, unsigned int size, uint64_t val)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);

	if (n == VIRTIO_PCI_NOTIFY_BAR) {
		/* Each queue has its own port: the port names the queue (the value written, the
		 * queue index for Linux, is not needed). */
		if (off % VIRTIO_PCI_NOTIFY_MULT == 0)
			virtio_pci_notify(vp, (uint16_t)(off / VIRTIO_PCI_NOTIFY_MULT));
	} else if (off < VIRTIO_PCI_ISR_OFF) {
		vp_common_write(vp, off - VIRTIO_PCI_COMMON_OFF, size, val);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF) {
		device_cfg(vp, off - VIRTIO_PCI_DEVICE_OFF, size, &val);
	}
}

/* The access must lie inside a BAR keel-dm has: BAR0 (notify) or BAR2 (memory). */
static bool bar_access_ok(unsigned int bar, uint64_t off, uint32_t size)
{
	uint64_t len = bar == VIRTIO_PCI_NOTIFY_BAR ? VIRTIO_PCI_NOTIFY_BAR_SIZE
		       : bar == VIRTIO_PCI_MEM_BAR  ? VIRTIO_PCI_MEM_BAR_SIZE
						    : 0;

	return valid_size(size, 8) && off < len && size <= len - off;
}

uint64_t virtio_pci_bar_read(struct virtio_pci *vp, unsigned int bar, uint64_t off, uint32_t size)
{
	uint64_t v;

	if (!bar_access_ok(bar, off, size))
		return size_mask(valid_size(size, 8) ? size : 8);
	v = vpci_dev_bar_read(&vp->pci, bar, off, size) & size_mask(size);
	send_msis(vp);
	return v;
}

void virtio_pci_bar_write(struct virtio_pci *vp, unsigned int bar, uint64_t off, uint32_t size, uint64_t val)
{
	if (!bar_access_ok(bar, off, size))
		return;
	vpci_dev_bar_write(&vp->pci, bar, off, size, val);
	send_msis(vp); /* an MSI-X entry unmasked with its vector pending */
}
