/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: keel-dm's request dispatch (guests/mgmt/dm/dm_loop.c). An rng and a console
 * are served by a loop over a fake libkeel that grants every claim; the input is a string of
 * requests as Keel would hand them over (any type, direction, size, claim number and address,
 * near the function's slot and BARs or anywhere), and doorbell sets. Configuration writes move
 * the BARs and the claims with them; the sanitizers must never fire, and the fake checks that
 * the loop never unclaims what it does not hold, never sends an empty or oversized batch and
 * holds no claim once released.
 *
 * Input: records of 16 bytes: [0] type (% 4: PIO, MMIO, PCI_CFG, doorbells), [1] direction,
 * [2] size, [3] claim number (0xff: the claim of the right kind, found), [4..7] address or
 * offset, [8..15] data (doorbells: the bits).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/dm_driver.h"
#include "guests/mgmt/dm/dm_loop.h"
#include "guests/mgmt/dm/virtio_devs.h"
#include "vmm/ioreq.h"

#define RAM_SIZE 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keel_claim claims[KEEL_CLAIMS_MAX];
static struct vm_ioreq_claim held[KEEL_CLAIMS_MAX];
static uint64_t used;

static int fake_claim(void *opaque, const struct keel_claim *c)
{
	int n;

	/* The loop's budget keeps it within 64; Keel's own check would take every claim it makes
	 * (two BARs placed over each other are refused by Keel's overlap check: let that through). */
	if (!~used)
		abort();
	n = ioreq_claim_check(c, held, used);
	if (n == -EBUSY)
		return n;
	if (n)
		abort();
	n = __builtin_ctzll(~used);
	used |= 1ull << n;
	claims[n] = *c;
	held[n].c = *c;
	return n;
}

static int fake_unclaim(void *opaque, uint32_t n)
{
	if (n >= KEEL_CLAIMS_MAX || !(used >> n & 1))
		abort();
	used &= ~(1ull << n);
	return 0;
}

static int fake_irq(void *opaque, const struct keel_irq *irqs, uint32_t n)
{
	if (n < 1 || n > KEEL_IRQ_BATCH_MAX)
		abort();
	if (ioreq_irq_check(irqs, n))
		abort(); /* Keel would refuse the batch */
	for (uint32_t i = 0; i < n; i++)
		if (irqs[i].kind != KEEL_IRQ_MSI && (irqs[i].gsi < 16 || irqs[i].gsi > 23))
			abort(); /* PCI INTx are GSIs 16-23 */
	return (int)n;
}

static const struct dm_ops ops = { fake_claim, fake_unclaim, fake_irq };

static ssize_t entropy(void *opaque, void *buf, size_t len)
{
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

static void output(void *opaque, const void *buf, size_t len)
{
}

/* The first live claim of that type (and doorbell or not): its number, or 0xff. */
static uint32_t find(uint32_t type, bool bell)
{
	for (uint32_t n = 0; n < KEEL_CLAIMS_MAX; n++)
		if ((used >> n & 1) && claims[n].type == type && !!(claims[n].flags & KEEL_CLAIM_DOORBELL) == bell)
			return n;
	return 0xff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct virtio_rng rng;
	static struct virtio_console con;
	static struct dm_loop l;
	struct guest_mem mem;

	if (!ram && !(ram = aligned_alloc(4096, RAM_SIZE)))
		abort();
	memset(ram, 0, RAM_SIZE);
	guest_mem_init(&mem, ram, RAM_SIZE);
	used = 0;
	dm_loop_init(&l, &ops, NULL);
	virtio_rng_init(&rng, &mem, dm_loop_next_irq(&l), entropy, NULL);
	if (dm_loop_add(&l, &rng.vp))
		abort();
	virtio_console_init(&con, &mem, dm_loop_next_irq(&l), output, NULL);
	if (dm_loop_add(&l, &con.vp))
		abort();
	for (size_t off = 0; off + 16 <= size; off += 16) {
		const uint8_t *r = data + off;
		uint32_t a, type = r[0] % 4;
		uint64_t v;
		struct keel_ioreq q;

		memcpy(&a, r + 4, 4);
		memcpy(&v, r + 8, 8);
		if (type == 3) {
			dm_loop_doorbell(&l, v);
			dm_loop_flush(&l);
			continue;
		}
		q = (struct keel_ioreq){ .state = KEEL_IOREQ_PENDING,
					 .type = type,
					 .dir = r[1] & 3,
					 .size = r[2],
					 .claim = r[3],
					 .data = v };
		if (r[3] == 0xff) /* aim at the claim of the right kind: reach the devices */
			q.claim = find(type == 2 ? KEEL_IOREQ_PCI_CFG : type, false);
		/* Addresses near what the claim covers, else as given. */
		if (q.claim < KEEL_CLAIMS_MAX && (used >> q.claim & 1) && (r[1] & 4))
			q.addr =
			    type == 2 ? (claims[q.claim].base << 8 | (a & 0xff)) : claims[q.claim].base + (a & 0x7fff);
		else
			q.addr = a;
		dm_loop_request(&l, 0, &q);
		if (r[1] & 8)
			dm_loop_flush(&l);
	}
	dm_loop_flush(&l);
	dm_loop_release(&l);
	if (used)
		abort();
	return 0;
}
