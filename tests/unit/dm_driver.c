// SPDX-License-Identifier: MIT
/* The fake virtio driver of keel-dm's tests (dm_driver.h). */
#include <stdlib.h>
#include <string.h>

#include "dm_driver.h"

static void rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct drv *d = opaque;
	uint32_t vector = data - DRV_MSI_DATA(0);

	d->msis++;
	if (vector < VIRTIO_PCI_MSIX_VECTORS)
		d->msi_per_vector[vector]++;
	d->last_msi_addr = addr;
	d->last_msi_data = data;
}

static void rec_intx(void *opaque, int level)
{
	struct drv *d = opaque;

	if (level && !d->intx)
		d->intx_raised++;
	d->intx = level;
}

void drv_init_ram(struct drv *d, uint8_t *ram, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->ram = ram;
	guest_mem_init(&d->mem, d->ram, size);
	d->irq = (struct virtio_irq){ rec_msi, rec_intx, d };
	d->next_ring = DRV_RING_BASE;
	d->next_buf = DRV_BUF_BASE;
}

void drv_init(struct drv *d)
{
	uint8_t *ram = aligned_alloc(4096, DRV_RAM_SIZE);

	memset(ram, 0, DRV_RAM_SIZE);
	drv_init_ram(d, ram, DRV_RAM_SIZE);
	d->owned = true;
}

void drv_attach(struct drv *d, struct virtio_pci *vp)
{
	d->vp = vp;
}

void drv_free(struct drv *d)
{
	if (d->owned)
		free(d->ram);
}

void *drv_ptr(struct drv *d, uint64_t gpa)
{
	return d->ram + gpa;
}

uint64_t drv_alloc(struct drv *d, uint32_t len)
{
	uint64_t gpa = d->next_buf;

	d->next_buf = (d->next_buf + len + 15) & ~15ull;
	memset(d->ram + gpa, 0, len);
	return gpa;
}

uint64_t drv_common_read(struct drv *d, uint32_t off, uint32_t size)
{
	return virtio_pci_bar_read(d->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_OFF + off, size);
}

void drv_common_write(struct drv *d, uint32_t off, uint32_t size, uint64_t val)
{
	virtio_pci_bar_write(d->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_COMMON_OFF + off, size, val);
}

uint64_t drv_features(struct drv *d)
{
	uint64_t f;

	drv_common_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	f = drv_common_read(d, VIRTIO_PCI_COMMON_DF, 4);
	drv_common_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return f | drv_common_read(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* virtio 1.2 §3.1.1, as Linux's virtio_dev_probe does it. */
uint8_t drv_negotiate(struct drv *d, uint64_t features)
{
	uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, st);
	drv_common_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
	drv_common_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	drv_common_write(d, VIRTIO_PCI_COMMON_GF, 4, features >> 32);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_FEATURES_OK);
	return (uint8_t)drv_common_read(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

void drv_enable_msix(struct drv *d)
{
	for (unsigned int v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		uint64_t e = VIRTIO_PCI_MSIX_OFF + 16 * v;

		virtio_pci_bar_write(d->vp, VIRTIO_PCI_MEM_BAR, e, 4, DRV_MSI_ADDR);
		virtio_pci_bar_write(d->vp, VIRTIO_PCI_MEM_BAR, e + 4, 4, 0);
		virtio_pci_bar_write(d->vp, VIRTIO_PCI_MEM_BAR, e + 8, 4, DRV_MSI_DATA(v));
		virtio_pci_bar_write(d->vp, VIRTIO_PCI_MEM_BAR, e + 12, 4, 0);
	}
	virtio_pci_cfg_write(d->vp, VIRTIO_PCI_CAP_MSIX + 2, 2, 0x8000 | (VIRTIO_PCI_MSIX_VECTORS - 1));
}

void drv_ring_layout(struct drv *d, struct drv_ring *r, uint16_t size)
{
	memset(r, 0, sizeof(*r));
	r->size = size;
	r->desc = d->next_ring;
	r->avail = r->desc + 16ull * size;
	r->used = (r->avail + VIRTQ_AVAIL_SIZE(size) + 3) & ~3ull;
	d->next_ring = (r->used + VIRTQ_USED_SIZE(size) + 4095) & ~4095ull;
	memset(d->ram + r->desc, 0, d->next_ring - r->desc);
}

void drv_setup_queue(struct drv *d, uint16_t n, uint16_t size, uint16_t vector)
{
	struct drv_ring *r = &d->ring[n];

	drv_ring_layout(d, r, size);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, n);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)r->desc);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, r->desc >> 32);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)r->avail);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, r->avail >> 32);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)r->used);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, r->used >> 32);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

void drv_driver_ok(struct drv *d)
{
	uint8_t st = (uint8_t)drv_common_read(d, VIRTIO_PCI_COMMON_STATUS, 1);

	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_DRIVER_OK);
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
	memcpy(d->ram + gpa, &v, 2);
}

static uint16_t get16(struct drv *d, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, d->ram + gpa, 2);
	return v;
}

void drv_set_desc(struct drv *d, struct drv_ring *r, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	struct virtq_desc desc = { addr, len, flags, next };

	memcpy(d->ram + r->desc + 16ull * idx, &desc, sizeof(desc));
}

void drv_make_avail(struct drv *d, struct drv_ring *r, uint16_t head)
{
	put16(d, r->avail + VIRTQ_AVAIL_RING(r->avail_idx % r->size), head);
	r->avail_idx++;
	put16(d, r->avail + VIRTQ_AVAIL_IDX, r->avail_idx);
}

uint16_t drv_add_chain(struct drv *d, struct drv_ring *r, const struct drv_buf *bufs, unsigned int nr)
{
	uint16_t head = r->next_desc % r->size;

	for (unsigned int i = 0; i < nr; i++) {
		uint16_t idx = (uint16_t)((r->next_desc + i) % r->size);
		uint16_t flags = (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < nr ? VIRTQ_DESC_F_NEXT : 0);

		drv_set_desc(d, r, idx, bufs[i].gpa, bufs[i].len, flags, (uint16_t)((idx + 1) % r->size));
	}
	r->next_desc = (uint16_t)(r->next_desc + nr);
	drv_make_avail(d, r, head);
	return head;
}

void drv_set_used_event(struct drv *d, struct drv_ring *r, uint16_t ev)
{
	put16(d, r->avail + VIRTQ_AVAIL_RING(r->size), ev);
}

uint16_t drv_avail_event(struct drv *d, struct drv_ring *r)
{
	return get16(d, r->used + VIRTQ_USED_RING(r->size));
}

int drv_get_used(struct drv *d, struct drv_ring *r, uint32_t *id, uint32_t *len)
{
	uint64_t e = r->used + VIRTQ_USED_RING(r->last_used % r->size);

	if (get16(d, r->used + VIRTQ_USED_IDX) == r->last_used)
		return 0;
	memcpy(id, d->ram + e, 4);
	memcpy(len, d->ram + e + 4, 4);
	r->last_used++;
	return 1;
}

void drv_kick(struct drv *d, uint16_t n)
{
	virtio_pci_bar_write(d->vp, VIRTIO_PCI_NOTIFY_BAR, (uint64_t)n * VIRTIO_PCI_NOTIFY_MULT, 2, n);
}
