/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio driver for keel-dm's tests and fuzzer: it does what Linux's virtio_pci_modern
 * and virtio_ring do, through the transport's registers, in a fake guest RAM buffer (low RAM
 * only, gpa = offset), and records the interrupts the device raises.
 */
#ifndef DM_DRIVER_H
#define DM_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "guests/mgmt/dm/virtio_pci.h"
#include "guests/mgmt/dm/virtio_spec.h"

#define DRV_RAM_SIZE	(1u << 20)
#define DRV_MSI_ADDR	0xfee00000u
#define DRV_MSI_DATA(v) (0x40u + (v))
#define DRV_RING_BASE	0x1000u /* rings from here, buffers from DRV_BUF_BASE */
#define DRV_BUF_BASE	0x40000u

/* A split ring as the driver keeps it. */
struct drv_ring {
	uint16_t size;
	uint64_t desc, avail, used; /* gpa */
	uint16_t avail_idx, last_used, next_desc;
};

struct drv {
	uint8_t *ram;
	bool owned; /* drv_init allocated it */
	struct guest_mem mem;
	struct virtio_irq irq;
	struct virtio_pci *vp;
	uint64_t next_ring, next_buf;
	struct drv_ring ring[VIRTIO_PCI_MAX_QUEUES];
	/* Interrupts seen. */
	unsigned int msis, msi_per_vector[VIRTIO_PCI_MSIX_VECTORS];
	uint64_t last_msi_addr;
	uint32_t last_msi_data;
	int intx;
	unsigned int intx_raised;
};

struct drv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* RAM and the interrupt recorder; the device is then initialised by the test with &d->mem and
 * &d->irq, and attached with drv_attach. */
void drv_init(struct drv *d);
/* The same over the caller's RAM (gpa 0 at ram, page aligned); rings go from DRV_RING_BASE. */
void drv_init_ram(struct drv *d, uint8_t *ram, uint64_t size);
void drv_attach(struct drv *d, struct virtio_pci *vp);
void drv_free(struct drv *d);
void *drv_ptr(struct drv *d, uint64_t gpa);
uint64_t drv_alloc(struct drv *d, uint32_t len); /* a zeroed buffer, 16-byte aligned */

uint64_t drv_common_read(struct drv *d, uint32_t off, uint32_t size);
void drv_common_write(struct drv *d, uint32_t off, uint32_t size, uint64_t val);
uint64_t drv_features(struct drv *d); /* the device's 64 feature bits */
/* Reset, ACKNOWLEDGE, DRIVER, the features, FEATURES_OK: returns the status read back. */
uint8_t drv_negotiate(struct drv *d, uint64_t features);
/* MSI-X on, every vector unmasked with DRV_MSI_ADDR / DRV_MSI_DATA(v). */
void drv_enable_msix(struct drv *d);
/* Lays out queue n's rings (size entries) in RAM, tells the device, sets its vector, enables it. */
void drv_setup_queue(struct drv *d, uint16_t n, uint16_t size, uint16_t vector);
void drv_driver_ok(struct drv *d);

/* Ring operations on a ring in d's RAM (also for tests that drive struct virtq directly). */
void drv_ring_layout(struct drv *d, struct drv_ring *r, uint16_t size);
/* Writes descriptor idx. */
void drv_set_desc(struct drv *d, struct drv_ring *r, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);
/* Writes bufs as a chain at the next free descriptors and makes it available: its head. */
uint16_t drv_add_chain(struct drv *d, struct drv_ring *r, const struct drv_buf *bufs, unsigned int nr);
/* Makes descriptor `head` available (avail ring entry, then idx). */
void drv_make_avail(struct drv *d, struct drv_ring *r, uint16_t head);
void drv_set_used_event(struct drv *d, struct drv_ring *r, uint16_t ev);
uint16_t drv_avail_event(struct drv *d, struct drv_ring *r);
/* The next used element: 1 with id and len, or 0. */
int drv_get_used(struct drv *d, struct drv_ring *r, uint32_t *id, uint32_t *len);
/* Rings queue n's doorbell (its port in BAR0). */
void drv_kick(struct drv *d, uint16_t n);

#endif
