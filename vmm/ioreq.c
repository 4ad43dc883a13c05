/* SPDX-License-Identifier: MIT */
/*
 * I/O requests: a VM's claimed accesses served by the management VM's device model, and the
 * interrupts the device model sends into the VM (vmm/mgmt.h, vmm/ioreq.h, docs/mgmt.md; the
 * slot protocol is vmm/public/keel_hypercall.h's).
 *
 * The served VM's side. A claimed access cannot complete inside the exit handler: the handler's
 * k-th device-model access of the instruction takes the vCPU's log entry k when there is one,
 * else it publishes a request in the vCPU's slot, marks the vCPU waiting and the handler stops
 * without committing anything (exit_io.c, mmio.c and emul_mem.c check ioreq_waiting() after each
 * handler call). The run loop keeps the exit; the vCPU blocks until the slot is DONE (the device
 * model calls HC_IOREQ_NOTIFY when the slot says vcpu_blocked), takes the answer into the log
 * and handles the exit again before it enters the guest, so no interrupt comes in between. The
 * same instruction, fetched and decoded again, makes the same accesses; one that differs means
 * the guest changed its code or its page tables between the passes, and that VM ends.
 *
 * Locking: vm->ioreq.lock of the served VM guards its page pointer and claims; the page is only
 * touched under it, so DETACH or the management VM's end, which clear it under the lock, leave
 * no vCPU writing into a page the management VM may free. The upcall is raised under it (the
 * management VM cannot be freed meanwhile): it takes the management VM's vm->lock and vCPU
 * locks, and the scheduler's, never this one.
 */
#include "vmm/ioreq.h"

#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "vmm/exit.h"
#include "vmm/mgmt.h"
#include "vmm/platform.h"
#include "vmm/vcpu_run.h"
#include "vmm/vm_state.h"
#include "vmm/vmm.h"

#define REASON_MAX 64

_Static_assert(VM_MAX_VCPUS <= KEEL_VM_MAX_VCPUS, "a slot for every vCPU in struct keel_ioreq_page");

static u64 ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The device model broke the protocol: its VM ends (never the management VM). */
static void dm_broken(struct vm *vm, const char *why, u32 vcpu)
{
	char reason[VM_CRASH_MAX];

	ksnprintf(reason, sizeof(reason), "device model broke the I/O-request protocol: %s (vCPU %u's slot)", why,
		  vcpu);
	vm_kill(vm, reason);
}

/* The claim an access falls in (doorbells first), or -1. Under the lock. */
static int find_claim(const struct vm_ioreq *q, u32 type, u64 addr, unsigned size, bool write, u64 val, bool *doorbell)
{
	int wide = -1;

	*doorbell = false;
	for (u32 n = 0; n < KEEL_CLAIMS_MAX; n++) {
		const struct keel_claim *c = &q->claims[n].c;

		if (!(q->used >> n & 1) || c->type != type)
			continue;
		if (write && ioreq_doorbell_match(c, type, addr, size, val)) {
			*doorbell = true;
			return (int)n;
		}
		/* A function's claim covers its configuration space: addr's device and function. */
		if (type == KEEL_IOREQ_PCI_CFG ? ((addr >> 8) & 0xff) == c->base
					       : addr >= c->base && addr - c->base < c->size) {
			if (wide < 0)
				wide = (int)n;
		}
	}
	return wide;
}

/* Rings the management VM if its device model sleeps. A request (a vCPU waits for it) boosts
 * the vCPUs the upcall reaches; a doorbell does not: nobody waits, and on a shared CPU the boost
 * would make the guest that rang it wait for the device model's turn. Under the served VM's lock. */
static void wake_dm(struct vm_ioreq *q, bool boost)
{
	if (__atomic_exchange_n(&q->page->dm_sleeping, 0, __ATOMIC_SEQ_CST))
		platform_ctl_upcall(q->dm, KEEL_UPCALL_IOREQ, boost);
}

/*
 * One access the device model serves. Returns with *val set (reads) when it completed: from the
 * log, as a doorbell, or with all-ones when nobody serves the VM; else the vCPU waits.
 */
static void ioreq_access(struct vcpu *v, u32 type, u64 addr, unsigned size, bool write, u64 *val)
{
	struct vcpu_ioreq *r = &v->ioreq;
	struct vm_ioreq *q = &v->vm->ioreq;
	struct vcpu_ioreq_entry *e;
	struct keel_ioreq *slot;
	unsigned long flags;
	bool bell;
	u32 k;
	int n;

	if (r->waiting) { /* an earlier access of this pass waits: the handler is stopping */
		if (!write)
			*val = ones(size);
		return;
	}
	k = r->used++;
	if (k >= VCPU_IOREQ_LOG) {
		vm_crash(v->vm, "an instruction made more than %u device-model accesses", VCPU_IOREQ_LOG);
		r->waiting = true; /* stop the handler: nothing is committed */
		return;
	}
	e = &r->log[k];
	if (k < r->n_log) {
		if (e->type != type || e->addr != addr || e->size != size ||
		    e->dir != (write ? KEEL_IOREQ_WRITE : KEEL_IOREQ_READ)) {
			vm_crash(v->vm,
				 "the instruction at RIP %#llx changed while it waited for the device model (access %u "
				 "was type %u at %#llx, is type %u at %#llx)",
				 (unsigned long long)vcpu_ops->get(v, VREG_RIP), k, e->type,
				 (unsigned long long)e->addr, type, (unsigned long long)addr);
			r->waiting = true;
			return;
		}
		if (!write)
			*val = e->data;
		return;
	}
	*e = (struct vcpu_ioreq_entry){ .type = (u8)type,
					.addr = addr,
					.size = (u8)size,
					.dir = write ? KEEL_IOREQ_WRITE : KEEL_IOREQ_READ,
					.data = write ? *val & ones(size) : ones(size),
					.claim = ~0u };
	flags = spin_lock_irqsave(&q->lock);
	n = q->page ? find_claim(q, type, addr, size, write, *val & ones(size), &bell) : -1;
	if (n < 0) {
		/* Nobody serves it (detached, or unclaimed meanwhile): all-ones, writes dropped. */
		spin_unlock_irqrestore(&q->lock, flags);
		r->n_log = (u8)(k + 1);
		if (!write)
			*val = e->data;
		return;
	}
	e->claim = (u32)n;
	if (bell) {
		__atomic_fetch_or(&q->page->doorbells, 1ull << n, __ATOMIC_SEQ_CST);
		wake_dm(q, false);
		spin_unlock_irqrestore(&q->lock, flags);
		r->n_log = (u8)(k + 1);
		return;
	}
	slot = &q->page->slot[v->id];
	if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != KEEL_IOREQ_FREE) {
		spin_unlock_irqrestore(&q->lock, flags);
		dm_broken(v->vm, "a slot Keel needed was not FREE", v->id);
		r->waiting = true;
		return;
	}
	slot->type = type;
	slot->addr = addr;
	slot->data = write ? e->data : 0;
	slot->size = size;
	slot->dir = e->dir;
	slot->claim = (u32)n;
	slot->seq = ++r->seq;
	__atomic_store_n(&slot->vcpu_blocked, 0, __ATOMIC_RELAXED);
	/* Every field before the state (the device model reads it with acquire), and the state
	 * before dm_sleeping is read (its store to dm_sleeping precedes its last look at the slots). */
	__atomic_store_n(&slot->state, KEEL_IOREQ_PENDING, __ATOMIC_SEQ_CST);
	wake_dm(q, true);
	spin_unlock_irqrestore(&q->lock, flags);
	r->waiting = true;
	if (!write)
		*val = ones(size);
}

bool ioreq_ready_slow(struct vcpu *v)
{
	struct vcpu_ioreq *r = &v->ioreq;
	struct vm_ioreq *q = &v->vm->ioreq;
	struct vcpu_ioreq_entry *e = &r->log[r->n_log];
	struct keel_ioreq got, *slot;
	unsigned long flags;
	int st;

	if (!r->waiting)
		return true;
	flags = spin_lock_irqsave(&q->lock);
	if (!q->page) {
		/* Gone: the access completes as if nothing were there. */
		spin_unlock_irqrestore(&q->lock, flags);
		goto complete;
	}
	slot = &q->page->slot[v->id];
	if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == KEEL_IOREQ_PENDING) {
		/* Say it sleeps, then look once more: the device model sets DONE, then reads
		 * vcpu_blocked (and kicks with HC_IOREQ_NOTIFY); one of the two sees the other. */
		__atomic_store_n(&slot->vcpu_blocked, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&slot->state, __ATOMIC_SEQ_CST) == KEEL_IOREQ_PENDING) {
			spin_unlock_irqrestore(&q->lock, flags);
			return false;
		}
	}
	/* Each field read once, then checked. */
	got.state = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
	got.type = __atomic_load_n(&slot->type, __ATOMIC_RELAXED);
	got.addr = __atomic_load_n(&slot->addr, __ATOMIC_RELAXED);
	got.data = __atomic_load_n(&slot->data, __ATOMIC_RELAXED);
	got.size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
	got.dir = __atomic_load_n(&slot->dir, __ATOMIC_RELAXED);
	got.claim = __atomic_load_n(&slot->claim, __ATOMIC_RELAXED);
	got.seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
	st = ioreq_answer_check(&got, e, r->seq);
	if (!st) {
		__atomic_store_n(&slot->vcpu_blocked, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->state, KEEL_IOREQ_FREE, __ATOMIC_RELEASE);
		if (e->dir == KEEL_IOREQ_READ)
			e->data = got.data & ones(e->size);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (st)
		dm_broken(v->vm, "the answer's state, type, address, size, direction, claim or seq is wrong", v->id);
complete:
	r->waiting = false;
	r->n_log++;
	return true;
}

void ioreq_exit_done_slow(struct vcpu *v, const struct vm_exit *e)
{
	struct vcpu_ioreq *r = &v->ioreq;

	r->used = 0;
	if (r->waiting) {
		r->replay = true;
		if (e != &r->exit)
			r->exit = *e;
		return;
	}
	r->n_log = 0;
}

void ioreq_replay(struct vcpu *v)
{
	struct vcpu_ioreq *r = &v->ioreq;

	r->replay = false;
	/* Only these two reach a claimed access (the fast path never does: exit_fast.h). */
	if (r->exit.reason == EXIT_IO)
		handle_io(v, &r->exit);
	else if (r->exit.reason == EXIT_NPF)
		handle_npf(v, &r->exit);
	ioreq_exit_done_slow(v, &r->exit);
}

/* The handlers the exit path calls. */

static void ioreq_pio(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	u64 x = *val;

	ioreq_access(v, KEEL_IOREQ_PIO, port, size, !in, &x);
	if (in)
		*val = (u32)x;
}

static void ioreq_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	ioreq_access(v, KEEL_IOREQ_MMIO, gpa, size, write, val);
}

void ioreq_pci_cfg(struct vcpu *v, u32 addr, unsigned size, bool in, u32 *val)
{
	u64 x = *val;

	ioreq_access(v, KEEL_IOREQ_PCI_CFG, addr, size, !in, &x);
	if (in)
		*val = (u32)x;
}

const struct vm_mmio_handler *ioreq_mmio_find(const struct vm *vm, u64 gpa)
{
	const struct vm_ioreq *q = &vm->ioreq;

	if (!__atomic_load_n(&q->nr_mmio, __ATOMIC_ACQUIRE))
		return NULL;
	/* Unlocked: a claim's fields are written before its bit in `used`, and an entry is used
	 * again only after UNCLAIM (the device model's own race, which only its VM can see). */
	const struct vm_mmio_handler *bell = NULL;

	for (u32 n = 0; n < KEEL_CLAIMS_MAX; n++) {
		const struct vm_ioreq_claim *c = &q->claims[n];

		if (!(__atomic_load_n(&q->used, __ATOMIC_ACQUIRE) >> n & 1) || c->c.type != KEEL_IOREQ_MMIO ||
		    gpa - c->h.base >= c->h.size)
			continue;
		/* The wider claim around a doorbell bounds the access (ioreq_access finds the bell). */
		if (!(c->c.flags & KEEL_CLAIM_DOORBELL))
			return &c->h;
		bell = &c->h;
	}
	return bell;
}

/* The management hypercalls (0x110-0x11f). */

struct find {
	u32 id;
	struct vm *mgmt;
	int (*fn)(struct vm *vm, struct find *f);
	int ret;
	bool found;
	/* arguments */
	u64 a1, a2;
	const void *buf;
	struct keel_ioreq_page *page;
};

static void visit(struct vm *vm, void *arg)
{
	struct find *f = arg;

	if (vm->id != f->id || f->found)
		return;
	f->found = true;
	f->ret = f->fn(vm, f);
}

/* Runs fn on VM `id` under the VM list's lock (it cannot be freed meanwhile): -ENOENT if none. */
static s64 with_vm(struct vcpu *v, u64 id, int (*fn)(struct vm *, struct find *), struct find *f)
{
	if (id > 0xffffffffull)
		return -EINVAL;
	f->id = (u32)id;
	f->mgmt = v->vm;
	f->fn = fn;
	f->found = false;
	vmm_for_each_vm(visit, f);
	return f->found ? f->ret : -ENOENT;
}

/* Under q->lock: whether the calling management VM serves vm. */
static bool served_by(const struct vm *vm, const struct find *f)
{
	return vm->ioreq.page && vm->ioreq.dm == f->mgmt;
}

static int do_attach(struct vm *vm, struct find *f)
{
	struct vm_ioreq *q = &vm->ioreq;
	struct keel_ioreq_page *page = f->page;
	unsigned long flags;
	int ret = 0;

	if (vm == f->mgmt || vm->mgmt)
		return -EINVAL; /* its own vCPUs would wait for themselves */
	if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_DEAD)
		return -EINVAL;
	flags = spin_lock_irqsave(&q->lock);
	if (q->page) {
		ret = -EBUSY;
	} else if (!q->io_slot && vm->nr_io >= VM_MAX_IO_HANDLERS) {
		ret = -ENOSPC;
	} else {
		if (!q->io_slot) {
			/* One handler for every claimed port; io_map points claimed ports at it. */
			vm->io[vm->nr_io++] = (struct vm_io_handler){ .base = 0, .count = 0, .fn = ioreq_pio };
			q->io_slot = (u8)vm->nr_io;
		}
		memset(page, 0, sizeof(*page));
		page->version = KEEL_IOREQ_VERSION;
		page->vm_id = vm->id;
		page->nr_vcpus = vm->nr_vcpus;
		__atomic_store_n(&page->magic, KEEL_IOREQ_MAGIC, __ATOMIC_RELEASE);
		q->dm = f->mgmt;
		q->page = page;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (!ret)
		pr_info("vm %s: served by the device model of vm %s\n", vm->name, f->mgmt->name);
	return ret;
}

/* Under q->lock: the VM's own ports, MMIO and functions a claim may not cover. */
static int claim_fits_vm(struct vm *vm, const struct keel_claim *c, u8 *io_prev)
{
	struct vpci_windows w;
	u64 off, room;

	platform_pci_windows(vm, &w);
	*io_prev = 0;
	switch (c->type) {
	case KEEL_IOREQ_PIO: {
		bool in_window = c->base >= w.io_first && c->base + c->size - 1 <= w.io_last;

		/* Keel's own ports are refused; the PCI I/O window is for BARs (the claim wins, and
		 * the window's handler gets the ports back when no claim covers them). */
		if (in_window) {
			for (u32 i = 0; i < vm->nr_io; i++)
				if (vm->io[i].count && vm->io[i].base == w.io_first)
					*io_prev = (u8)(i + 1);
			return 0;
		}
		for (u64 p = c->base; p < c->base + c->size; p++)
			if (vm->io_map[p] && vm->io_map[p] != vm->ioreq.io_slot)
				return -EBUSY;
		return 0;
	}
	case KEEL_IOREQ_MMIO: {
		u64 last = c->base + c->size - 1;
		bool in32 = c->base >= w.mem32_first && last <= w.mem32_last;
		bool in64 = w.mem64_last && c->base >= w.mem64_first && last <= w.mem64_last;

		/* Over RAM: refused (RAM never exits). */
		if (vm_ram_offset(vm, c->base, &off, &room) || vm_ram_offset(vm, last, &off, &room) ||
		    (c->base < vm->low_ram) ||
		    (c->base < VM_HIGH_RAM && last >= VM_HIGH_RAM && vm->ram_size > vm->low_ram))
			return -EINVAL;
		if (in32 || in64)
			return 0;
		for (u32 i = 0; i < vm->nr_mmio; i++)
			if (c->base <= vm->mmio[i].base + vm->mmio[i].size - 1 && vm->mmio[i].base <= last)
				return -EBUSY; /* the local APIC, the I/O APIC, a window edge */
		return 0;
	}
	default: { /* KEEL_IOREQ_PCI_CFG */
		unsigned dev = (unsigned)(c->base >> 3), fn = (unsigned)(c->base & 7);
		unsigned long flags = spin_lock_irqsave(&vm->lock);
		bool keel = vm->pci.slot[dev][fn].ops != NULL;

		spin_unlock_irqrestore(&vm->lock, flags);
		return keel ? -EBUSY : 0;
	}
	}
}

static int do_claim(struct vm *vm, struct find *f)
{
	const struct keel_claim *c = f->buf;
	struct vm_ioreq *q = &vm->ioreq;
	unsigned long flags = spin_lock_irqsave(&q->lock);
	struct vm_ioreq_claim *slot;
	u8 io_prev = 0;
	int n, ret;

	if (!served_by(vm, f)) {
		ret = -ENOENT;
		goto out;
	}
	ret = ioreq_claim_check(c, q->claims, q->used);
	ret = ret ?: claim_fits_vm(vm, c, &io_prev);
	if (ret)
		goto out;
	if (!~q->used) {
		ret = -ENOSPC;
		goto out;
	}
	n = __builtin_ctzll(~q->used);
	slot = &q->claims[n];
	*slot = (struct vm_ioreq_claim){ .c = *c, .io_prev = io_prev };
	switch (c->type) {
	case KEEL_IOREQ_PIO:
		for (u64 p = c->base; p < c->base + c->size; p++)
			vm->io_map[p] = q->io_slot;
		break;
	case KEEL_IOREQ_MMIO:
		slot->h = (struct vm_mmio_handler){ .base = c->base, .size = c->size, .fn = ioreq_mmio };
		break;
	default:
		break;
	}
	__atomic_store_n(&q->used, q->used | 1ull << n, __ATOMIC_RELEASE);
	if (c->type == KEEL_IOREQ_MMIO)
		__atomic_add_fetch(&q->nr_mmio, 1, __ATOMIC_RELEASE);
	if (c->type == KEEL_IOREQ_PCI_CFG)
		__atomic_or_fetch(&q->pci_fns[c->base >> 3], (u8)(1u << (c->base & 7)), __ATOMIC_RELEASE);
	ret = n;
out:
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}

/* Under q->lock: claim n goes; ports no other claim covers get back their Keel handler. */
static void unclaim_locked(struct vm *vm, u32 n)
{
	struct vm_ioreq *q = &vm->ioreq;
	struct keel_claim c = q->claims[n].c;

	__atomic_store_n(&q->used, q->used & ~(1ull << n), __ATOMIC_RELEASE);
	if (c.type == KEEL_IOREQ_PIO) {
		for (u64 p = c.base; p < c.base + c.size; p++) {
			bool other = false;

			for (u32 m = 0; m < KEEL_CLAIMS_MAX && !other; m++)
				other = (q->used >> m & 1) && q->claims[m].c.type == KEEL_IOREQ_PIO &&
					p - q->claims[m].c.base < q->claims[m].c.size;
			if (!other)
				vm->io_map[p] = q->claims[n].io_prev;
		}
	} else if (c.type == KEEL_IOREQ_MMIO) {
		__atomic_sub_fetch(&q->nr_mmio, 1, __ATOMIC_RELEASE);
	} else {
		__atomic_and_fetch(&q->pci_fns[c.base >> 3], (u8) ~(1u << (c.base & 7)), __ATOMIC_RELEASE);
	}
}

static int do_unclaim(struct vm *vm, struct find *f)
{
	struct vm_ioreq *q = &vm->ioreq;
	unsigned long flags = spin_lock_irqsave(&q->lock);
	int ret = 0;

	if (!served_by(vm, f))
		ret = -ENOENT;
	else if (f->a1 >= KEEL_CLAIMS_MAX || !(q->used >> f->a1 & 1))
		ret = -EINVAL;
	else
		unclaim_locked(vm, (u32)f->a1);
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}

/* Whether the caller's device model serves vm now (taken under the server's lock). */
static bool serves(struct vm *vm, struct find *f)
{
	unsigned long flags = spin_lock_irqsave(&vm->ioreq.lock);
	bool ok = served_by(vm, f);

	spin_unlock_irqrestore(&vm->ioreq.lock, flags);
	return ok;
}

static int do_notify(struct vm *vm, struct find *f)
{
	if (!serves(vm, f))
		return -ENOENT;
	if (f->a1 >= vm->nr_vcpus)
		return -EINVAL;
	vcpu_kick(vm->vcpus[f->a1]);
	return 0;
}

/* Under q->lock: the device model stops serving vm; every claim goes, and vCPUs waiting on it
 * complete (all-ones) and see the VM's end. */
static void release_locked(struct vm *vm)
{
	struct vm_ioreq *q = &vm->ioreq;

	for (u32 n = 0; n < KEEL_CLAIMS_MAX; n++)
		if (q->used >> n & 1)
			unclaim_locked(vm, n);
	q->page = NULL;
	q->dm = NULL;
}

static int do_detach(struct vm *vm, struct find *f)
{
	struct vm_ioreq *q = &vm->ioreq;
	unsigned long flags = spin_lock_irqsave(&q->lock);
	bool ok = served_by(vm, f);

	if (ok)
		release_locked(vm);
	spin_unlock_irqrestore(&q->lock, flags);
	if (!ok)
		return -ENOENT;
	if (vm_kill(vm, (const char *)f->buf))
		pr_warn("vm %s: ended: %s\n", vm->name, (const char *)f->buf);
	return 0;
}

static int do_irq(struct vm *vm, struct find *f)
{
	const struct keel_irq *irqs = f->buf;

	if (!serves(vm, f))
		return -ENOENT;
	for (u32 i = 0; i < f->a2; i++) {
		if (irqs[i].kind == KEEL_IRQ_MSI)
			platform_msi(vm, irqs[i].addr, irqs[i].data, NULL);
		else
			platform_set_gsi(vm, irqs[i].gsi, irqs[i].kind == KEEL_IRQ_GSI_PULSE ? -1 : (int)irqs[i].level);
	}
	return (int)f->a2;
}

s64 ioreq_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2)
{
	struct find f = { .a1 = a1, .a2 = a2 };
	struct keel_claim claim;
	struct keel_irq irqs[KEEL_IRQ_BATCH_MAX];
	char reason[REASON_MAX + 32], given[REASON_MAX];
	int ret;

	switch (nr) {
	case HC_IOREQ_ATTACH:
		/* A page of the management VM's RAM, mapped once (one host block: page aligned). */
		if (a1 & (PAGE_SIZE - 1))
			return -EINVAL;
		f.page = gpa_map(v->vm, a1, PAGE_SIZE);
		if (!f.page)
			return -EFAULT;
		return with_vm(v, a0, do_attach, &f);
	case HC_IOREQ_CLAIM:
		if (gpa_read(v->vm, a1, &claim, sizeof(claim)))
			return -EFAULT;
		f.buf = &claim;
		return with_vm(v, a0, do_claim, &f);
	case HC_IOREQ_UNCLAIM:
		return with_vm(v, a0, do_unclaim, &f);
	case HC_IOREQ_NOTIFY:
		return with_vm(v, a0, do_notify, &f);
	case HC_IOREQ_DETACH:
		kstrlcpy(given, "its process ended", sizeof(given));
		if (a1) {
			if (gpa_read(v->vm, a1, given, sizeof(given) - 1))
				return -EFAULT;
			given[sizeof(given) - 1] = '\0';
			/* Printable ASCII only: it goes to Keel's console. */
			for (char *p = given; *p; p++)
				if (*p < 0x20 || *p > 0x7e)
					*p = '?';
		}
		ksnprintf(reason, sizeof(reason), "device model gone: %s", given);
		f.buf = reason;
		return with_vm(v, a0, do_detach, &f);
	case HC_IRQ_BATCH:
		if (a2 > KEEL_IRQ_BATCH_MAX)
			return -EINVAL;
		if (a2 && gpa_read(v->vm, a1, irqs, a2 * sizeof(irqs[0])))
			return -EFAULT;
		ret = ioreq_irq_check(irqs, (u32)a2);
		if (ret)
			return ret;
		f.buf = irqs;
		return with_vm(v, a0, do_irq, &f);
	default:
		return -ENOSYS;
	}
}

/* Under the VM list's lock: VMs the ended management VM served end too. */
static void mgmt_gone(struct vm *vm, void *arg)
{
	struct vm_ioreq *q = &vm->ioreq;
	unsigned long flags = spin_lock_irqsave(&q->lock);
	bool served = q->page && q->dm == arg;

	if (served)
		release_locked(vm);
	spin_unlock_irqrestore(&q->lock, flags);
	if (served && vm_kill(vm, "management VM ended: its device model is gone"))
		pr_warn("vm %s: ended with its device model's VM %s\n", vm->name, ((struct vm *)arg)->name);
}

void ioreq_vm_ending(struct vm *vm)
{
	struct vm_ioreq *q = &vm->ioreq;
	unsigned long flags = spin_lock_irqsave(&q->lock);

	/* Its own server (the page stays the management VM's to free). */
	if (q->page)
		release_locked(vm);
	spin_unlock_irqrestore(&q->lock, flags);
	if (vm->mgmt)
		vmm_for_each_vm(mgmt_gone, vm);
}
