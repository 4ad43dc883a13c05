/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's main-loop core (guests/mgmt/dm/dm_loop.c) over a fake libkeel: the claims it makes
 * as the guest programs the BARs, how requests and doorbells reach the devices, how interrupts
 * leave in batches, and what hostile requests get.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dm_driver.h"
#include "guests/mgmt/dm/dm_loop.h"
#include "guests/mgmt/dm/virtio_devs.h"
#include "vmm/ioreq.h"

#define IO_BASE	 0xc000u
#define MEM_BASE 0xe0000000u

/* A fake libkeel: claims numbered as Keel numbers them (the lowest free) and checked by Keel's own
 * ioreq_claim_check against those held (flags, sizes, overlaps: a doorbell only inside a wider
 * claim), interrupt batches by Keel's ioreq_irq_check; the calls kept. */
struct fake {
	struct vm_ioreq_claim held[KEEL_CLAIMS_MAX];
	struct keel_claim c[KEEL_CLAIMS_MAX];
	uint64_t used;
	int fail_type; /* claims of this type + 1 without KEEL_CLAIM_DOORBELL fail with fail_ret (0: none) */
	int fail_ret, irq_ret;
	unsigned int claims, unclaims;
	unsigned int irq_calls, nr_irqs;
	struct keel_irq irqs[256];
	unsigned int irq_call_len[64];
};

static int fake_claim(void *opaque, const struct keel_claim *c)
{
	struct fake *f = opaque;
	int n;

	if (f->fail_type && (int)c->type + 1 == f->fail_type && !(c->flags & KEEL_CLAIM_DOORBELL))
		return f->fail_ret;
	assert_int_equal(ioreq_claim_check(c, f->held, f->used), 0);
	if (!~f->used)
		return -ENOSPC;
	n = __builtin_ctzll(~f->used);
	f->used |= 1ull << n;
	f->c[n] = *c;
	f->held[n].c = *c;
	f->claims++;
	return n;
}

static int fake_unclaim(void *opaque, uint32_t n)
{
	struct fake *f = opaque;

	assert_true(n < KEEL_CLAIMS_MAX && (f->used >> n & 1)); /* only its own, live claims */
	f->used &= ~(1ull << n);
	f->unclaims++;
	return 0;
}

static int fake_irq(void *opaque, const struct keel_irq *irqs, uint32_t n)
{
	struct fake *f = opaque;

	assert_true(n >= 1 && n <= KEEL_IRQ_BATCH_MAX);
	assert_int_equal(ioreq_irq_check(irqs, n), 0);
	if (f->irq_ret)
		return f->irq_ret;
	f->irq_call_len[f->irq_calls++ % 64] = n;
	for (uint32_t i = 0; i < n && f->nr_irqs < 256; i++)
		f->irqs[f->nr_irqs++] = irqs[i];
	return (int)n;
}

static const struct dm_ops fake_ops = { fake_claim, fake_unclaim, fake_irq };

/* The live claims matching type, flags and base: how many, the last one's number in *num. */
static int find_claim(const struct fake *f, uint32_t type, uint32_t flags, uint64_t base, uint64_t size, int *num)
{
	int found = 0;

	for (int n = 0; n < KEEL_CLAIMS_MAX; n++) {
		if (!(f->used >> n & 1) || f->c[n].type != type || f->c[n].flags != flags || f->c[n].base != base ||
		    f->c[n].size != size)
			continue;
		found++;
		if (num)
			*num = n;
	}
	return found;
}

static int live_claims(const struct fake *f)
{
	return __builtin_popcountll(f->used);
}

struct fix {
	struct fake fk;
	struct dm_loop l;
	struct drv d;
	struct virtio_rng rng[DM_MAX_DEVS];
	struct virtio_console con;
	uint8_t next;
};

static ssize_t counting_entropy(void *opaque, void *buf, size_t len)
{
	struct fix *f = opaque;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = f->next++;
	return (ssize_t)len;
}

/* nr_rng entropy devices (slots 3..), then a console if asked. */
static struct fix *start(unsigned int nr_rng, bool console)
{
	struct fix *f = calloc(1, sizeof(*f));

	drv_init(&f->d);
	dm_loop_init(&f->l, &fake_ops, &f->fk);
	for (unsigned int i = 0; i < nr_rng; i++) {
		virtio_rng_init(&f->rng[i], &f->d.mem, dm_loop_next_irq(&f->l), counting_entropy, f);
		assert_int_equal(dm_loop_add(&f->l, &f->rng[i].vp), 0);
	}
	if (console) {
		virtio_console_init(&f->con, &f->d.mem, dm_loop_next_irq(&f->l), NULL, NULL);
		assert_int_equal(dm_loop_add(&f->l, &f->con.vp), 0);
	}
	return f;
}

static void stop(struct fix *f)
{
	drv_free(&f->d);
	free(f);
}

static struct keel_ioreq req(uint32_t type, uint32_t dir, uint64_t addr, uint32_t size, uint64_t data, int claim)
{
	return (struct keel_ioreq){ .state = KEEL_IOREQ_PENDING,
				    .type = type,
				    .addr = addr,
				    .data = data,
				    .size = size,
				    .dir = dir,
				    .claim = (uint32_t)claim };
}

static int cfg_claim(struct fix *f, unsigned int slot)
{
	int n = -1;

	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PCI_CFG, 0, slot << 3, 1, &n), 1);
	return n;
}

/* A configuration cycle of the guest to 00:slot.0, through the function's claim. */
static uint64_t cfg_rd(struct fix *f, unsigned int slot, uint32_t reg, uint32_t size)
{
	struct keel_ioreq r = req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, slot << 11 | reg, size, 0, cfg_claim(f, slot));

	return dm_loop_request(&f->l, 0, &r);
}

static void cfg_wr(struct fix *f, unsigned int slot, uint32_t reg, uint32_t size, uint32_t val)
{
	struct keel_ioreq r =
	    req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_WRITE, slot << 11 | reg, size, val, cfg_claim(f, slot));

	assert_int_equal(dm_loop_request(&f->l, 0, &r), 0);
}

/* What Linux's PCI core does: BARs with decode off, then decode on. */
static void place_bars(struct fix *f, unsigned int slot, uint32_t io, uint32_t mem)
{
	cfg_wr(f, slot, PCI_COMMAND, 2, 0);
	cfg_wr(f, slot, PCI_BAR0, 4, io);
	cfg_wr(f, slot, PCI_BAR0 + 8, 4, mem);
	cfg_wr(f, slot, PCI_BAR0 + 12, 4, 0);
	cfg_wr(f, slot, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

static void test_claims_at_init(void **state)
{
	struct fix *f = start(2, true);

	(void)state;
	/* One configuration-space claim per function, slots 3, 4, 5; nothing else while the BARs
	 * do not decode. */
	assert_int_equal(live_claims(&f->fk), 3);
	for (unsigned int s = 3; s <= 5; s++)
		cfg_claim(f, s);
	assert_int_equal(f->l.dev[0].slot, 3);
	/* GSI 16 + (slot + INTA) mod 8 (docs/pci.md): 19, 20, 21; slot 8 wraps to 16. */
	assert_int_equal(f->l.dev[0].gsi, 19);
	assert_int_equal(f->l.dev[2].gsi, 21);
	assert_int_equal(DM_GSI(8), 16);
	assert_int_equal(DM_GSI(10), 18);
	dm_loop_release(&f->l);
	assert_int_equal(live_claims(&f->fk), 0);
	stop(f);
}

static void test_cfg_routed(void **state)
{
	struct fix *f = start(1, true);

	(void)state;
	assert_int_equal(cfg_rd(f, 3, PCI_VENDOR_ID, 4), 0x10441af4u); /* rng */
	assert_int_equal(cfg_rd(f, 4, PCI_VENDOR_ID, 4), 0x10431af4u); /* console */
	assert_int_equal(cfg_rd(f, 4, PCI_DEVICE_ID, 2), 0x1043);
	assert_int_equal(cfg_rd(f, 3, PCI_DEVICE_ID + 1, 1), 0x10);
	cfg_wr(f, 4, PCI_INT_LINE, 1, 0x5a);
	assert_int_equal(cfg_rd(f, 4, PCI_INT_LINE, 1), 0x5a);
	assert_int_equal(cfg_rd(f, 3, PCI_INT_LINE, 1), 0);
	assert_int_equal(virtio_pci_cfg_read(&f->con.vp, PCI_INT_LINE, 1), 0x5a);
	dm_loop_release(&f->l);
	stop(f);
}

static void test_bar_claims_follow_guest(void **state)
{
	struct fix *f = start(1, true);
	int n;

	(void)state;
	/* The BARs written with decode off: no claim yet. */
	cfg_wr(f, 4, PCI_BAR0, 4, IO_BASE);
	cfg_wr(f, 4, PCI_BAR0 + 8, 4, MEM_BASE);
	cfg_wr(f, 4, PCI_BAR0 + 12, 4, 0);
	assert_int_equal(live_claims(&f->fk), 2);
	/* Decode on: the console's two doorbells, BAR0 whole and BAR2. */
	cfg_wr(f, 4, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEMORY);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE, 2, &n), 1);
	assert_int_equal(f->l.claim[n].kind, DM_CLAIM_BELL);
	assert_int_equal(f->l.claim[n].queue, 0);
	assert_int_equal(f->l.claim[n].dev, 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE + 2, 2, &n), 1);
	assert_int_equal(f->l.claim[n].queue, 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, 0, IO_BASE, VIRTIO_PCI_NOTIFY_BAR_SIZE, NULL), 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, NULL), 1);
	assert_int_equal(live_claims(&f->fk), 6);

	/* BAR0 moves (decode stays on, as a guest may do): the old claims go, new ones come. */
	cfg_wr(f, 4, PCI_BAR0, 4, IO_BASE + 0x100);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE, 2, NULL), 0);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, 0, IO_BASE, VIRTIO_PCI_NOTIFY_BAR_SIZE, NULL), 0);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE + 0x102, 2, NULL), 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, 0, IO_BASE + 0x100, VIRTIO_PCI_NOTIFY_BAR_SIZE, NULL), 1);
	assert_int_equal(live_claims(&f->fk), 6);
	assert_int_equal(f->l.dev[1].io_base, IO_BASE + 0x100);

	/* BAR2's high half moves it above 4 GiB. */
	cfg_wr(f, 4, PCI_BAR0 + 12, 4, 0x8);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, NULL), 0);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, 0x8ull << 32 | MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, NULL),
			 1);

	/* Memory decode off: BAR2's claim goes, BAR0's stay; then all off. */
	cfg_wr(f, 4, PCI_COMMAND, 2, PCI_CMD_IO);
	assert_int_equal(live_claims(&f->fk), 5);
	assert_int_equal(f->l.dev[1].mem_base, 0);
	cfg_wr(f, 4, PCI_COMMAND, 2, 0);
	assert_int_equal(live_claims(&f->fk), 2);
	/* The rng at slot 3 never had any. */
	assert_int_equal(f->l.dev[0].io_base, 0);
	dm_loop_release(&f->l);
	assert_int_equal(live_claims(&f->fk), 0);
	assert_int_equal(f->fk.claims, f->fk.unclaims);
	stop(f);
}

/* The rng at slot 3 set up by the fake driver (MSI-X when msix), its BARs placed, a buffer of
 * 32 bytes posted; returns the doorbell's claim number. */
static int rng_ready(struct fix *f, unsigned int i, bool msix, uint64_t *buf)
{
	struct drv_buf b;
	int n = -1;

	place_bars(f, 3 + i, IO_BASE + 0x40 * i, MEM_BASE + 0x4000 * i);
	drv_attach(&f->d, &f->rng[i].vp);
	assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	if (msix)
		drv_enable_msix(&f->d);
	drv_setup_queue(&f->d, 0, 8, msix ? 0 : VIRTIO_MSI_NO_VECTOR);
	drv_driver_ok(&f->d);
	*buf = drv_alloc(&f->d, 32);
	b = (struct drv_buf){ *buf, 32, true };
	drv_add_chain(&f->d, &f->d.ring[0], &b, 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE + 0x40 * i, 2, &n), 1);
	return n;
}

static void test_doorbell_reaches_queue(void **state)
{
	struct fix *f = start(1, false);
	uint64_t buf;
	int bell = rng_ready(f, 0, true, &buf), cfg = cfg_claim(f, 3);
	uint32_t id, len;

	(void)state;
	/* Bits of claims that are not doorbells, or of no claim, do nothing. */
	dm_loop_doorbell(&f->l, 1ull << cfg | 1ull << 63);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 0);
	assert_int_equal(f->l.doorbells, 0);
	/* The doorbell's bit serves the queue: 32 bytes of entropy. */
	dm_loop_doorbell(&f->l, 1ull << bell);
	assert_int_equal(f->l.doorbells, 1);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 32);
	assert_int_equal(((uint8_t *)drv_ptr(&f->d, buf))[31], 31);
	/* Its MSI waits for the end of the pass. */
	assert_int_equal(f->fk.irq_calls, 0);
	assert_int_equal(dm_loop_flush(&f->l), 0);
	assert_int_equal(f->fk.irq_calls, 1);
	assert_int_equal(f->fk.irqs[0].kind, KEEL_IRQ_MSI);
	assert_int_equal(f->fk.irqs[0].addr, DRV_MSI_ADDR);
	assert_int_equal(f->fk.irqs[0].data, DRV_MSI_DATA(0));
	assert_int_equal(dm_loop_flush(&f->l), 0); /* nothing more: no call */
	assert_int_equal(f->fk.irq_calls, 1);
	dm_loop_release(&f->l);
	stop(f);
}

struct out {
	char buf[64];
	size_t len;
};

static void capture(void *opaque, const void *buf, size_t len)
{
	struct out *o = opaque;

	if (len <= sizeof(o->buf) - o->len) {
		memcpy(o->buf + o->len, buf, len);
		o->len += len;
	}
}

/* The console's second queue (transmitq0) has the second doorbell, BAR0 + 2. */
static void test_doorbell_picks_queue(void **state)
{
	struct fix *f = start(0, true);
	struct out o = { 0 };
	uint64_t msg;
	struct drv_buf b;
	int rx = -1, tx = -1;
	uint32_t id, len;

	(void)state;
	virtio_console_init(&f->con, &f->d.mem, &f->l.dev[0].irq, capture, &o);
	place_bars(f, 3, IO_BASE, MEM_BASE);
	drv_attach(&f->d, &f->con.vp);
	assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	drv_setup_queue(&f->d, VIRTIO_CONSOLE_RXQ, 8, VIRTIO_MSI_NO_VECTOR);
	drv_setup_queue(&f->d, VIRTIO_CONSOLE_TXQ, 8, VIRTIO_MSI_NO_VECTOR);
	drv_driver_ok(&f->d);
	msg = drv_alloc(&f->d, 8);
	memcpy(drv_ptr(&f->d, msg), "hi keel", 7);
	b = (struct drv_buf){ msg, 7, false };
	drv_add_chain(&f->d, &f->d.ring[VIRTIO_CONSOLE_TXQ], &b, 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE, 2, &rx), 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE + 2, 2, &tx), 1);
	dm_loop_doorbell(&f->l, 1ull << rx);
	assert_int_equal(o.len, 0);
	dm_loop_doorbell(&f->l, 1ull << tx);
	assert_int_equal(o.len, 7);
	assert_memory_equal(o.buf, "hi keel", 7);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[VIRTIO_CONSOLE_TXQ], &id, &len), 1);
	dm_loop_release(&f->l);
	stop(f);
}

static void test_irqs_batched(void **state)
{
	struct fix *f = start(3, false);
	struct drv drvs[3];
	uint64_t buf[3], bits = 0;
	uint32_t id, len;

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		struct drv_buf b;
		int n = -1;

		drv_init(&drvs[i]);
		/* Each device reads its own RAM: re-initialised over drvs[i]'s before set-up. */
		virtio_rng_init(&f->rng[i], &drvs[i].mem, &f->l.dev[i].irq, counting_entropy, f);
		place_bars(f, 3 + i, IO_BASE + 0x40 * i, MEM_BASE + 0x4000 * i);
		drv_attach(&drvs[i], &f->rng[i].vp);
		assert_true(drv_negotiate(&drvs[i], VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
		drv_enable_msix(&drvs[i]);
		drv_setup_queue(&drvs[i], 0, 8, 0);
		drv_driver_ok(&drvs[i]);
		buf[i] = drv_alloc(&drvs[i], 32);
		b = (struct drv_buf){ buf[i], 32, true };
		drv_add_chain(&drvs[i], &drvs[i].ring[0], &b, 1);
		assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, IO_BASE + 0x40 * i, 2, &n), 1);
		bits |= 1ull << n;
	}
	/* One pass's doorbells: three devices served, three MSIs in one call. */
	dm_loop_doorbell(&f->l, bits);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(drv_get_used(&drvs[i], &drvs[i].ring[0], &id, &len), 1);
	assert_int_equal(f->fk.irq_calls, 0);
	assert_int_equal(dm_loop_flush(&f->l), 0);
	assert_int_equal(f->fk.irq_calls, 1);
	assert_int_equal(f->fk.irq_call_len[0], 3);
	assert_int_equal(f->l.irqs_sent, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(f->fk.irqs[i].kind, KEEL_IRQ_MSI);
	/* A message the guest aimed outside the APICs' window is not sent (it would make Keel
	 * refuse the whole batch). */
	f->l.dev[0].irq.raise_msi(&f->l.dev[0], 0x12345000u, 0x41);
	assert_int_equal(f->l.nr_irqs, 0);
	/* More than a batch holds: split, none lost. */
	for (unsigned int i = 0; i < KEEL_IRQ_BATCH_MAX + 5; i++)
		f->l.dev[0].irq.raise_msi(&f->l.dev[0], DRV_MSI_ADDR, 0x41);
	assert_int_equal(dm_loop_flush(&f->l), 0);
	assert_int_equal(f->fk.irq_calls, 3);
	assert_int_equal(f->fk.irq_call_len[1], KEEL_IRQ_BATCH_MAX);
	assert_int_equal(f->fk.irq_call_len[2], 5);
	dm_loop_release(&f->l);
	for (unsigned int i = 0; i < 3; i++)
		drv_free(&drvs[i]);
	drv_free(&f->d);
	free(f);
}

static void test_intx(void **state)
{
	struct fix *f = start(1, false);
	uint64_t buf;
	int bell = rng_ready(f, 0, false, &buf);
	int mem = -1;
	struct keel_ioreq isr;

	(void)state;
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, &mem), 1);
	isr = req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE + VIRTIO_PCI_ISR_OFF, 1, 0, mem);
	dm_loop_doorbell(&f->l, 1ull << bell);
	assert_int_equal(dm_loop_flush(&f->l), 0);
	assert_int_equal(f->fk.irq_calls, 1);
	assert_int_equal(f->fk.irqs[0].kind, KEEL_IRQ_GSI_LEVEL);
	assert_int_equal(f->fk.irqs[0].gsi, 19);
	assert_int_equal(f->fk.irqs[0].level, 1);
	/* The driver reads the ISR: the line drops, sent before the read returns. */
	assert_int_equal(dm_loop_request(&f->l, 0, &isr), VIRTIO_PCI_ISR_QUEUE);
	assert_int_equal(f->fk.irq_calls, 2);
	assert_int_equal(f->fk.irqs[1].gsi, 19);
	assert_int_equal(f->fk.irqs[1].level, 0);
	assert_int_equal(dm_loop_request(&f->l, 0, &isr), 0);
	assert_int_equal(f->fk.irq_calls, 2);
	dm_loop_release(&f->l);
	stop(f);
}

static void test_hostile_requests(void **state)
{
	struct fix *f = start(1, false);
	uint64_t buf;
	int cfg, io = -1, mem = -1;
	struct keel_ioreq r;

	(void)state;
	rng_ready(f, 0, false, &buf);
	cfg = cfg_claim(f, 3);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, 0, IO_BASE, VIRTIO_PCI_NOTIFY_BAR_SIZE, &io), 1);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, &mem), 1);
	/* Good requests first, so the bad ones below can only fail for their badness. */
	r = req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE + VIRTIO_PCI_COMMON_NUMQ, 2, 0, mem);
	assert_int_equal(dm_loop_request(&f->l, 0, &r), 1);
	r = req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE + 2, 2, 0, io);
	assert_int_equal(f->l.bad_requests, 0);
	dm_loop_request(&f->l, 0, &r);
	assert_int_equal(f->l.bad_requests, 0);

	struct {
		struct keel_ioreq r;
		uint64_t expect;
	} bad[] = {
		/* claims that are not ours */
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 3 << 11, 4, 0, 63), 0xffffffffu },
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 3 << 11, 4, 0, 1000), 0xffffffffu },
		/* a claim of another kind */
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 3 << 11, 4, 0, io), 0xffffffffu },
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE, 4, 0, io), 0xffffffffu },
		{ req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE, 2, 0, mem), 0xffff },
		/* another function, another bus, a register straddling its dword, size 8 */
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 4 << 11, 4, 0, cfg), 0xffffffffu },
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 1 << 16 | 3 << 11, 4, 0, cfg), 0xffffffffu },
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 3 << 11 | 0xfe, 4, 0, cfg), 0xffffffffu },
		{ req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_READ, 3 << 11, 8, 0, cfg), ~0ull },
		/* odd sizes */
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE, 3, 0, mem), 0xffffff },
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE, 0, 0, mem), 0 },
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE, 16, 0, mem), ~0ull },
		{ req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE, 8, 0, io), ~0ull },
		/* outside the BAR claimed, or straddling its end */
		{ req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE + VIRTIO_PCI_NOTIFY_BAR_SIZE, 1, 0, io), 0xff },
		{ req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE - 1, 1, 0, io), 0xff },
		{ req(KEEL_IOREQ_PIO, KEEL_IOREQ_READ, IO_BASE + VIRTIO_PCI_NOTIFY_BAR_SIZE - 1, 2, 0, io), 0xffff },
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, MEM_BASE + VIRTIO_PCI_MEM_BAR_SIZE - 4, 8, 0, mem), ~0ull },
		{ req(KEEL_IOREQ_MMIO, KEEL_IOREQ_READ, 0, 4, 0, mem), 0xffffffffu },
		/* an unknown type or direction */
		{ req(7, KEEL_IOREQ_READ, MEM_BASE, 4, 0, mem), 0xffffffffu },
		{ req(KEEL_IOREQ_MMIO, 5, MEM_BASE, 4, 0, mem), 0 },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dm_loop_request(&f->l, 0, &bad[i].r), bad[i].expect);
		assert_int_equal(f->l.bad_requests, i + 1);
	}
	/* Writes of the same kinds are dropped: COMMAND through another function's cycle or the
	 * wrong claim does not turn decode off. */
	r = req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_WRITE, 4 << 11 | PCI_COMMAND, 2, 0, cfg);
	assert_int_equal(dm_loop_request(&f->l, 0, &r), 0);
	r = req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_WRITE, 3 << 11 | PCI_COMMAND, 2, 0, io);
	assert_int_equal(dm_loop_request(&f->l, 0, &r), 0);
	r = req(KEEL_IOREQ_PCI_CFG, KEEL_IOREQ_WRITE, 3 << 11 | PCI_COMMAND, 2, 0, 99);
	assert_int_equal(dm_loop_request(&f->l, 0, &r), 0);
	assert_int_equal(cfg_rd(f, 3, PCI_COMMAND, 2) & 3, PCI_CMD_IO | PCI_CMD_MEMORY);
	/* A status write through an MMIO claim at a wrong address does not reset the device. */
	r = req(KEEL_IOREQ_MMIO, KEEL_IOREQ_WRITE, MEM_BASE + VIRTIO_PCI_MEM_BAR_SIZE + VIRTIO_PCI_COMMON_STATUS, 1, 0,
		mem);
	dm_loop_request(&f->l, 0, &r);
	assert_true(f->rng[0].vp.status & VIRTIO_STATUS_DRIVER_OK);
	/* A claim's bad requests never sent an interrupt or changed a claim. */
	assert_int_equal(live_claims(&f->fk), 4);
	dm_loop_release(&f->l);
	stop(f);
}

static void test_budget_and_errors(void **state)
{
	static const struct virtio_dev_ops wide = {
		.type = VIRTIO_ID_RNG, .class_code = 0xff0000, .nr_queues = VIRTIO_PCI_MAX_QUEUES, .queue_max = 8
	};
	struct fix *f = start(0, false);
	struct virtio_pci vp[DM_MAX_DEVS], stray;
	unsigned int i, n;
	unsigned long failures;

	(void)state;
	/* Eleven claims' worst case each: five fit in 64, not a sixth. */
	for (i = 0; i < 5; i++) {
		virtio_pci_init(&vp[i], &wide, 0, &f->d.mem, dm_loop_next_irq(&f->l));
		assert_int_equal(dm_loop_add(&f->l, &vp[i]), 0);
	}
	assert_int_equal(f->l.reserved, 55);
	virtio_pci_init(&vp[i], &wide, 0, &f->d.mem, dm_loop_next_irq(&f->l));
	assert_int_equal(dm_loop_add(&f->l, &vp[i]), -ENOSPC);
	assert_int_equal(f->l.nr_devs, 5);
	assert_int_equal(live_claims(&f->fk), 5);
	/* A device not initialised with the loop's routing is refused. */
	virtio_pci_init(&stray, &wide, 0, &f->d.mem, &f->d.irq);
	assert_int_equal(dm_loop_add(&f->l, &stray), -EINVAL);
	dm_loop_release(&f->l);
	stop(f);

	/* DM_MAX_DEVS functions at most. */
	f = start(DM_MAX_DEVS, false);
	assert_int_equal(f->l.dev[DM_MAX_DEVS - 1].slot, DM_FIRST_SLOT + DM_MAX_DEVS - 1);
	virtio_pci_init(&stray, &wide, 0, &f->d.mem, dm_loop_next_irq(&f->l));
	assert_int_equal(dm_loop_add(&f->l, &stray), -ENOSPC);
	dm_loop_release(&f->l);
	stop(f);

	/* Keel refuses the BAR0 claim (a port range over its own devices): all or nothing, the
	 * doorbells claimed before it go too; BAR2 still gets its claim. */
	f = start(1, true);
	f->fk.fail_type = KEEL_IOREQ_PIO + 1;
	f->fk.fail_ret = -EBUSY;
	place_bars(f, 4, 0x60, MEM_BASE);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, 0x60, 2, NULL), 0);
	assert_int_equal(f->l.dev[1].io_base, 0);
	assert_int_equal(find_claim(&f->fk, KEEL_IOREQ_MMIO, 0, MEM_BASE, VIRTIO_PCI_MEM_BAR_SIZE, NULL), 1);
	assert_true(f->l.claim_failures > 0);
	assert_int_equal(f->l.error, 0); /* the guest's doing: not an error of the loop */
	/* BARs past what Keel can claim (ports above 0xffff, memory from 2^46): not even tried. */
	f->fk.fail_type = 0;
	n = f->fk.claims;
	failures = f->l.claim_failures;
	cfg_wr(f, 4, PCI_BAR0, 4, 0x1fff0);
	cfg_wr(f, 4, PCI_BAR0 + 12, 4, 0x4000);
	assert_int_equal(f->fk.claims, n);
	assert_int_equal(f->l.claim_failures, failures);
	assert_int_equal(f->l.dev[1].io_base, 0);
	assert_int_equal(f->l.dev[1].mem_base, 0);
	cfg_wr(f, 4, PCI_BAR0, 4, 0xfff0);
	assert_int_equal(f->l.dev[1].io_base, 0xfff0);
	f->fk.fail_type = KEEL_IOREQ_PIO + 1;
	/* The VM gone: the next libkeel call says -ENOENT and the loop records it. */
	f->fk.fail_ret = -ENOENT;
	cfg_wr(f, 4, PCI_BAR0, 4, 0x70);
	assert_int_equal(f->l.error, -ENOENT);
	f->fk.irq_ret = -ENOENT;
	f->l.error = 0;
	f->l.dev[0].irq.raise_msi(&f->l.dev[0], DRV_MSI_ADDR, 0x41);
	assert_int_equal(dm_loop_flush(&f->l), -ENOENT);
	assert_int_equal(f->l.error, -ENOENT);
	dm_loop_release(&f->l);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_at_init),
		cmocka_unit_test(test_cfg_routed),
		cmocka_unit_test(test_bar_claims_follow_guest),
		cmocka_unit_test(test_doorbell_reaches_queue),
		cmocka_unit_test(test_doorbell_picks_queue),
		cmocka_unit_test(test_irqs_batched),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_hostile_requests),
		cmocka_unit_test(test_budget_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
