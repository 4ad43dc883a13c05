// SPDX-License-Identifier: MIT
/*
 * keel-dm: virtio network card (virtio 1.2 §5.1) on a packet fd, a TAP device in keel-dm
 * (tap.c). receiveq0 and transmitq0 only: no control queue, since nothing offered needs one
 * (receive filters, MAC changes, announcements, multiqueue are its features). The 12-byte
 * struct virtio_net_hdr_v1 is the header on both sides (the TAP has IFF_VNET_HDR and
 * TUNSETVNETHDRSZ 12), so headers pass through, checked against what was negotiated:
 *   - transmit: the header copied once and checked, then written with the rest of the chain
 *     straight from the window (writev): the TAP never reads the guest's header bytes again;
 *   - receive: a packet is read into rx_pkt (its size is known only once read, and a TAP read
 *     cuts what does not fit), its header checked and fixed up (flags the driver did not
 *     negotiate, num_buffers, which tun does not write), then copied into one chain, or with
 *     MRG_RXBUF as many as it takes. With too few buffers it waits there (one packet) for the
 *     receive doorbell, and the main loop stops polling the fd meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio_devs.h"

#define PCI_CLASS_NETWORK_ETHERNET 0x020000
#define NET_HDR			   sizeof(struct virtio_net_hdr_v1)

static struct virtio_net *to_net(struct virtio_pci *vp)
{
	return (struct virtio_net *)vp;
}

static bool up(const struct virtio_net *n)
{
	return (n->vp.status & VIRTIO_STATUS_DRIVER_OK) && !(n->vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Whether a header asks only for what was negotiated: checksum offload with feature csum, TCP
 * segmentation with tso4 / tso6, ECN with ecn (HOST_* on transmit, GUEST_* on receive). UDP
 * fragmentation (UFO) is never offered. */
static bool hdr_allowed(const struct virtio_pci *vp, const struct virtio_net_hdr_v1 *h, unsigned int csum,
			unsigned int tso4, unsigned int tso6, unsigned int ecn)
{
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !virtio_pci_has_feature(vp, csum))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !virtio_pci_has_feature(vp, ecn))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return virtio_pci_has_feature(vp, tso4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return virtio_pci_has_feature(vp, tso6);
	default:
		return false;
	}
}

/* The backend's receive offloads follow the driver's: none before FEATURES_OK or after a reset. */
static void sync_offloads(struct virtio_net *n)
{
	uint64_t want =
	    (n->vp.status & VIRTIO_STATUS_FEATURES_OK) ? n->vp.guest_features & VIRTIO_NET_GUEST_OFFLOADS : 0;

	if (n->set_offload && want != n->offloads && n->set_offload(n->opaque, want) == 0)
		n->offloads = want;
}

static uint32_t tx_request(struct virtio_pci *vp, const struct virtq_chain *c)
{
	struct virtio_net *n = to_net(vp);
	struct virtio_net_hdr_v1 h;
	struct iovec iov[VIRTQ_MAX + 1];
	int nr;

	if (c->nr_wr || c->rd_len > VIRTIO_NET_PKT_MAX || virtq_chain_read(c, 0, &h, NET_HDR) != NET_HDR ||
	    !hdr_allowed(vp, &h, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
			 VIRTIO_NET_F_HOST_ECN)) {
		n->tx_dropped++;
		return 0;
	}
	h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM; /* the only flag a driver sends (§5.1.6.2) */
	h.num_buffers = 0;
	iov[0] = (struct iovec){ &h, NET_HDR };
	nr = virtq_chain_iov(c, false, NET_HDR, c->rd_len - NET_HDR, iov + 1, VIRTQ_MAX);
	/* A full backend drops the packet, as a NIC's full queue would: the queue never stalls. */
	if (nr < 0 || writev(n->fd, iov, nr + 1) != (ssize_t)c->rd_len)
		n->tx_dropped++;
	else
		n->tx_packets++;
	return 0;
}

/* Whether the packet just read may go to the driver; fixes its flags up. */
static bool rx_accept(struct virtio_net *n, ssize_t len)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)(void *)n->rx_pkt;

	if (!up(n) || len < (ssize_t)NET_HDR || len > (ssize_t)VIRTIO_NET_PKT_MAX)
		return false;
	if (!hdr_allowed(&n->vp, h, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
			 VIRTIO_NET_F_GUEST_ECN))
		return false; /* offloads from before the driver's (re)negotiation */
	/* §5.1.6.4.1: flags 0 without GUEST_CSUM (tun sets DATA_VALID); no other flag is offered. */
	h->flags &= virtio_pci_has_feature(&n->vp, VIRTIO_NET_F_GUEST_CSUM)
			? VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID
			: 0;
	n->rx_len = (size_t)len;
	n->rx_pending = true;
	return true;
}

/* Drops the packet being delivered: the chains it took go back empty (the driver counts a length
 * error for each and reposts them). */
static void rx_drop(struct virtio_net *n, struct virtq *vq, const uint16_t *heads, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		virtq_push(vq, heads[i], 0);
	n->rx_pending = false;
	n->rx_dropped++;
}

/* The pending packet into receive buffers: true when it is done with (delivered or dropped),
 * false when it waits for more buffers. */
static bool rx_deliver(struct virtio_net *n)
{
	struct virtq *vq = virtio_pci_vq(&n->vp, VIRTIO_NET_RXQ);
	struct virtq_chain *c = &n->chain;
	bool mrg = virtio_pci_has_feature(&n->vp, VIRTIO_NET_F_MRG_RXBUF);
	uint16_t heads[VIRTQ_MAX], nb;
	uint32_t lens[VIRTQ_MAX];
	struct iovec nb_iov[2]; /* num_buffers in the first chain (2 bytes: in 2 buffers at most) */
	unsigned int nr = 0;
	int nb_nr = 0;
	size_t off = 0;

	if (!up(n))
		return false;
	while (off < n->rx_len) {
		int r = nr < VIRTQ_MAX ? virtq_pop(vq, c) : 0;

		if (r == 0 || r == -EIO) {
			if (r == 0)
				virtq_unpop(vq, (uint16_t)nr); /* taken again, whole, when buffers come */
			return false;
		}
		/* Receive buffers are device-writable and hold a header at least (§5.1.6.3.1); a
		 * bad chain goes back empty, and takes a packet it would have split with it. */
		if (r < 0 || c->nr_rd || c->wr_len < (nr ? 1 : NET_HDR)) {
			virtq_push(vq, c->head, 0);
			if (nr) {
				rx_drop(n, vq, heads, nr);
				return true;
			}
			continue;
		}
		if (!mrg && c->wr_len < n->rx_len) { /* the driver posted too small a buffer (a SHOULD) */
			heads[nr++] = c->head;
			rx_drop(n, vq, heads, nr);
			return true;
		}
		if (!nr)
			nb_nr = virtq_chain_iov(c, true, offsetof(struct virtio_net_hdr_v1, num_buffers), 2, nb_iov, 2);
		lens[nr] = (uint32_t)(c->wr_len < n->rx_len - off ? c->wr_len : n->rx_len - off);
		virtq_chain_write(c, 0, n->rx_pkt + off, lens[nr]);
		off += lens[nr];
		heads[nr++] = c->head;
	}
	/* §5.1.6.4.1: the chains used (1 without MRG_RXBUF); tun skips these bytes, so they must be written here. */
	nb = (uint16_t)nr;
	for (int i = 0, done = 0; i < nb_nr; done += (int)nb_iov[i++].iov_len)
		memcpy(nb_iov[i].iov_base, (uint8_t *)&nb + done, nb_iov[i].iov_len);
	for (unsigned int i = 0; i < nr; i++)
		virtq_push(vq, heads[i], lens[i]);
	n->rx_pending = false;
	n->rx_packets++;
	return true;
}

void virtio_net_rx(struct virtio_net *n)
{
	sync_offloads(n);
	if (!n->rx_pending || rx_deliver(n)) {
		for (int i = 0; i < VIRTIO_NET_RX_BUDGET; i++) {
			ssize_t len = read(n->fd, n->rx_pkt, sizeof(n->rx_pkt));

			if (len <= 0)
				break; /* EAGAIN: no more for now */
			if (!rx_accept(n, len)) {
				n->rx_dropped++;
				continue;
			}
			if (!rx_deliver(n))
				break;
		}
	}
	virtio_pci_used(&n->vp, VIRTIO_NET_RXQ);
}

bool virtio_net_rx_ready(const struct virtio_net *n)
{
	return !n->rx_pending;
}

static void net_notify(struct virtio_pci *vp, uint16_t q)
{
	struct virtio_net *n = to_net(vp);

	sync_offloads(n);
	if (q == VIRTIO_NET_TXQ) {
		virtio_pci_serve(vp, q, tx_request, &n->chain);
	} else if (n->rx_pending) {
		rx_deliver(n);
		virtio_pci_used(vp, VIRTIO_NET_RXQ);
	}
}

static void net_reset(struct virtio_pci *vp)
{
	struct virtio_net *n = to_net(vp);

	if (n->rx_pending)
		n->rx_dropped++;
	n->rx_pending = false;
	if (n->set_offload && n->offloads && n->set_offload(n->opaque, 0) == 0)
		n->offloads = 0;
}

static void net_config_read(struct virtio_pci *vp, uint32_t off, uint8_t *buf, uint32_t len)
{
	uint8_t cfg[VIRTIO_NET_CFG_SIZE] = { 0 };

	memcpy(cfg + VIRTIO_NET_CFG_MAC, to_net(vp)->mac, 6);
	cfg[VIRTIO_NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP; /* the TAP's carrier is ours to give */
	cfg[VIRTIO_NET_CFG_MAX_PAIRS] = 1;
	memcpy(buf, cfg + off, len);
}

static const struct virtio_dev_ops net_ops = {
	.type = VIRTIO_ID_NET,
	.class_code = PCI_CLASS_NETWORK_ETHERNET,
	.nr_queues = 2,
	.queue_max = VIRTQ_MAX,
	.config_size = VIRTIO_NET_CFG_SIZE,
	.config_read = net_config_read,
	.notify = net_notify,
	.reset = net_reset,
};

void virtio_net_init(struct virtio_net *n, const struct guest_mem *mem, const struct virtio_irq *irq, int fd,
		     const uint8_t mac[6], virtio_net_offload_fn set_offload, void *opaque)
{
	/* Transmit offloads need only IFF_VNET_HDR (tun takes any header a writer gives and checks
	 * it); receive offloads need the backend told (TUNSETOFFLOAD). §5.1.3.1: each offered with
	 * what it requires (TSO with CSUM, ECN with TSO). */
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | (set_offload ? VIRTIO_NET_GUEST_OFFLOADS : 0);

	n->fd = fd;
	n->set_offload = set_offload;
	n->opaque = opaque;
	n->offloads = 0;
	n->rx_pending = false;
	n->tx_packets = n->tx_dropped = n->rx_packets = n->rx_dropped = 0;
	memcpy(n->mac, mac, 6);
	virtio_pci_init(&n->vp, &net_ops, f, mem, irq);
}

void virtio_net_mac_from_name(const char *name, unsigned int index, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
	size_t len = strlen(name);

	for (size_t i = 0; i <= len + 1; i++) {
		uint8_t b = i < len ? (uint8_t)name[i] : i == len ? 0 : (uint8_t)index;

		h = (h ^ b) * 0x100000001b3ull;
	}
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x4b; /* 'K' */
	for (int i = 0; i < 4; i++)
		mac[2 + i] = (uint8_t)(h >> (8 * i));
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex(s[3 * i]), lo = hex(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL; /* multicast, or 0 */
	return 0;
}
