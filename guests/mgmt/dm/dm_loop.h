/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's main-loop core (docs/virtio.md): the served VM's virtio PCI functions, the claims
 * that bring their accesses here, and the interrupts they send. It knows libkeel only through
 * struct dm_ops, so the host unit tests (tests/unit/test_dm_loop.c) drive it with a fake.
 *
 * Claims (keel_hypercall.h's HC_IOREQ_CLAIM), per function:
 *   - its configuration space: KEEL_IOREQ_PCI_CFG, base = slot << 3 (function 0), from slot
 *     DM_FIRST_SLOT up (Keel keeps 00:00.0 and 00:02.0);
 *   - while BAR0 (I/O) decodes: one KEEL_CLAIM_DOORBELL per queue at BAR0 + 2n (size 2: Linux's
 *     iowrite16 of the queue index), whose bit in `doorbells` maps back to (function, queue),
 *     and one plain PIO claim over the whole BAR for everything else (the doorbells win inside);
 *   - while BAR2 (memory, 16 KiB, so page aligned) decodes: one MMIO claim over it.
 * The loop re-reads every BAR's decode address after each configuration write and moves the
 * claims with it. A function's worst case (nr_queues + 3 claims) is reserved when it is added,
 * so a re-claim never runs out of Keel's 64.
 *
 * Everything the guest sends is hostile: a request naming a claim that is not ours or of the
 * wrong kind, a bad size, an address outside the BAR claimed reads all-ones, and a write there
 * is dropped.
 */
#ifndef KEEL_DM_LOOP_H
#define KEEL_DM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_pci.h"
#include "vmm/public/keel_hypercall.h"

#define DM_MAX_DEVS   8
#define DM_FIRST_SLOT 3
/* docs/pci.md, vmm/acpi_gen.c: _PRT puts pin p (INTA = 0) of slot s on GSI 16 + (s + p) mod 8. */
#define DM_PCI_GSI_BASE 16
#define DM_PCI_NR_GSIS	8
#define DM_GSI(slot)	(DM_PCI_GSI_BASE + (slot) % DM_PCI_NR_GSIS)

/* The libkeel calls the loop makes (keel_io_claim, keel_io_unclaim, keel_io_irq in keel-dm).
 * Completing a request is keel_io_serve's: dm_loop_request returns the data. */
struct dm_ops {
	int (*claim)(void *opaque, const struct keel_claim *c); /* the claim's number, or -errno */
	int (*unclaim)(void *opaque, uint32_t number);
	int (*irq)(void *opaque, const struct keel_irq *irqs, uint32_t n); /* n delivered, or -errno */
};

enum dm_claim_kind { DM_CLAIM_NONE = 0, DM_CLAIM_CFG, DM_CLAIM_IO, DM_CLAIM_BELL, DM_CLAIM_MEM };

/* What claim number n is to us. */
struct dm_claim {
	uint8_t kind; /* enum dm_claim_kind */
	uint8_t dev;
	uint8_t queue; /* DM_CLAIM_BELL */
};

struct dm_loop;

struct dm_dev {
	struct dm_loop *loop;
	struct virtio_pci *vp;
	struct virtio_irq irq; /* the transport's copy (vp->irq) leads back here */
	uint8_t slot, gsi;
	bool intx;		    /* INTA# as the device last set it */
	uint64_t io_base, mem_base; /* what is claimed now; 0: nothing */
	int cfg_claim, io_claim, mem_claim;
	int bell_claim[VIRTIO_PCI_MAX_QUEUES];
};

struct dm_loop {
	const struct dm_ops *ops;
	void *opaque;
	struct dm_dev dev[DM_MAX_DEVS];
	unsigned int nr_devs;
	unsigned int reserved; /* claims set aside for the functions' worst case */
	struct dm_claim claim[KEEL_CLAIMS_MAX];
	struct keel_irq irqs[KEEL_IRQ_BATCH_MAX]; /* waiting for dm_loop_flush */
	unsigned int nr_irqs;
	int error; /* the first failed claim/irq call that was not the guest's doing (-ENOENT: VM gone) */
	/* Counters for the log and the tests. */
	unsigned long requests, bad_requests, doorbells, irq_calls, irqs_sent, claim_failures;
};

void dm_loop_init(struct dm_loop *l, const struct dm_ops *ops, void *opaque);
/* The interrupt routing the next device must be initialised with (virtio_*_init), then added. */
const struct virtio_irq *dm_loop_next_irq(struct dm_loop *l);
/* Adds the device initialised with dm_loop_next_irq at the next slot and claims its function:
 * 0, -ENOSPC (DM_MAX_DEVS, or its worst case does not fit Keel's KEEL_CLAIMS_MAX), -EINVAL (not
 * initialised with dm_loop_next_irq) or the claim's error. */
int dm_loop_add(struct dm_loop *l, struct virtio_pci *vp);
/* Brings every BAR claim in line with where the BARs decode now (after a configuration write). */
void dm_loop_sync(struct dm_loop *l);
/* keel_io_serve's callbacks (opaque: the loop): a request's answer, the doorbells. */
uint64_t dm_loop_request(void *opaque, uint32_t vcpu, const struct keel_ioreq *req);
void dm_loop_doorbell(void *opaque, uint64_t bits);
/* Sends the interrupts raised since the last flush in one ops->irq call: 0 or its error. */
int dm_loop_flush(struct dm_loop *l);
/* Gives back every claim (before a clean exit). */
void dm_loop_release(struct dm_loop *l);

#endif
