/* SPDX-License-Identifier: MIT */
/*
 * Checks of what the device model hands Keel: claims, interrupt batches and the answers it
 * writes into request slots. Pure functions over copies (the caller read the shared memory once),
 * so that tests/unit/test_ioreq.c runs the code Keel runs.
 */
#include "vmm/ioreq.h"

static bool overlaps(u64 a, u64 an, u64 b, u64 bn)
{
	return a < b + bn && b < a + an;
}

static bool inside(u64 a, u64 an, u64 b, u64 bn)
{
	return a >= b && a - b <= bn && an <= bn - (a - b);
}

static bool valid_size(u64 size, u32 type)
{
	return size == 1 || size == 2 || size == 4 || (size == 8 && type == KEEL_IOREQ_MMIO);
}

int ioreq_claim_check(const struct keel_claim *c, const struct vm_ioreq_claim *claims, u64 used)
{
	bool bell = c->flags & KEEL_CLAIM_DOORBELL;

	if (c->flags & ~(KEEL_CLAIM_DOORBELL | KEEL_CLAIM_DATAMATCH))
		return -EINVAL;
	if ((c->flags & KEEL_CLAIM_DATAMATCH) && !bell)
		return -EINVAL;
	if (!(c->flags & KEEL_CLAIM_DATAMATCH) && c->data)
		return -EINVAL; /* a value with no meaning: refused rather than ignored */
	switch (c->type) {
	case KEEL_IOREQ_PIO:
		if (!c->size || c->size > 0x10000 || c->base >= 0x10000 || c->base + c->size > 0x10000)
			return -EINVAL;
		break;
	case KEEL_IOREQ_MMIO:
		/* Ranges are page aligned (they are the NPT's unit); a doorbell is one access. */
		/* (A doorbell's size is checked first: a zero size must not reach the modulo.) */
		if (bell ? !valid_size(c->size, c->type) || c->base % c->size != 0
			 : !c->size || c->size > IOREQ_MMIO_MAX || (c->base | c->size) & (PAGE_SIZE - 1))
			return -EINVAL;
		if (c->base >= IOREQ_MMIO_LIMIT || c->size > IOREQ_MMIO_LIMIT - c->base)
			return -EINVAL;
		break;
	case KEEL_IOREQ_PCI_CFG:
		if (bell || c->size != 1 || c->base >= 256)
			return -EINVAL; /* device << 3 | function, bus 0 */
		break;
	default:
		return -EINVAL;
	}
	if (bell && (!valid_size(c->size, c->type) ||
		     (c->flags & KEEL_CLAIM_DATAMATCH && c->size < 8 && c->data >> (8 * c->size))))
		return -EINVAL;
	for (u32 n = 0; n < KEEL_CLAIMS_MAX; n++) {
		const struct keel_claim *o = &claims[n].c;
		bool obell = o->flags & KEEL_CLAIM_DOORBELL;

		if (!(used >> n & 1) || o->type != c->type || !overlaps(c->base, c->size, o->base, o->size))
			continue;
		/* A doorbell inside a wider claim (or a wider claim around doorbells) is allowed. */
		if (bell && !obell && inside(c->base, c->size, o->base, o->size))
			continue;
		if (!bell && obell && inside(o->base, o->size, c->base, c->size))
			continue;
		return -EBUSY;
	}
	return 0;
}

int ioreq_irq_check(const struct keel_irq *irqs, u32 n)
{
	if (n > KEEL_IRQ_BATCH_MAX)
		return -EINVAL;
	for (u32 i = 0; i < n; i++) {
		const struct keel_irq *q = &irqs[i];

		switch (q->kind) {
		case KEEL_IRQ_MSI:
			/* An interrupt message: the local APICs' window (SDM vol. 3A §11.11.1). */
			if (q->gsi || q->level || (q->addr & ~0xffffffffull) || (q->addr >> 20) != 0xfee)
				return -EINVAL;
			break;
		case KEEL_IRQ_GSI_LEVEL:
			if (q->gsi >= 24 || q->level > 1 || q->data || q->addr)
				return -EINVAL;
			break;
		case KEEL_IRQ_GSI_PULSE:
			if (q->gsi >= 24 || q->level || q->data || q->addr)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int ioreq_answer_check(const struct keel_ioreq *got, const struct vcpu_ioreq_entry *req, u64 seq)
{
	if (got->state == KEEL_IOREQ_PENDING)
		return 1;
	if (got->state != KEEL_IOREQ_DONE)
		return -EINVAL;
	if (got->type != req->type || got->addr != req->addr || got->size != req->size || got->dir != req->dir ||
	    got->claim != req->claim || got->seq != seq)
		return -EINVAL;
	return 0;
}

bool ioreq_doorbell_match(const struct keel_claim *c, u32 type, u64 addr, unsigned size, u64 val)
{
	if (!(c->flags & KEEL_CLAIM_DOORBELL) || c->type != type || c->base != addr || c->size != size)
		return false;
	return !(c->flags & KEEL_CLAIM_DATAMATCH) || c->data == val;
}
