/* SPDX-License-Identifier: MIT */
/*
 * I/O requests to the management VM's device model (vmm/ioreq.c, docs/mgmt.md): the hooks the
 * exit path calls, and the pure checks of what the device model hands Keel (vmm/ioreq_check.c,
 * tested on the host by tests/unit/test_ioreq.c).
 */
#ifndef KEEL_VMM_IOREQ_H
#define KEEL_VMM_IOREQ_H

#include "vmm/vm.h"

/* The exit handler must stop now and commit nothing: an access of this pass waits for the
 * device model. Checked after every handler call that may reach a claimed access. */
static inline bool ioreq_waiting(const struct vcpu *v)
{
	return v->ioreq.waiting;
}

/* An access of this pass went to the device model: a string instruction stops after the element
 * (its registers then say where the next one starts), so each request is one element. */
static inline bool ioreq_served(const struct vcpu *v)
{
	return v->ioreq.used != 0;
}

/* The run loop, after each exit it handled (vmm/vcpu_run.c): saves the exit if it waits, else
 * forgets the accesses of the instruction. */
void ioreq_exit_done_slow(struct vcpu *v, const struct vm_exit *e);
static inline void ioreq_exit_done(struct vcpu *v, const struct vm_exit *e)
{
	if (v->ioreq.waiting || v->ioreq.used || v->ioreq.n_log)
		ioreq_exit_done_slow(v, e);
}
/* Whether v may enter: not waiting, or its answer has come (taken into the log) or the device
 * model is gone (all-ones). Sets the slot's vcpu_blocked when it must wait. */
bool ioreq_ready_slow(struct vcpu *v);
static inline bool ioreq_ready(struct vcpu *v)
{
	return !v->ioreq.waiting || ioreq_ready_slow(v);
}
/* The answer came: handles the saved exit again (before any interrupt is injected). */
void ioreq_replay(struct vcpu *v);

/* The claimed MMIO range that holds gpa, as a handler for the MMIO emulator, or NULL. */
const struct vm_mmio_handler *ioreq_mmio_find(const struct vm *vm, u64 gpa);
/* A configuration access (CF8/CFC) to a claimed function: addr as in struct keel_ioreq. */
void ioreq_pci_cfg(struct vcpu *v, u32 addr, unsigned size, bool in, u32 *val);
static inline bool ioreq_pci_claimed(const struct vm *vm, unsigned dev, unsigned fn)
{
	return dev < 32 && fn < 8 && (__atomic_load_n(&vm->ioreq.pci_fns[dev], __ATOMIC_RELAXED) >> fn) & 1;
}

/* Pure checks (vmm/ioreq_check.c). */
/* Limits of a claim: the highest MMIO address, the largest MMIO range. */
#define IOREQ_MMIO_LIMIT (1ull << 46)
#define IOREQ_MMIO_MAX	 (1ull << 36)
/*
 * A claim's own shape, and its overlaps with the VM's other claims (claims[n] for each bit n of
 * used): 0, -EINVAL (bad type, flags, size, alignment, range) or -EBUSY (overlaps a claim: only a
 * doorbell may lie inside a wider claim of the same type, and doorbells overlap no doorbell).
 */
int ioreq_claim_check(const struct keel_claim *c, const struct vm_ioreq_claim *claims, u64 used);
/* Every entry of an HC_IRQ_BATCH: 0 or -EINVAL. */
int ioreq_irq_check(const struct keel_irq *irqs, u32 n);
/*
 * The device model's answer in a slot, read once into *got, against the request Keel published
 * (*req, seq): 0 if state is DONE and type, addr, size, dir, claim and seq are what Keel wrote;
 * 1 if still PENDING; -EINVAL for anything else (garbage: the device model is broken).
 */
int ioreq_answer_check(const struct keel_ioreq *got, const struct vcpu_ioreq_entry *req, u64 seq);
/* Whether a write of (size, val) at addr rings doorbell claim c. */
bool ioreq_doorbell_match(const struct keel_claim *c, u32 type, u64 addr, unsigned size, u64 val);

#endif
