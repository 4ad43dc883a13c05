// SPDX-License-Identifier: MIT
/*
 * keel-dm: virtio console (virtio 1.2 §5.3), one port and no VIRTIO_CONSOLE_F_MULTIPORT:
 * receiveq0 takes the host's input, transmitq0 the guest's output. Input waits in a ring until
 * the driver posts receive buffers (and has set DRIVER_OK).
 */
#include <errno.h>
#include <string.h>

#include "virtio_devs.h"

#define PCI_CLASS_COMM_OTHER 0x078000 /* simple communication controller, other */

static struct virtio_console *to_con(struct virtio_pci *vp)
{
	return (struct virtio_console *)vp;
}

/* Input into as many receive buffers as it takes, oldest byte first. */
static uint32_t rx_request(struct virtio_pci *vp, const struct virtq_chain *c)
{
	struct virtio_console *con = to_con(vp);
	size_t n = con->in_len < c->wr_len ? con->in_len : c->wr_len;
	size_t first = VIRTIO_CONSOLE_INBUF - con->in_head < n ? VIRTIO_CONSOLE_INBUF - con->in_head : n;

	virtq_chain_write(c, 0, con->in + con->in_head, first);
	virtq_chain_write(c, first, con->in, n - first);
	con->in_head = (con->in_head + n) % VIRTIO_CONSOLE_INBUF;
	con->in_len -= n;
	return (uint32_t)n;
}

static void deliver(struct virtio_console *con)
{
	struct virtq *vq = virtio_pci_vq(&con->vp, VIRTIO_CONSOLE_RXQ);
	int r;

	if (!(con->vp.status & VIRTIO_STATUS_DRIVER_OK) || (con->vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	while (con->in_len && (r = virtq_pop(vq, &con->chain)) != 0 && r != -EIO)
		virtq_push(vq, con->chain.head, r > 0 ? rx_request(&con->vp, &con->chain) : 0);
	virtio_pci_used(&con->vp, VIRTIO_CONSOLE_RXQ);
}

size_t virtio_console_input(struct virtio_console *con, const void *buf, size_t len)
{
	size_t room = VIRTIO_CONSOLE_INBUF - con->in_len, n = len < room ? len : room;

	for (size_t i = 0; i < n; i++)
		con->in[(con->in_head + con->in_len + i) % VIRTIO_CONSOLE_INBUF] = ((const uint8_t *)buf)[i];
	con->in_len += n;
	deliver(con);
	return n;
}

static uint32_t tx_request(struct virtio_pci *vp, const struct virtq_chain *c)
{
	struct virtio_console *con = to_con(vp);

	for (unsigned int i = 0; i < c->nr_rd; i++)
		con->output(con->opaque, c->seg[i].addr, c->seg[i].len);
	return 0;
}

static void console_notify(struct virtio_pci *vp, uint16_t n)
{
	if (n == VIRTIO_CONSOLE_TXQ)
		virtio_pci_serve(vp, n, tx_request, &to_con(vp)->chain);
	else
		deliver(to_con(vp));
}

/* cols, rows, max_nr_ports, emerg_wr: meaningful only with features keel-dm does not offer. */
static void console_config_read(struct virtio_pci *vp, uint32_t off, uint8_t *buf, uint32_t len)
{
	memset(buf, 0, len);
}

static const struct virtio_dev_ops console_ops = {
	.type = VIRTIO_ID_CONSOLE,
	.class_code = PCI_CLASS_COMM_OTHER,
	.nr_queues = 2,
	.queue_max = VIRTQ_MAX,
	.config_size = VIRTIO_CONSOLE_CFG_SIZE,
	.config_read = console_config_read,
	.notify = console_notify,
};

void virtio_console_init(struct virtio_console *con, const struct guest_mem *mem, const struct virtio_irq *irq,
			 virtio_output_fn output, void *opaque)
{
	virtio_pci_init(&con->vp, &console_ops, 0, mem, irq);
	con->output = output;
	con->opaque = opaque;
	con->in_head = con->in_len = 0;
}
