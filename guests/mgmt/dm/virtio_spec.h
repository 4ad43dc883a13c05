/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x constants and ring layouts keel-dm uses, from the OASIS "Virtual I/O Device
 * (VIRTIO) Version 1.2" specification (section numbers are that version's). Everything in the
 * rings and configuration structures is little-endian (§1.4); keel-dm runs on x86-64 only.
 */
#ifndef KEEL_DM_VIRTIO_SPEC_H
#define KEEL_DM_VIRTIO_SPEC_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian: x86-64 only");

/* §2.1 Device status field. */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1u
#define VIRTIO_STATUS_DRIVER		 2u
#define VIRTIO_STATUS_DRIVER_OK		 4u
#define VIRTIO_STATUS_FEATURES_OK	 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED		 0x80u

/* §6 Reserved feature bits (device-independent). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32
#define VIRTIO_BIT(n)		    (1ull << (n))

/* §2.7.5 The virtqueue descriptor table: 16 bytes a descriptor, the table 16-byte aligned. */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "§2.7.5: a descriptor is 16 bytes");
_Static_assert(offsetof(struct virtq_desc, len) == 8 && offsetof(struct virtq_desc, flags) == 12 &&
		   offsetof(struct virtq_desc, next) == 14,
	       "§2.7.5 descriptor layout");

/* §2.7.6 The available ring (2-byte aligned): flags, idx, ring[size], used_event (EVENT_IDX). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_AVAIL_FLAGS	   0 /* byte offsets */
#define VIRTQ_AVAIL_IDX		   2
#define VIRTQ_AVAIL_RING(i)	   (4 + 2 * (uint64_t)(i))
#define VIRTQ_AVAIL_SIZE(qsz)	   (6 + 2 * (uint64_t)(qsz))

/* §2.7.8 The used ring (4-byte aligned): flags, idx, ring[size] of {id, len}, avail_event. */
#define VIRTQ_USED_F_NO_NOTIFY 1u
#define VIRTQ_USED_FLAGS       0
#define VIRTQ_USED_IDX	       2
#define VIRTQ_USED_RING(i)     (4 + 8 * (uint64_t)(i))
#define VIRTQ_USED_SIZE(qsz)   (6 + 8 * (uint64_t)(qsz))

/* §2.7 "Queue Size": a power of 2 up to 32768 for split virtqueues. */
#define VIRTQ_SIZE_MAX 32768u

/* §2.7.10: the driver wants an interrupt (or the device a notification) when the index moves
 * past `event` between old and new_idx. */
static inline int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* §4.1 Virtio over PCI. */
#define VIRTIO_PCI_VENDOR_ID	  0x1af4
#define VIRTIO_PCI_DEVICE_BASE	  0x1040 /* §4.1.2: 0x1040 + device type */
#define VIRTIO_PCI_REVISION	  1	 /* §4.1.2.1: a non-transitional device has revision >= 1 */
#define VIRTIO_PCI_CAP_COMMON_CFG 1	 /* §4.1.4 capability types */
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5
#define VIRTIO_MSI_NO_VECTOR	  0xffffu
#define VIRTIO_PCI_ISR_QUEUE	  1u /* §4.1.4.5 */
#define VIRTIO_PCI_ISR_CONFIG	  2u

/* §4.1.4 struct virtio_pci_cap and its variants: byte offsets within the capability. */
#define VIRTIO_PCI_CAP_LEN	     16
#define VIRTIO_PCI_CAP_CFG_TYPE	     3
#define VIRTIO_PCI_CAP_BAR	     4
#define VIRTIO_PCI_CAP_OFFSET	     8
#define VIRTIO_PCI_CAP_LENGTH	     12
#define VIRTIO_PCI_NOTIFY_CAP_LEN    20 /* + notify_off_multiplier at 16 */
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 16
#define VIRTIO_PCI_CFG_CAP_LEN	     20 /* + pci_cfg_data[4] at 16 */
#define VIRTIO_PCI_CFG_DATA	     16

/* §4.1.4.3 struct virtio_pci_common_cfg: byte offsets. */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00
#define VIRTIO_PCI_COMMON_DF		0x04
#define VIRTIO_PCI_COMMON_GFSELECT	0x08
#define VIRTIO_PCI_COMMON_GF		0x0c
#define VIRTIO_PCI_COMMON_MSIX		0x10
#define VIRTIO_PCI_COMMON_NUMQ		0x12
#define VIRTIO_PCI_COMMON_STATUS	0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO	0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI	0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO	0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI	0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO	0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI	0x34
#define VIRTIO_PCI_COMMON_CFG_SIZE	0x38 /* the 1.1 structure; Linux requires at least this */

/* §5 Device types. */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4

/* §5.2 Block device. */
#define VIRTIO_BLK_F_SEG_MAX	   2
#define VIRTIO_BLK_F_RO		   5
#define VIRTIO_BLK_F_BLK_SIZE	   6
#define VIRTIO_BLK_F_FLUSH	   9
#define VIRTIO_BLK_F_DISCARD	   13
#define VIRTIO_BLK_T_IN		   0
#define VIRTIO_BLK_T_OUT	   1
#define VIRTIO_BLK_T_FLUSH	   4
#define VIRTIO_BLK_T_GET_ID	   8
#define VIRTIO_BLK_T_DISCARD	   11
#define VIRTIO_BLK_S_OK		   0
#define VIRTIO_BLK_S_IOERR	   1
#define VIRTIO_BLK_S_UNSUPP	   2
#define VIRTIO_BLK_SECTOR	   512u
#define VIRTIO_BLK_ID_BYTES	   20 /* §5.2.6: NUL-padded, no NUL when 20 bytes long */
#define VIRTIO_BLK_DISCARD_F_UNMAP 1u
/* §5.2.6 the request header (device-readable, 16 bytes) and a discard segment. */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "§5.2.6 request header");
struct virtio_blk_discard {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
_Static_assert(sizeof(struct virtio_blk_discard) == 16, "§5.2.6 discard segment");
/* §5.2.4 struct virtio_blk_config: byte offsets of the fields keel-dm fills. */
#define VIRTIO_BLK_CFG_CAPACITY		0
#define VIRTIO_BLK_CFG_SEG_MAX		12
#define VIRTIO_BLK_CFG_BLK_SIZE		20
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECT 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN	44
#define VIRTIO_BLK_CFG_SIZE		60

/* §5.3 Console device: receiveq0 and transmitq0 only (no VIRTIO_CONSOLE_F_MULTIPORT). */
#define VIRTIO_CONSOLE_RXQ	0
#define VIRTIO_CONSOLE_TXQ	1
#define VIRTIO_CONSOLE_CFG_SIZE 12 /* cols, rows, max_nr_ports, emerg_wr: all unused */

/* §5.1 Network device: receiveq0 and transmitq0 (no VIRTIO_NET_F_MQ, no control queue). */
#define VIRTIO_NET_RXQ		 0
#define VIRTIO_NET_TXQ		 1
#define VIRTIO_NET_F_CSUM	 0 /* §5.1.3 feature bits */
#define VIRTIO_NET_F_GUEST_CSUM	 1
#define VIRTIO_NET_F_MAC	 5
#define VIRTIO_NET_F_GUEST_TSO4	 7
#define VIRTIO_NET_F_GUEST_TSO6	 8
#define VIRTIO_NET_F_GUEST_ECN	 9
#define VIRTIO_NET_F_GUEST_UFO	 10
#define VIRTIO_NET_F_HOST_TSO4	 11
#define VIRTIO_NET_F_HOST_TSO6	 12
#define VIRTIO_NET_F_HOST_ECN	 13
#define VIRTIO_NET_F_HOST_UFO	 14
#define VIRTIO_NET_F_MRG_RXBUF	 15
#define VIRTIO_NET_F_STATUS	 16
#define VIRTIO_NET_F_CTRL_VQ	 17
#define VIRTIO_NET_S_LINK_UP	 1u /* §5.1.4 status */
#define VIRTIO_NET_CFG_MAC	 0  /* §5.1.4 struct virtio_net_config: byte offsets */
#define VIRTIO_NET_CFG_STATUS	 6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_SIZE	 10
/* §5.1.6 the packet header: flags, gso_type. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE	    0u
#define VIRTIO_NET_HDR_GSO_TCPV4    1u
#define VIRTIO_NET_HDR_GSO_UDP	    3u
#define VIRTIO_NET_HDR_GSO_TCPV6    4u
#define VIRTIO_NET_HDR_GSO_ECN	    0x80u
/* With VIRTIO_F_VERSION_1 every packet starts with this 12-byte header, num_buffers included. */
struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12 && offsetof(struct virtio_net_hdr_v1, num_buffers) == 10,
	       "§5.1.6 struct virtio_net_hdr");

#endif
