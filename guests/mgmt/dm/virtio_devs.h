/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's devices over the virtio PCI transport (docs/virtio.md): entropy (virtio_rng.c), a
 * single-port console (virtio_console.c), a block device on a raw image (virtio_blk.c), a network
 * card on a TAP device (virtio_net.c; the TAP's set-up is tap.c's). Each
 * embeds its struct virtio_pci first: the main loop drives it through vp.
 */
#ifndef KEEL_DM_VIRTIO_DEVS_H
#define KEEL_DM_VIRTIO_DEVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "virtio_pci.h"
#include "virtio_spec.h"

/* Fills buf with up to len random bytes: how many, or a negative errno. */
typedef ssize_t (*virtio_entropy_fn)(void *opaque, void *buf, size_t len);

struct virtio_rng {
	struct virtio_pci vp;
	virtio_entropy_fn entropy;
	void *opaque;
	struct virtq_chain chain;
};
void virtio_rng_init(struct virtio_rng *r, const struct guest_mem *mem, const struct virtio_irq *irq,
		     virtio_entropy_fn entropy, void *opaque);
/* The production source: getrandom(2). */
ssize_t virtio_rng_getrandom(void *opaque, void *buf, size_t len);

/* Console output: the bytes the guest wrote (straight from its RAM). */
typedef void (*virtio_output_fn)(void *opaque, const void *buf, size_t len);
#define VIRTIO_CONSOLE_INBUF 4096

struct virtio_console {
	struct virtio_pci vp;
	virtio_output_fn output;
	void *opaque;
	uint8_t in[VIRTIO_CONSOLE_INBUF]; /* input waiting for receive buffers (a ring) */
	size_t in_head, in_len;
	struct virtq_chain chain;
};
void virtio_console_init(struct virtio_console *c, const struct guest_mem *mem, const struct virtio_irq *irq,
			 virtio_output_fn output, void *opaque);
/* Queues input for the guest and hands what it can to its receive buffers; returns how many
 * bytes were taken (fewer when VIRTIO_CONSOLE_INBUF is full). */
size_t virtio_console_input(struct virtio_console *c, const void *buf, size_t len);

#define VIRTIO_BLK_MAX_DISCARD_SEG     32
#define VIRTIO_BLK_MAX_DISCARD_SECTORS 0x400000u /* 2 GiB a segment */
#define VIRTIO_BLK_DISCARD_ALIGN       8u	 /* sectors: 4 KiB, the file system's block */

struct virtio_blk {
	struct virtio_pci vp;
	int fd;
	bool ro;
	uint64_t sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtq_chain chain;
};
/* A disk on the raw image open as fd (read-write unless ro), of the file's size in whole
 * sectors; serial: up to 20 bytes for GET_ID. 0 or a negative errno (fstat). */
int virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct virtio_irq *irq, int fd, bool ro,
		    const char *serial);

/* The largest packet, header included, either way: the spec's "big" receive buffer (§5.1.6.3.1:
 * 65562 bytes), what a driver without MRG_RXBUF posts for GUEST_TSO4/6. */
#define VIRTIO_NET_PKT_MAX   65562u
#define VIRTIO_NET_RX_BUDGET 64 /* packets virtio_net_rx takes from the fd in one call */
#define VIRTIO_NET_GUEST_OFFLOADS                                                    \
	(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))

/* Tells the backend which receive offloads the driver took (VIRTIO_NET_GUEST_OFFLOADS bits; 0 at
 * reset), so that it hands over only packets the driver can take (TUNSETOFFLOAD): 0 or -errno. */
typedef int (*virtio_net_offload_fn)(void *opaque, uint64_t guest_offloads);

struct virtio_net {
	struct virtio_pci vp;
	/* The backend: one packet per read and per writev, each behind a struct virtio_net_hdr_v1
	 * (a TAP with IFF_VNET_HDR and TUNSETVNETHDRSZ 12, or a datagram socket in the tests);
	 * non-blocking. */
	int fd;
	virtio_net_offload_fn set_offload; /* NULL: no GUEST_* offloads are offered */
	void *opaque;
	uint64_t offloads; /* what the backend was last told */
	uint8_t mac[6];
	bool rx_pending; /* rx_pkt holds a packet waiting for receive buffers */
	size_t rx_len;
	unsigned long tx_packets, tx_dropped, rx_packets, rx_dropped;
	struct virtq_chain chain;
	uint8_t rx_pkt[VIRTIO_NET_PKT_MAX + 1]; /* + 1: a longer packet is seen, and dropped */
};
void virtio_net_init(struct virtio_net *n, const struct guest_mem *mem, const struct virtio_irq *irq, int fd,
		     const uint8_t mac[6], virtio_net_offload_fn set_offload, void *opaque);
/* The fd is readable (poll said POLLIN): takes up to VIRTIO_NET_RX_BUDGET packets into receive
 * buffers and interrupts once. A packet that finds no buffers waits (one at most) for the
 * receive queue's doorbell; packets that come before DRIVER_OK are dropped (the link is down). */
void virtio_net_rx(struct virtio_net *n);
/* Whether the main loop should poll the fd: not while a packet waits for buffers. */
bool virtio_net_rx_ready(const struct virtio_net *n);
/* The MAC of network card `index` of VM `name` when none is given (docs/virtio.md): 02:4b and
 * the low 32 bits of FNV-1a 64 over the name, a 0 byte and the index byte, low byte first. */
void virtio_net_mac_from_name(const char *name, unsigned int index, uint8_t mac[6]);
/* "xx:xx:xx:xx:xx:xx", a unicast address other than 0: 0 or -EINVAL. */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]);

#endif
