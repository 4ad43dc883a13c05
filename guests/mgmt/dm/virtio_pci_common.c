// SPDX-License-Identifier: MIT
/*
 * keel-dm: the virtio PCI common configuration (virtio 1.2 §4.1.4.3) with the semantics Linux's
 * virtio_pci_modern relies on: feature windows, FEATURES_OK refused for features not offered,
 * reset on status 0 (complete when the write returns: status reads 0), queue_size lowered to a
 * power of 2 only, vectors that cannot be set read back VIRTIO_MSI_NO_VECTOR.
 */
#include <errno.h>
#include <string.h>

#include "virtio_pci.h"
#include "virtio_pci_internal.h"
#include "virtio_spec.h"

void vp_reset(struct virtio_pci *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp);
	vp->dfselect = vp->gfselect = 0;
	vp->guest_features = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->queue_sel = 0;
	vp->status = 0;
	vp->isr = 0;
	for (unsigned int i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
		virtq_reset(&vp->q[i].vq);
		vp->q[i].vq.size = i < vp->ops->nr_queues ? vp->ops->queue_max : 0;
		vp->q[i].vector = VIRTIO_MSI_NO_VECTOR;
		vp->q[i].enabled = false;
	}
	vp_update_intx(vp);
}

bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned int bit)
{
	return bit < 64 && (vp->guest_features & VIRTIO_BIT(bit));
}

static struct virtio_pci_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->ops->nr_queues ? &vp->q[vp->queue_sel] : NULL;
}

/* The registers as bytes, for reads of any width and alignment. */
static void common_image(struct virtio_pci *vp, uint8_t *r)
{
	struct virtio_pci_queue *q = selected(vp);

	memset(r, 0, VIRTIO_PCI_COMMON_CFG_SIZE);
	vp_put_le(r + VIRTIO_PCI_COMMON_DFSELECT, vp->dfselect, 4);
	vp_put_le(r + VIRTIO_PCI_COMMON_DF, vp->dfselect < 2 ? vp->host_features >> (32 * vp->dfselect) : 0, 4);
	vp_put_le(r + VIRTIO_PCI_COMMON_GFSELECT, vp->gfselect, 4);
	vp_put_le(r + VIRTIO_PCI_COMMON_GF, vp->gfselect < 2 ? vp->guest_features >> (32 * vp->gfselect) : 0, 4);
	vp_put_le(r + VIRTIO_PCI_COMMON_MSIX, vp->config_vector, 2);
	vp_put_le(r + VIRTIO_PCI_COMMON_NUMQ, vp->ops->nr_queues, 2);
	r[VIRTIO_PCI_COMMON_STATUS] = vp->status;
	r[VIRTIO_PCI_COMMON_CFGGENERATION] = vp->generation;
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_SELECT, vp->queue_sel, 2);
	if (!q)
		return; /* queue_size 0: no such queue */
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_SIZE, q->vq.size, 2);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_MSIX, q->vector, 2);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_ENABLE, q->enabled, 2);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_NOFF, vp->queue_sel, 2);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_DESCLO, q->vq.desc_gpa, 8);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_AVAILLO, q->vq.avail_gpa, 8);
	vp_put_le(r + VIRTIO_PCI_COMMON_Q_USEDLO, q->vq.used_gpa, 8);
}

uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, uint32_t size)
{
	uint8_t r[VIRTIO_PCI_COMMON_CFG_SIZE];

	if (off >= sizeof(r) || size > sizeof(r) - off)
		return 0;
	common_image(vp, r);
	return vp_get_le(r + off, size);
}

static uint16_t vector_or_none(uint64_t v)
{
	return v < VIRTIO_PCI_MSIX_VECTORS ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* §3.1.1, §2.2.2: FEATURES_OK only for a subset of what is offered, with VERSION_1 (a modern
 * device has no legacy interface to fall back to). */
static void write_status(struct virtio_pci *vp, uint8_t v)
{
	if (v == 0) {
		vp_reset(vp);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(vp->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vp->guest_features & ~vp->host_features) || !(vp->guest_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	/* DEVICE_NEEDS_RESET is the device's to set (§2.1) */
	v &= (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	vp->status = (uint8_t)(v | (vp->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}

static void enable_queue(struct virtio_pci *vp, struct virtio_pci_queue *q)
{
	q->enabled = true;
	q->vq.event_idx = virtio_pci_has_feature(vp, VIRTIO_F_RING_EVENT_IDX);
	q->vq.indirect = virtio_pci_has_feature(vp, VIRTIO_F_RING_INDIRECT_DESC);
	if (virtq_start(&q->vq, vp->mem))
		virtio_pci_needs_reset(vp); /* rings outside RAM or misaligned */
}

/* A 64-bit queue address, written whole or as two 32-bit halves, while the queue is off. */
static void write_addr(uint64_t *a, uint64_t off, uint32_t size, uint64_t val)
{
	if (size == 8 && off % 8 == 0)
		*a = val;
	else if (size == 4)
		*a = off % 8 ? (*a & 0xffffffffull) | val << 32 : (*a & ~0xffffffffull) | (uint32_t)val;
}

void vp_common_write(struct virtio_pci *vp, uint64_t off, uint32_t size, uint64_t val)
{
	struct virtio_pci_queue *q = selected(vp);
	bool qw = q && !q->enabled; /* queue setup is frozen once enabled */

	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_CFG_SIZE) {
		if (qw)
			write_addr(off < VIRTIO_PCI_COMMON_Q_AVAILLO  ? &q->vq.desc_gpa
				   : off < VIRTIO_PCI_COMMON_Q_USEDLO ? &q->vq.avail_gpa
								      : &q->vq.used_gpa,
				   off, size, val);
		return;
	}
	switch (off << 4 | size) {
	case VIRTIO_PCI_COMMON_DFSELECT << 4 | 4:
		vp->dfselect = (uint32_t)val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT << 4 | 4:
		vp->gfselect = (uint32_t)val;
		break;
	case VIRTIO_PCI_COMMON_GF << 4 | 4:
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned int sh = 32 * vp->gfselect;

			vp->guest_features = (vp->guest_features & ~(0xffffffffull << sh)) | (val & 0xffffffffull)
												 << sh;
		}
		break;
	case VIRTIO_PCI_COMMON_MSIX << 4 | 2:
		vp->config_vector = vector_or_none(val);
		break;
	case VIRTIO_PCI_COMMON_STATUS << 4 | 1:
		write_status(vp, (uint8_t)val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT << 4 | 2:
		vp->queue_sel = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE << 4 | 2: /* §2.7: a power of 2, at most the maximum */
		if (qw && val && val <= vp->ops->queue_max && !(val & (val - 1)))
			q->vq.size = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX << 4 | 2:
		if (q)
			q->vector = vector_or_none(val);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE << 4 | 2: /* 0 is not for the driver to write (§4.1.4.3.2) */
		if (qw && val == 1)
			enable_queue(vp, q);
		break;
	default:
		break; /* read-only registers, and wrong widths */
	}
}

void virtio_pci_notify(struct virtio_pci *vp, uint16_t n)
{
	if (n >= vp->ops->nr_queues || !vp->q[n].enabled || !vp->q[n].vq.ready || vp->q[n].vq.broken ||
	    !(vp->status & VIRTIO_STATUS_DRIVER_OK) || (vp->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	vp->ops->notify(vp, n);
}

void virtio_pci_used(struct virtio_pci *vp, uint16_t n)
{
	struct virtio_pci_queue *q = &vp->q[n];

	if (q->vq.broken)
		virtio_pci_needs_reset(vp);
	else if (virtq_should_notify(&q->vq))
		vp_interrupt(vp, q->vector, VIRTIO_PCI_ISR_QUEUE);
}

void virtio_pci_serve(struct virtio_pci *vp, uint16_t n, virtio_req_fn req, struct virtq_chain *c)
{
	struct virtq *vq = &vp->q[n].vq;
	int r;

	while ((r = virtq_pop(vq, c)) != 0 && r != -EIO)
		virtq_push(vq, c->head, r > 0 ? req(vp, c) : 0);
	virtio_pci_used(vp, n);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->generation++;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		vp_interrupt(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

void virtio_pci_needs_reset(struct virtio_pci *vp)
{
	if (vp->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK) /* §2.1.2 */
		vp_interrupt(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}
