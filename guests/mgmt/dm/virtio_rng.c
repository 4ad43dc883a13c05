// SPDX-License-Identifier: MIT
/* keel-dm: virtio entropy device (virtio 1.2 §5.4): one request queue; each buffer the driver
 * posts is filled with random bytes from the source. No device features. */
#include <errno.h>
#include <sys/random.h>

#include "virtio_devs.h"

#define PCI_CLASS_OTHER 0xff0000 /* QEMU's class for virtio-rng */

static uint32_t rng_request(struct virtio_pci *vp, const struct virtq_chain *c)
{
	struct virtio_rng *r = (struct virtio_rng *)vp;
	uint32_t done = 0;

	for (unsigned int i = c->nr_rd; i < (unsigned int)c->nr_rd + c->nr_wr; i++) {
		ssize_t n = r->entropy(r->opaque, c->seg[i].addr, c->seg[i].len);

		if (n > 0)
			done += (uint32_t)n;
		if (n != (ssize_t)c->seg[i].len)
			break; /* the source ran short: what there is */
	}
	return done;
}

static void rng_notify(struct virtio_pci *vp, uint16_t n)
{
	virtio_pci_serve(vp, n, rng_request, &((struct virtio_rng *)vp)->chain);
}

static const struct virtio_dev_ops rng_ops = {
	.type = VIRTIO_ID_RNG,
	.class_code = PCI_CLASS_OTHER,
	.nr_queues = 1,
	.queue_max = VIRTQ_MAX,
	.notify = rng_notify,
};

void virtio_rng_init(struct virtio_rng *r, const struct guest_mem *mem, const struct virtio_irq *irq,
		     virtio_entropy_fn entropy, void *opaque)
{
	virtio_pci_init(&r->vp, &rng_ops, 0, mem, irq);
	r->entropy = entropy;
	r->opaque = opaque;
}

ssize_t virtio_rng_getrandom(void *opaque, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0 && errno != EINTR)
			return done ? (ssize_t)done : -errno;
		if (n > 0)
			done += (size_t)n;
	}
	return (ssize_t)done;
}
