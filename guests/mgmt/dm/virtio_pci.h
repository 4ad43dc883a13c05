/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x modern PCI transport (virtio 1.2 §4.1) as a register model: one PCI function's
 * configuration space and BARs, which keel-dm's main loop feeds with the guest's accesses
 * (KEEL_IOREQ_PCI_CFG requests, port and MMIO requests, doorbells). A device (virtio_blk.c,
 * ...) embeds struct virtio_pci and serves its queues through the ops; it never sees how a
 * doorbell or an interrupt travels. Layout (docs/virtio.md):
 *   BAR0  I/O, VIRTIO_PCI_NOTIFY_BAR_SIZE ports: queue n's doorbell is port BAR0 + 2n
 *         (notify_off_multiplier 2, queue_notify_off n), each a KEEL_CLAIM_DOORBELL of its own;
 *   BAR2  64-bit memory (BAR2 low, BAR3 high), VIRTIO_PCI_MEM_BAR_SIZE bytes: common
 *         configuration at 0, ISR at 0x1000, device configuration at 0x2000, MSI-X table at
 *         0x3000 and PBA at 0x3800.
 */
#ifndef KEEL_DM_VIRTIO_PCI_H
#define KEEL_DM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtq.h"
#include "vmm/dev/vpci_dev.h"

#define VIRTIO_PCI_MAX_QUEUES	   8
#define VIRTIO_PCI_MSIX_VECTORS	   (VIRTIO_PCI_MAX_QUEUES + 1) /* one per queue + configuration */
#define VIRTIO_PCI_NOTIFY_BAR	   0
#define VIRTIO_PCI_NOTIFY_BAR_SIZE (2 * VIRTIO_PCI_MAX_QUEUES)
#define VIRTIO_PCI_NOTIFY_MULT	   2
#define VIRTIO_PCI_MEM_BAR	   2
#define VIRTIO_PCI_MEM_BAR_SIZE	   0x4000u
#define VIRTIO_PCI_COMMON_OFF	   0x0000u
#define VIRTIO_PCI_ISR_OFF	   0x1000u
#define VIRTIO_PCI_DEVICE_OFF	   0x2000u
#define VIRTIO_PCI_DEVICE_MAX	   0x1000u
#define VIRTIO_PCI_MSIX_OFF	   0x3000u
#define VIRTIO_PCI_PBA_OFF	   0x3800u

/* Capability offsets in configuration space. */
#define VIRTIO_PCI_CAP_MSIX   0x40
#define VIRTIO_PCI_CAP_COMMON 0x50
#define VIRTIO_PCI_CAP_NOTIFY 0x60
#define VIRTIO_PCI_CAP_ISR    0x74
#define VIRTIO_PCI_CAP_DEVICE 0x84
#define VIRTIO_PCI_CAP_CFG    0x94

struct virtio_pci;

/* What a device tells the transport. */
struct virtio_dev_ops {
	uint16_t type;	      /* VIRTIO_ID_* */
	uint32_t class_code;  /* PCI class << 16 | subclass << 8 | programming interface */
	uint16_t nr_queues;   /* <= VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_max;   /* <= VIRTQ_MAX, a power of 2 */
	uint32_t config_size; /* device configuration bytes, <= VIRTIO_PCI_DEVICE_MAX */
	/* Device configuration: off + len <= config_size. config_write may be NULL (read-only). */
	void (*config_read)(struct virtio_pci *vp, uint32_t off, uint8_t *buf, uint32_t len);
	void (*config_write)(struct virtio_pci *vp, uint32_t off, const uint8_t *buf, uint32_t len);
	/* The driver rang queue n's doorbell (only for an enabled, working queue after DRIVER_OK). */
	void (*notify)(struct virtio_pci *vp, uint16_t n);
	/* The driver reset the device (may be NULL): drop in-flight work. */
	void (*reset)(struct virtio_pci *vp);
};

/* How interrupts leave the transport; the main loop maps them to libkeel (keel_io_irq). */
struct virtio_irq {
	/* An MSI-X vector fires: the message its table entry holds (KEEL_IRQ_MSI). */
	void (*raise_msi)(void *opaque, uint64_t addr, uint32_t data);
	/* INTA# (when MSI-X is off): level 1 asserted, 0 deasserted. */
	void (*set_intx)(void *opaque, int level);
	void *opaque;
};

struct virtio_pci_queue {
	struct virtq vq;
	uint16_t vector;
	bool enabled;
};

struct virtio_pci {
	/* Configuration space, BARs and MSI-X: Keel's own PCI function model (vmm/dev/vpci_dev.c),
	 * the one its emulated functions use. */
	struct vpci_dev pci;
	const struct virtio_dev_ops *ops;
	const struct guest_mem *mem;
	struct virtio_irq irq;
	uint64_t host_features;
	/* Common configuration (§4.1.4.3). */
	uint32_t dfselect, gfselect;
	uint64_t guest_features;
	uint16_t config_vector, queue_sel;
	uint8_t status, generation, isr;
	struct virtio_pci_queue q[VIRTIO_PCI_MAX_QUEUES];
	int intx; /* INTA# as last told */
};

/* host_features: the device's bits; the transport adds VERSION_1, RING_INDIRECT_DESC and
 * RING_EVENT_IDX. */
void virtio_pci_init(struct virtio_pci *vp, const struct virtio_dev_ops *ops, uint64_t host_features,
		     const struct guest_mem *mem, const struct virtio_irq *irq);

/* Configuration space: reg 0-255, size 1, 2 or 4 within a dword (a KEEL_IOREQ_PCI_CFG request). */
uint32_t virtio_pci_cfg_read(struct virtio_pci *vp, uint32_t reg, uint32_t size);
void virtio_pci_cfg_write(struct virtio_pci *vp, uint32_t reg, uint32_t size, uint32_t val);
/* Where BAR n decodes now: its base, or 0 when it is off (command register) or unused. */
uint64_t virtio_pci_bar_base(const struct virtio_pci *vp, unsigned int bar);
/* An access at offset off of BAR n (size 1, 2, 4 or 8, inside the BAR): between registers reads
 * 0; a bad BAR, size or offset reads all-ones; writes there are dropped. */
uint64_t virtio_pci_bar_read(struct virtio_pci *vp, unsigned int bar, uint64_t off, uint32_t size);
void virtio_pci_bar_write(struct virtio_pci *vp, unsigned int bar, uint64_t off, uint32_t size, uint64_t val);
/* Queue n's doorbell (the BAR0 write, or a doorbell claim's bit). */
void virtio_pci_notify(struct virtio_pci *vp, uint16_t n);

/* For devices. */
static inline struct virtq *virtio_pci_vq(struct virtio_pci *vp, uint16_t n)
{
	return &vp->q[n].vq;
}
bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned int bit);
/* After a batch of virtq_push on queue n: interrupts the driver if it wants it; a queue found
 * broken sets DEVICE_NEEDS_RESET. */
void virtio_pci_used(struct virtio_pci *vp, uint16_t n);
/* Serves queue n: every available chain goes to req, which returns the bytes it wrote into the
 * chain; a chain with bad buffers is returned with 0 bytes; then virtio_pci_used. c is scratch
 * space (large: the device keeps one). The loop ends when the driver has no more: a guest that
 * keeps adding buffers keeps only its own device model busy. */
typedef uint32_t (*virtio_req_fn)(struct virtio_pci *vp, const struct virtq_chain *c);
void virtio_pci_serve(struct virtio_pci *vp, uint16_t n, virtio_req_fn req, struct virtq_chain *c);
/* Device configuration changed: config_generation + 1 and a configuration interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The device cannot go on (§2.1.2): DEVICE_NEEDS_RESET, and the configuration interrupt. */
void virtio_pci_needs_reset(struct virtio_pci *vp);

#endif
