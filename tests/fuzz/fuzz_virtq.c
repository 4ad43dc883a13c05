/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: keel-dm's virtqueues and devices (guests/mgmt/dm/) over guest RAM the fuzzer
 * writes. A driver (tests/unit/dm_driver.c) negotiates and sets up the queues in a 64 KiB RAM;
 * then the input's bytes overwrite the rings and descriptor tables (and whatever lies after
 * them), a few register writes from the input follow (resets, queue changes, MSI-X, the PCI
 * configuration window), and every queue of every device is notified; the network card then
 * receives two packets whose header is the input's first bytes. The sanitizers must
 * never fire, whatever the rings say.
 *
 * Input: [0] features (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 MSI-X, bit 3 a read-only
 * disk and a network card offering receive offloads), [1] log2 of the queue size, [2] the number of register writes n (at most 8), then n
 * writes of 8 bytes ([0] space: 0 configuration, 1 BAR0, 2 BAR2; [1] log2 size; [2..3] offset;
 * [4..7] value), then the bytes laid over RAM from DRV_RING_BASE.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/dm_driver.h"
#include "guests/mgmt/dm/virtio_devs.h"

#define RAM_SIZE  0x10000u
#define DISK_SIZE 0x10000
#define MAX_OPS	  8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static int disk = -1;
static int net_sv[2] = { -1, -1 }; /* a datagram socketpair: the network card's "TAP" */
static uint8_t sink;

static ssize_t entropy(void *opaque, void *buf, size_t len)
{
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

static void output(void *opaque, const void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) /* ASan checks every byte handed out */
		sink ^= ((const uint8_t *)buf)[i];
}

static void reg_write(struct virtio_pci *vp, const uint8_t *op)
{
	uint32_t sz = 1u << (op[1] & 3), off = (uint32_t)(op[2] | op[3] << 8), val;

	memcpy(&val, op + 4, 4);
	if (op[0] % 3 == 0)
		virtio_pci_cfg_write(vp, off & 0xff, sz, val);
	else
		virtio_pci_bar_write(vp, op[0] % 3 == 1 ? VIRTIO_PCI_NOTIFY_BAR : VIRTIO_PCI_MEM_BAR, off, sz, val);
}

/* Sets the device up as a driver would, lays the input over RAM, and rings every doorbell. */
static void run(struct drv *d, struct virtio_pci *vp, uint16_t nr_queues, const uint8_t *data, size_t size)
{
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (data[0] & 1 ? VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) : 0) |
			(data[0] & 2 ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0);
	uint16_t qsize = (uint16_t)(1u << (data[1] % 9));
	size_t ops = data[2] % (MAX_OPS + 1), skip = 3 + 8 * ops;

	drv_attach(d, vp);
	drv_negotiate(d, feat | (drv_features(d) & ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) &
				 ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) & 0xffffffffull));
	if (data[0] & 4)
		drv_enable_msix(d);
	for (uint16_t n = 0; n < nr_queues; n++)
		drv_setup_queue(d, n, qsize, n);
	drv_driver_ok(d);
	if (size > skip)
		memcpy(ram + DRV_RING_BASE, data + skip,
		       size - skip < RAM_SIZE - DRV_RING_BASE ? size - skip : RAM_SIZE - DRV_RING_BASE);
	for (size_t i = 0; i < ops && 3 + 8 * (i + 1) <= size; i++)
		reg_write(vp, data + 3 + 8 * i);
	for (uint16_t n = 0; n < nr_queues; n++)
		drv_kick(d, n);
}

static int offload(void *opaque, uint64_t guest_offloads)
{
	return 0;
}

/* The network card: receive two packets from the "TAP" (the header from the input), whatever the
 * rings say, then empty what the card transmitted. */
static void net_traffic(struct virtio_net *net, const uint8_t *data, size_t size)
{
	static uint8_t sink_buf[VIRTIO_NET_PKT_MAX];
	uint8_t pkt[1600] = { 0 };

	memcpy(pkt, data, size < sizeof(struct virtio_net_hdr_v1) ? size : sizeof(struct virtio_net_hdr_v1));
	if (send(net_sv[1], pkt, sizeof(pkt), MSG_DONTWAIT) < 0 || send(net_sv[1], pkt, 60, MSG_DONTWAIT) < 0) {
		/* a full socket: the card reads what is there */
	}
	virtio_net_rx(net);
	while (recv(net_sv[1], sink_buf, sizeof(sink_buf), MSG_DONTWAIT) > 0) {
	}
	while (recv(net_sv[0], sink_buf, sizeof(sink_buf), MSG_DONTWAIT) > 0) {
	}
}

static void reset_ram(void)
{
	memset(ram, 0, RAM_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_rng rng;
	static struct virtio_console con;
	static struct virtio_blk blk;
	static struct virtio_net net;
	static struct drv d;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		disk = memfd_create("fuzz-disk", 0);
		if (!ram || disk < 0 || ftruncate(disk, DISK_SIZE) ||
		    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, net_sv))
			abort();
	}
	if (size < 3)
		return 0;
	reset_ram();
	drv_init_ram(&d, ram, RAM_SIZE);
	virtio_rng_init(&rng, &d.mem, &d.irq, entropy, NULL);
	run(&d, &rng.vp, 1, data, size);

	reset_ram();
	drv_init_ram(&d, ram, RAM_SIZE);
	virtio_console_init(&con, &d.mem, &d.irq, output, NULL);
	run(&d, &con.vp, 2, data, size);
	virtio_console_input(&con, "fuzz", 4);

	reset_ram();
	drv_init_ram(&d, ram, RAM_SIZE);
	if (virtio_blk_init(&blk, &d.mem, &d.irq, disk, data[0] & 8, "fuzz"))
		abort();
	run(&d, &blk.vp, 1, data, size);

	reset_ram();
	drv_init_ram(&d, ram, RAM_SIZE);
	virtio_net_init(&net, &d.mem, &d.irq, net_sv[0], (const uint8_t[6]){ 2, 0, 0, 0, 0, 1 },
			data[0] & 8 ? offload : NULL, NULL);
	run(&d, &net.vp, 2, data, size);
	net_traffic(&net, data, size);
	return 0;
}
