// SPDX-License-Identifier: MIT
/* keel-dm: the main-loop core (dm_loop.h): claims, request routing, doorbells, interrupts. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dm_loop.h"

/* Where a BAR can be claimed at all (docs/mgmt.md, "Claims"): x86 has 64 Ki ports, though an I/O
 * BAR holds 32 bits, and Keel takes MMIO claims below 2^46. A BAR placed past them reaches
 * nothing, and is not worth a hypercall Keel would refuse. */
#define DM_PORT_LIMIT 0x10000ull
#define DM_MMIO_LIMIT (1ull << 46)

static uint64_t size_mask(uint32_t size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* An error of a libkeel call: the guest cannot cause -ENOENT (no such VM, or not served by us
 * any more): that one means the VM is gone and the main loop ends. */
static void note_error(struct dm_loop *l, int ret)
{
	if (ret == -ENOENT && !l->error)
		l->error = ret;
}

static int claim(struct dm_loop *l, unsigned int dev, enum dm_claim_kind kind, unsigned int queue,
		 const struct keel_claim *c)
{
	int n = l->ops->claim(l->opaque, c);

	if (n < 0) {
		note_error(l, n);
		l->claim_failures++;
		return n;
	}
	if (n >= KEEL_CLAIMS_MAX) { /* not a number Keel gives: never use it */
		l->ops->unclaim(l->opaque, (uint32_t)n);
		l->claim_failures++;
		return -EINVAL;
	}
	l->claim[n] = (struct dm_claim){ .kind = (uint8_t)kind, .dev = (uint8_t)dev, .queue = (uint8_t)queue };
	return n;
}

static void unclaim(struct dm_loop *l, int *n)
{
	if (*n < 0)
		return;
	note_error(l, l->ops->unclaim(l->opaque, (uint32_t)*n));
	l->claim[*n] = (struct dm_claim){ 0 };
	*n = -1;
}

static void drop_io(struct dm_loop *l, struct dm_dev *d)
{
	for (unsigned int q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		unclaim(l, &d->bell_claim[q]);
	unclaim(l, &d->io_claim);
	d->io_base = 0;
}

/* BAR0: a doorbell per queue (§4.1.4.4: queue n notifies at BAR0 + n * notify_off_multiplier),
 * then the whole BAR for other accesses; all or nothing. A base Keel refuses (over its own
 * ports, past 0xffff) stays unclaimed: the guest's BAR then reaches nothing, as on a bus where
 * it collides. It is tried again at the next configuration write. */
static void sync_io(struct dm_loop *l, struct dm_dev *d)
{
	unsigned int i = (unsigned int)(d - l->dev);
	uint64_t base = virtio_pci_bar_base(d->vp, VIRTIO_PCI_NOTIFY_BAR);
	struct keel_claim c = { .type = KEEL_IOREQ_PIO, .base = base, .size = VIRTIO_PCI_NOTIFY_BAR_SIZE };

	if (base == d->io_base)
		return;
	drop_io(l, d);
	if (!base || base > DM_PORT_LIMIT - VIRTIO_PCI_NOTIFY_BAR_SIZE)
		return;
	for (unsigned int q = 0; q < d->vp->ops->nr_queues; q++) {
		struct keel_claim b = { .type = KEEL_IOREQ_PIO,
					.flags = KEEL_CLAIM_DOORBELL,
					.base = base + VIRTIO_PCI_NOTIFY_MULT * q,
					.size = 2 };

		d->bell_claim[q] = claim(l, i, DM_CLAIM_BELL, q, &b);
		if (d->bell_claim[q] < 0) {
			drop_io(l, d);
			return;
		}
	}
	d->io_claim = claim(l, i, DM_CLAIM_IO, 0, &c);
	if (d->io_claim < 0) {
		drop_io(l, d);
		return;
	}
	d->io_base = base;
}

static void sync_mem(struct dm_loop *l, struct dm_dev *d)
{
	uint64_t base = virtio_pci_bar_base(d->vp, VIRTIO_PCI_MEM_BAR);
	struct keel_claim c = { .type = KEEL_IOREQ_MMIO, .base = base, .size = VIRTIO_PCI_MEM_BAR_SIZE };

	if (base == d->mem_base)
		return;
	unclaim(l, &d->mem_claim);
	d->mem_base = 0;
	if (!base || base > DM_MMIO_LIMIT - VIRTIO_PCI_MEM_BAR_SIZE)
		return;
	d->mem_claim = claim(l, (unsigned int)(d - l->dev), DM_CLAIM_MEM, 0, &c);
	if (d->mem_claim >= 0)
		d->mem_base = base;
}

void dm_loop_sync(struct dm_loop *l)
{
	for (unsigned int i = 0; i < l->nr_devs; i++) {
		sync_io(l, &l->dev[i]);
		sync_mem(l, &l->dev[i]);
	}
}

/* Interrupts. */

static void queue_irq(struct dm_loop *l, const struct keel_irq *q)
{
	if (l->nr_irqs == KEEL_IRQ_BATCH_MAX)
		dm_loop_flush(l);
	l->irqs[l->nr_irqs++] = *q;
}

int dm_loop_flush(struct dm_loop *l)
{
	int ret;

	if (!l->nr_irqs)
		return 0;
	ret = l->ops->irq(l->opaque, l->irqs, l->nr_irqs);
	l->irq_calls++;
	if (ret > 0)
		l->irqs_sent += (unsigned long)ret;
	l->nr_irqs = 0;
	note_error(l, ret);
	return ret < 0 ? ret : 0;
}

static void raise_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct dm_dev *d = opaque;
	struct keel_irq q = { .kind = KEEL_IRQ_MSI, .addr = addr, .data = data };

	/* Keel checks a batch whole and refuses all of it for one bad entry: a message the guest
	 * pointed outside the local APICs' window (SDM vol. 3A §11.11.1) goes nowhere, as the
	 * write of a real device would reach no APIC, and must not take other interrupts with it. */
	if (addr >> 20 != 0xfee)
		return;
	queue_irq(d->loop, &q);
}

/* A GSI is the wired OR of the functions on it (slots 8 apart share one). */
static bool gsi_level(const struct dm_loop *l, unsigned int gsi)
{
	for (unsigned int i = 0; i < l->nr_devs; i++)
		if (l->dev[i].gsi == gsi && l->dev[i].intx)
			return true;
	return false;
}

static void set_intx(void *opaque, int level)
{
	struct dm_dev *d = opaque;
	struct dm_loop *l = d->loop;
	bool old = gsi_level(l, d->gsi);

	d->intx = level != 0;
	if (gsi_level(l, d->gsi) == old)
		return;
	queue_irq(l, &(struct keel_irq){ .kind = KEEL_IRQ_GSI_LEVEL, .gsi = d->gsi, .level = !old });
	/* A deassert (the driver read the ISR) goes out before that read completes: the driver
	 * then EOIs the level-triggered pin, and a line still high would interrupt it again for
	 * nothing (Linux counts such interrupts and disables a line that has too many). */
	if (old)
		dm_loop_flush(l);
}

/* Set-up. */

void dm_loop_init(struct dm_loop *l, const struct dm_ops *ops, void *opaque)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	l->opaque = opaque;
	for (unsigned int i = 0; i < DM_MAX_DEVS; i++) {
		struct dm_dev *d = &l->dev[i];

		d->loop = l;
		d->slot = (uint8_t)(DM_FIRST_SLOT + i);
		d->gsi = (uint8_t)DM_GSI(d->slot);
		d->irq = (struct virtio_irq){ raise_msi, set_intx, d };
		d->cfg_claim = d->io_claim = d->mem_claim = -1;
		for (unsigned int q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
			d->bell_claim[q] = -1;
	}
}

const struct virtio_irq *dm_loop_next_irq(struct dm_loop *l)
{
	unsigned int i = l->nr_devs < DM_MAX_DEVS ? l->nr_devs : DM_MAX_DEVS - 1;

	return &l->dev[i].irq;
}

int dm_loop_add(struct dm_loop *l, struct virtio_pci *vp)
{
	unsigned int i = l->nr_devs, need;
	struct dm_dev *d;
	struct keel_claim c = { .type = KEEL_IOREQ_PCI_CFG, .size = 1 };

	if (i >= DM_MAX_DEVS)
		return -ENOSPC;
	d = &l->dev[i];
	if (vp->irq.opaque != d || vp->irq.raise_msi != raise_msi || vp->ops->nr_queues > VIRTIO_PCI_MAX_QUEUES)
		return -EINVAL;
	need = vp->ops->nr_queues + 3u; /* configuration, doorbells, BAR0, BAR2 */
	if (l->reserved + need > KEEL_CLAIMS_MAX)
		return -ENOSPC;
	d->vp = vp;
	c.base = (uint64_t)d->slot << 3;
	d->cfg_claim = claim(l, i, DM_CLAIM_CFG, 0, &c);
	if (d->cfg_claim < 0) {
		int ret = d->cfg_claim;

		d->vp = NULL;
		d->cfg_claim = -1;
		return ret;
	}
	l->reserved += need;
	l->nr_devs++;
	dm_loop_sync(l);
	return 0;
}

void dm_loop_release(struct dm_loop *l)
{
	for (unsigned int i = 0; i < l->nr_devs; i++) {
		struct dm_dev *d = &l->dev[i];

		drop_io(l, d);
		unclaim(l, &d->mem_claim);
		d->mem_base = 0;
		unclaim(l, &d->cfg_claim);
	}
}

/* Requests. */

/* A configuration cycle (addr = bus << 16 | device << 11 | function << 8 | register). */
static uint64_t cfg_access(struct dm_loop *l, struct dm_dev *d, const struct keel_ioreq *r, bool *ok)
{
	uint32_t reg = (uint32_t)(r->addr & 0xff), devfn = (uint32_t)(r->addr >> 8 & 0xff);

	if (r->addr >> 16 || devfn != (uint32_t)d->slot << 3 || r->size > 4 || (reg & 3) + r->size > 4)
		return ~0ull;
	*ok = true;
	if (r->dir == KEEL_IOREQ_READ)
		return virtio_pci_cfg_read(d->vp, reg, r->size);
	virtio_pci_cfg_write(d->vp, reg, r->size, (uint32_t)(r->data & size_mask(r->size)));
	/* COMMAND and the BARs are written here: the claims follow them at once, before the
	 * write completes and the guest can touch the new address. */
	dm_loop_sync(l);
	return 0;
}

/* An access to BAR bar, claimed at base for size bytes. */
static uint64_t bar_access(struct dm_dev *d, unsigned int bar, uint64_t base, uint64_t size, const struct keel_ioreq *r,
			   bool *ok)
{
	uint64_t off = r->addr - base;

	if (!base || r->addr < base || off >= size || r->size > size - off)
		return ~0ull;
	*ok = true;
	if (r->dir == KEEL_IOREQ_READ)
		return virtio_pci_bar_read(d->vp, bar, off, r->size);
	virtio_pci_bar_write(d->vp, bar, off, r->size, r->data & size_mask(r->size));
	return 0;
}

uint64_t dm_loop_request(void *opaque, uint32_t vcpu, const struct keel_ioreq *r)
{
	struct dm_loop *l = opaque;
	const struct dm_claim *c = r->claim < KEEL_CLAIMS_MAX ? &l->claim[r->claim] : NULL;
	struct dm_dev *d = c && c->kind != DM_CLAIM_NONE && c->dev < l->nr_devs ? &l->dev[c->dev] : NULL;
	bool ok = false;
	uint64_t val = ~0ull;

	(void)vcpu;
	l->requests++;
	if (!d || (r->size != 1 && r->size != 2 && r->size != 4 && r->size != 8) ||
	    (r->dir != KEEL_IOREQ_READ && r->dir != KEEL_IOREQ_WRITE))
		goto out;
	switch (r->type) {
	case KEEL_IOREQ_PCI_CFG:
		if (c->kind == DM_CLAIM_CFG)
			val = cfg_access(l, d, r, &ok);
		break;
	case KEEL_IOREQ_PIO:
		/* A doorbell port read, or written with another size, comes as a plain request. */
		if ((c->kind == DM_CLAIM_IO || c->kind == DM_CLAIM_BELL) && r->size <= 4)
			val = bar_access(d, VIRTIO_PCI_NOTIFY_BAR, d->io_base, VIRTIO_PCI_NOTIFY_BAR_SIZE, r, &ok);
		break;
	case KEEL_IOREQ_MMIO:
		if (c->kind == DM_CLAIM_MEM)
			val = bar_access(d, VIRTIO_PCI_MEM_BAR, d->mem_base, VIRTIO_PCI_MEM_BAR_SIZE, r, &ok);
		break;
	default:
		break;
	}
out:
	if (!ok) {
		l->bad_requests++;
		val = ~0ull;
	}
	return r->dir == KEEL_IOREQ_READ ? val & size_mask(r->size) : 0;
}

void dm_loop_doorbell(void *opaque, uint64_t bits)
{
	struct dm_loop *l = opaque;

	while (bits) {
		unsigned int n = (unsigned int)__builtin_ctzll(bits);
		const struct dm_claim *c = &l->claim[n];

		bits &= bits - 1;
		/* A bit of a claim since moved (a BAR reprogrammed) may name another one now: a
		 * spurious notification is harmless (the device finds no new buffers). */
		if (c->kind == DM_CLAIM_BELL && c->dev < l->nr_devs) {
			l->doorbells++;
			virtio_pci_notify(l->dev[c->dev].vp, c->queue);
		}
	}
}
