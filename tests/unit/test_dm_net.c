/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's virtio network card (guests/mgmt/dm/virtio_net.c) and the --net option (tap.c),
 * driven as Linux's virtio_net would, over a datagram socketpair standing in for the TAP: one
 * packet per datagram, each behind the 12-byte header, as a TAP with IFF_VNET_HDR gives them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm_driver.h"
#include "guests/mgmt/dm/tap.h"
#include "guests/mgmt/dm/virtio_devs.h"

#define HDR sizeof(struct virtio_net_hdr_v1)
#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ

static const uint8_t test_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

struct net_fix {
	struct virtio_net n;
	struct drv d;
	int sv[2]; /* sv[0] the device's, sv[1] the "TAP"'s far side */
	unsigned int offload_calls;
	uint64_t offloads;
};

static int fake_offload(void *opaque, uint64_t guest_offloads)
{
	struct net_fix *f = opaque;

	f->offload_calls++;
	f->offloads = guest_offloads;
	return 0;
}

static uint64_t base_features(void)
{
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
}

/* A card negotiated with `features`, MSI-X on (vector 0 rx, 1 tx), DRIVER_OK. */
static struct net_fix *net_start(uint64_t features, bool offload)
{
	struct net_fix *f = calloc(1, sizeof(*f));

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, f->sv), 0);
	drv_init(&f->d);
	virtio_net_init(&f->n, &f->d.mem, &f->d.irq, f->sv[0], test_mac, offload ? fake_offload : NULL, f);
	drv_attach(&f->d, &f->n.vp);
	assert_true(drv_negotiate(&f->d, features) & VIRTIO_STATUS_FEATURES_OK);
	drv_enable_msix(&f->d);
	drv_setup_queue(&f->d, RXQ, 16, 0);
	drv_setup_queue(&f->d, TXQ, 16, 1);
	drv_driver_ok(&f->d);
	return f;
}

static void net_stop(struct net_fix *f)
{
	close(f->sv[0]);
	close(f->sv[1]);
	drv_free(&f->d);
	free(f);
}

/* A packet: the header then len bytes of pattern seed. */
static size_t make_pkt(uint8_t *buf, const struct virtio_net_hdr_v1 *h, size_t len, uint8_t seed)
{
	memcpy(buf, h, HDR);
	for (size_t i = 0; i < len; i++)
		buf[HDR + i] = (uint8_t)(seed + i * 7);
	return HDR + len;
}

static void peer_send(struct net_fix *f, const struct virtio_net_hdr_v1 *h, size_t len, uint8_t seed)
{
	uint8_t buf[4096];
	size_t n = make_pkt(buf, h, len, seed);

	assert_int_equal(send(f->sv[1], buf, n, 0), (ssize_t)n);
}

static ssize_t peer_recv(struct net_fix *f, uint8_t *buf, size_t len)
{
	return recv(f->sv[1], buf, len, MSG_DONTWAIT);
}

static void test_net_features_config(void **state)
{
	struct net_fix *f = net_start(base_features(), false);
	uint64_t feat = drv_features(&f->d);
	uint8_t cfg[VIRTIO_NET_CFG_SIZE];

	(void)state;
	assert_int_equal(virtio_pci_cfg_read(&f->n.vp, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(virtio_pci_cfg_read(&f->n.vp, PCI_REVISION, 4) >> 8, 0x020000);
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
	assert_true(feat & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN));
	/* no backend offload control: no receive offloads; never a control queue or UFO */
	assert_int_equal(feat & VIRTIO_NET_GUEST_OFFLOADS, 0);
	assert_false(feat & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_false(feat & (VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO)));
	for (unsigned int i = 0; i < sizeof(cfg); i++)
		cfg[i] = (uint8_t)virtio_pci_bar_read(&f->n.vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + i, 1);
	assert_memory_equal(cfg + VIRTIO_NET_CFG_MAC, test_mac, 6);
	assert_int_equal(cfg[VIRTIO_NET_CFG_STATUS] | cfg[VIRTIO_NET_CFG_STATUS + 1] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(virtio_pci_bar_read(&f->n.vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + 4, 4),
			 0x44 | 0x55 << 8 | VIRTIO_NET_S_LINK_UP << 16);
	net_stop(f);
}

/* With a backend that takes offloads, GUEST_* are offered and the backend follows the driver:
 * what it negotiated once it runs, nothing after a reset. */
static void test_net_offloads(void **state)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	struct net_fix *f = net_start(base_features() | want, true);

	(void)state;
	assert_int_equal(drv_features(&f->d) & VIRTIO_NET_GUEST_OFFLOADS, VIRTIO_NET_GUEST_OFFLOADS);
	drv_kick(&f->d, RXQ);
	assert_int_equal(f->offload_calls, 1);
	assert_int_equal(f->offloads, want);
	drv_kick(&f->d, TXQ); /* unchanged: not told again */
	assert_int_equal(f->offload_calls, 1);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(f->offload_calls, 2);
	assert_int_equal(f->offloads, 0);
	/* the TUN_F_* mapping: TSO needs CSUM, ECN needs TSO */
	assert_int_equal(dm_tap_offload_flags(want), 0x1 | 0x2);
	assert_int_equal(dm_tap_offload_flags(VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)), 0);
	assert_int_equal(dm_tap_offload_flags(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)),
			 0x1);
	assert_int_equal(dm_tap_offload_flags(VIRTIO_NET_GUEST_OFFLOADS), 0x1 | 0x2 | 0x4 | 0x8);
	net_stop(f);
}

/* One buffer, header and frame: on the wire with the header as the driver wrote it. */
static void test_net_tx_single(void **state)
{
	struct net_fix *f = net_start(base_features() | VIRTIO_BIT(VIRTIO_NET_F_CSUM), false);
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };
	uint64_t a = drv_alloc(&f->d, 2048);
	uint8_t want[2048], got[4096];
	size_t len = make_pkt(want, &h, 1514, 3);
	uint32_t id, used;

	(void)state;
	memcpy(drv_ptr(&f->d, a), want, len);
	drv_add_chain(&f->d, &f->d.ring[TXQ], (struct drv_buf[]){ { a, (uint32_t)len, false } }, 1);
	drv_kick(&f->d, TXQ);
	assert_int_equal(peer_recv(f, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[TXQ], &id, &used), 1);
	assert_int_equal(used, 0);
	assert_int_equal(f->d.msi_per_vector[1], 1);
	assert_int_equal(f->n.tx_packets, 1);
	net_stop(f);
}

/* A header split over two descriptors and the frame over three more (and a TSO packet with
 * HOST_TSO4): gathered in order. */
static void test_net_tx_chain(void **state)
{
	struct net_fix *f =
	    net_start(base_features() | VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4), false);
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				       .hdr_len = 54,
				       .gso_size = 1448,
				       .csum_start = 34,
				       .csum_offset = 16 };
	uint8_t want[4096], got[4096];
	size_t len = make_pkt(want, &h, 3000, 9);
	uint32_t cut[] = { 5, 7, 1000, 1, 1999 }, off = 0, id, used;
	struct drv_buf b[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		b[i] = (struct drv_buf){ drv_alloc(&f->d, cut[i]), cut[i], false };
		memcpy(drv_ptr(&f->d, b[i].gpa), want + off, cut[i]);
		off += cut[i];
	}
	assert_int_equal(off, len);
	drv_add_chain(&f->d, &f->d.ring[TXQ], b, 5);
	drv_kick(&f->d, TXQ);
	assert_int_equal(peer_recv(f, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[TXQ], &id, &used), 1);
	net_stop(f);
}

/* What the driver did not negotiate, buffers outside RAM, writable buffers, no header: that
 * packet is dropped (completed, nothing sent) and the next one goes. */
static void test_net_tx_hostile(void **state)
{
	struct net_fix *f = net_start(base_features(), false);
	struct drv_ring *tx = &f->d.ring[TXQ];
	struct virtio_net_hdr_v1 csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	struct virtio_net_hdr_v1 tso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	struct virtio_net_hdr_v1 ok = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 7 };
	uint64_t p1 = drv_alloc(&f->d, 128), p2 = drv_alloc(&f->d, 128), p3 = drv_alloc(&f->d, 128);
	uint64_t big = drv_alloc(&f->d, VIRTIO_NET_PKT_MAX + 1);
	uint8_t got[256];
	uint32_t id, used;

	(void)state;
	make_pkt(drv_ptr(&f->d, p1), &csum, 60, 1);
	make_pkt(drv_ptr(&f->d, p2), &tso, 60, 1);
	make_pkt(drv_ptr(&f->d, p3), &ok, 60, 5);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { p1, 72, false } }, 1);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { p2, 72, false } }, 1);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { DRV_RAM_SIZE - 8, 72, false } }, 1);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { p3, 72, false }, { p1, 8, true } }, 2);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { p3, 11, false } }, 1);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { big, VIRTIO_NET_PKT_MAX + 1, false } }, 1); /* too long */
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { p3, 72, false } }, 1);
	drv_kick(&f->d, TXQ);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(drv_get_used(&f->d, tx, &id, &used), 1);
		assert_int_equal(used, 0);
	}
	assert_int_equal(peer_recv(f, got, sizeof(got)), 72); /* only the last */
	assert_int_equal(got[HDR], 5);
	/* flags the driver may not send are cleared, num_buffers is 0 on the wire */
	assert_int_equal(got[0], 0);
	assert_int_equal(got[10] | got[11] << 8, 0);
	assert_int_equal(peer_recv(f, got, sizeof(got)), -1);
	assert_int_equal(f->n.tx_dropped, 5); /* the buffer outside RAM never reached the device */
	assert_int_equal(f->n.tx_packets, 1);
	assert_false(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	net_stop(f);
}

/* Reads used element i's length; fails the test if there is none. */
static uint32_t used_len(struct net_fix *f, uint16_t q)
{
	uint32_t id, len;

	assert_int_equal(drv_get_used(&f->d, &f->d.ring[q], &id, &len), 1);
	return len;
}

/* Without MRG_RXBUF: one buffer a packet, num_buffers 1 (tun leaves those bytes alone), and
 * DATA_VALID cleared without GUEST_CSUM. */
static void test_net_rx_one(void **state)
{
	struct net_fix *f = net_start(base_features(), false);
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0xabcd };
	uint64_t a = drv_alloc(&f->d, 1526);
	uint8_t want[2048];
	struct virtio_net_hdr_v1 got;

	(void)state;
	make_pkt(want, &h, 1000, 4);
	drv_add_chain(&f->d, &f->d.ring[RXQ], (struct drv_buf[]){ { a, 1526, true } }, 1);
	drv_kick(&f->d, RXQ);
	peer_send(f, &h, 1000, 4);
	assert_true(virtio_net_rx_ready(&f->n));
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), HDR + 1000);
	memcpy(&got, drv_ptr(&f->d, a), HDR);
	assert_int_equal(got.num_buffers, 1);
	assert_int_equal(got.flags, 0);
	assert_memory_equal((uint8_t *)drv_ptr(&f->d, a) + HDR, want + HDR, 1000);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	assert_int_equal(f->n.rx_packets, 1);
	net_stop(f);
}

/* With MRG_RXBUF (and GUEST_CSUM: DATA_VALID kept): a packet over three buffers, num_buffers
 * 3 in the first, one interrupt. */
static void test_net_rx_mrg(void **state)
{
	struct net_fix *f =
	    net_start(base_features() | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM), true);
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0xffff };
	uint64_t b[3];
	uint8_t want[512];
	size_t len = make_pkt(want, &h, 238, 1); /* 250 bytes */
	struct virtio_net_hdr_v1 got;

	(void)state;
	for (int i = 0; i < 3; i++) {
		b[i] = drv_alloc(&f->d, 100);
		drv_add_chain(&f->d, &f->d.ring[RXQ], (struct drv_buf[]){ { b[i], 100, true } }, 1);
	}
	drv_kick(&f->d, RXQ);
	peer_send(f, &h, 238, 1);
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), 100);
	assert_int_equal(used_len(f, RXQ), 100);
	assert_int_equal(used_len(f, RXQ), 50);
	memcpy(&got, drv_ptr(&f->d, b[0]), HDR);
	assert_int_equal(got.num_buffers, 3);
	assert_int_equal(got.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_memory_equal((uint8_t *)drv_ptr(&f->d, b[0]) + HDR, want + HDR, 100 - HDR);
	assert_memory_equal(drv_ptr(&f->d, b[1]), want + 100, 100);
	assert_memory_equal(drv_ptr(&f->d, b[2]), want + 200, len - 200);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	net_stop(f);
}

/* No buffers: the packet waits (the fd is not polled meanwhile) and goes at the receive
 * doorbell; with MRG_RXBUF, too few buffers are given back untouched until there are enough. */
static void test_net_rx_pending(void **state)
{
	struct net_fix *f = net_start(base_features() | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), false);
	struct drv_ring *rx = &f->d.ring[RXQ];
	struct virtio_net_hdr_v1 h = { 0 };
	uint64_t b[4];
	uint32_t id, len;
	struct virtio_net_hdr_v1 got;

	(void)state;
	for (int i = 0; i < 4; i++)
		b[i] = drv_alloc(&f->d, 100);
	peer_send(f, &h, 238, 1);
	peer_send(f, &h, 20, 2);
	virtio_net_rx(&f->n);
	assert_false(virtio_net_rx_ready(&f->n));
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 0);
	/* one buffer of the three needed: still waiting, nothing used */
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b[0], 100, true } }, 1);
	drv_kick(&f->d, RXQ);
	assert_false(virtio_net_rx_ready(&f->n));
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 0);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b[1], 100, true } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b[2], 100, true } }, 1);
	drv_kick(&f->d, RXQ);
	assert_true(virtio_net_rx_ready(&f->n));
	assert_int_equal(used_len(f, RXQ), 100);
	assert_int_equal(used_len(f, RXQ), 100);
	assert_int_equal(used_len(f, RXQ), 50);
	memcpy(&got, drv_ptr(&f->d, b[0]), HDR);
	assert_int_equal(got.num_buffers, 3);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	/* the second packet waited in the socket; it comes at the next read */
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b[3], 100, true } }, 1);
	drv_kick(&f->d, RXQ);
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), HDR + 20);
	assert_int_equal(((uint8_t *)drv_ptr(&f->d, b[3]))[HDR], 2);
	assert_int_equal(f->n.rx_dropped, 0);
	net_stop(f);
}

/* Hostile receive buffers fail alone: a readable one and one outside RAM go back empty and the
 * packet takes the next; a buffer too small without MRG_RXBUF drops that packet; offloads the
 * driver did not negotiate are dropped; before DRIVER_OK packets are dropped (link down). */
static void test_net_rx_hostile(void **state)
{
	struct net_fix *f = net_start(base_features(), false);
	struct drv_ring *rx = &f->d.ring[RXQ];
	struct virtio_net_hdr_v1 h = { 0 }, gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 };
	struct virtio_net_hdr_v1 partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	uint64_t a = drv_alloc(&f->d, 256), small = drv_alloc(&f->d, 32);
	uint8_t *p = drv_ptr(&f->d, a);

	(void)state;
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 256, false } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { DRV_RAM_SIZE - 16, 256, true } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 256, true } }, 1);
	drv_kick(&f->d, RXQ);
	peer_send(f, &gso, 100, 1);	/* TSO without GUEST_TSO4 */
	peer_send(f, &partial, 100, 1); /* a partial checksum without GUEST_CSUM */
	peer_send(f, &h, 100, 3);
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), 0);
	assert_int_equal(used_len(f, RXQ), 0);
	assert_int_equal(used_len(f, RXQ), HDR + 100);
	assert_int_equal(p[HDR], 3);
	assert_int_equal(f->n.rx_dropped, 2);
	/* too small a buffer without MRG_RXBUF: the packet is dropped, the buffer back empty */
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { small, 32, true } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 256, true } }, 1);
	drv_kick(&f->d, RXQ);
	peer_send(f, &h, 100, 4);
	peer_send(f, &h, 50, 5);
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), 0);
	assert_int_equal(used_len(f, RXQ), HDR + 50);
	assert_int_equal(p[HDR], 5);
	assert_int_equal(f->n.rx_dropped, 3);
	assert_false(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* a packet longer than any the card takes: dropped, not cut */
	{
		uint8_t *huge = calloc(1, VIRTIO_NET_PKT_MAX + 100);

		assert_int_equal(send(f->sv[1], huge, VIRTIO_NET_PKT_MAX + 100, 0), VIRTIO_NET_PKT_MAX + 100);
		free(huge);
	}
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 256, true } }, 1);
	drv_kick(&f->d, RXQ);
	virtio_net_rx(&f->n);
	assert_int_equal(f->n.rx_dropped, 4);
	assert_int_equal(f->n.rx_packets, 2);
	/* after a reset, before DRIVER_OK: dropped, nothing waits */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	peer_send(f, &h, 50, 6);
	virtio_net_rx(&f->n);
	assert_true(virtio_net_rx_ready(&f->n));
	assert_int_equal(f->n.rx_dropped, 5);
	net_stop(f);
}

/* With MRG_RXBUF, a bad buffer in the middle of a packet: the packet is dropped, every buffer it
 * took goes back empty; the next packet goes. */
static void test_net_rx_mrg_hostile(void **state)
{
	struct net_fix *f = net_start(base_features() | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), false);
	struct drv_ring *rx = &f->d.ring[RXQ];
	struct virtio_net_hdr_v1 h = { 0 };
	uint64_t a = drv_alloc(&f->d, 100), b = drv_alloc(&f->d, 100);

	(void)state;
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 100, true } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 100, false } }, 1);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 100, true } }, 1);
	drv_kick(&f->d, RXQ);
	peer_send(f, &h, 150, 1);
	peer_send(f, &h, 10, 2);
	virtio_net_rx(&f->n);
	assert_int_equal(used_len(f, RXQ), 0); /* the readable one */
	assert_int_equal(used_len(f, RXQ), 0); /* the first, taken with it */
	assert_int_equal(used_len(f, RXQ), HDR + 10);
	assert_int_equal(((uint8_t *)drv_ptr(&f->d, b))[HDR], 2);
	assert_int_equal(f->n.rx_dropped, 1);
	net_stop(f);
}

/* The default MAC: stable, per VM and card, locally administered unicast; the documented rule. */
static void test_net_mac(void **state)
{
	uint8_t a[6], b[6], c[6], m[6];
	static const uint8_t web1[6] = { 0x02, 0x4b, 0xe6, 0xa5, 0x98, 0x09 };

	(void)state;
	virtio_net_mac_from_name("web", 1, a);
	virtio_net_mac_from_name("web", 1, b);
	assert_memory_equal(a, b, 6);
	assert_memory_equal(a, web1, 6); /* FNV-1a 64 of "web" 0x00 0x01 */
	virtio_net_mac_from_name("web", 0, c);
	assert_memory_not_equal(a, c, 6);
	virtio_net_mac_from_name("db", 1, c);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(c[0], 0x02);
	assert_int_equal(c[1], 0x4b);
	assert_int_equal(virtio_net_parse_mac("52:54:00:AB:cd:0f", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f }), 6);
	assert_int_equal(virtio_net_parse_mac("01:00:5e:00:00:01", m), -EINVAL); /* multicast */
	assert_int_equal(virtio_net_parse_mac("00:00:00:00:00:00", m), -EINVAL);
	assert_int_equal(virtio_net_parse_mac("52:54:00:ab:cd", m), -EINVAL);
	assert_int_equal(virtio_net_parse_mac("52:54:00:ab:cd:0g", m), -EINVAL);
	assert_int_equal(virtio_net_parse_mac("52-54-00-ab-cd-0f", m), -EINVAL);
	assert_int_equal(virtio_net_parse_mac("52:54:00:ab:cd:0f0", m), -EINVAL);
}

static void test_net_option(void **state)
{
	char s1[] = "mac=02:00:00:00:00:07,bridge=br0,tap=web0", s2[] = "", s3[] = "bridge=br0,colour=red",
	     s4[] = "tap=0123456789abcdef", s5[] = "mac=03:00:00:00:00:07";
	struct dm_net_arg a;
	const char *bad = NULL;

	(void)state;
	assert_int_equal(dm_net_parse(&a, s1, &bad), 0);
	assert_true(a.has_mac);
	assert_int_equal(a.mac[5], 7);
	assert_string_equal(a.bridge, "br0");
	assert_string_equal(a.tap, "web0");
	assert_int_equal(a.fd, -1);
	assert_int_equal(dm_net_parse(&a, s2, &bad), 0);
	assert_false(a.has_mac);
	assert_string_equal(a.tap, "");
	assert_string_equal(a.bridge, "");
	assert_int_equal(dm_net_parse(&a, s3, &bad), -EINVAL);
	assert_string_equal(bad, "colour=red");
	assert_int_equal(dm_net_parse(&a, s4, &bad), -EINVAL); /* 16 characters: too long */
	assert_int_equal(dm_net_parse(&a, s5, &bad), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_features_config),
		cmocka_unit_test(test_net_offloads),
		cmocka_unit_test(test_net_tx_single),
		cmocka_unit_test(test_net_tx_chain),
		cmocka_unit_test(test_net_tx_hostile),
		cmocka_unit_test(test_net_rx_one),
		cmocka_unit_test(test_net_rx_mrg),
		cmocka_unit_test(test_net_rx_pending),
		cmocka_unit_test(test_net_rx_hostile),
		cmocka_unit_test(test_net_rx_mrg_hostile),
		cmocka_unit_test(test_net_mac),
		cmocka_unit_test(test_net_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
