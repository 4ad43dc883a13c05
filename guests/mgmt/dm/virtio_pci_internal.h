/* SPDX-License-Identifier: MIT */
/* keel-dm: what virtio_pci.c and virtio_pci_common.c share; not for devices. */
#ifndef KEEL_DM_VIRTIO_PCI_INTERNAL_H
#define KEEL_DM_VIRTIO_PCI_INTERNAL_H

#include "virtio_pci.h"

uint64_t vp_get_le(const uint8_t *p, unsigned int n);
void vp_put_le(uint8_t *p, uint64_t v, unsigned int n);
void vp_update_intx(struct virtio_pci *vp);
void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit);
/* Device reset (§2.4): status 0, features, queues and vectors forgotten. */
void vp_reset(struct virtio_pci *vp);
uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, uint32_t size);
void vp_common_write(struct virtio_pci *vp, uint64_t off, uint32_t size, uint64_t val);

#endif
