/* SPDX-License-Identifier: MIT */
/*
 * The memory window: a VM's RAM mapped whole into the management VM's address space, inside the
 * control function's BAR2 (vmm/dev/keelctl.h), so that its device model reaches the VM's memory
 * with plain loads and stores and no exit (docs/mgmt.md, "The memory window").
 *
 * HC_WINDOW_MAP(id, gpa): VM id's RAM offsets 0..ram_size appear at gpa.. in the management VM's
 * nested page tables, contiguous (the hole below 4 GiB is not reproduced), with 1 GiB and 2 MiB
 * pages where the VM's host blocks allow. gpa is 1 GiB aligned, and the window, rounded up to
 * whole GiBs, lies inside BAR2 where the management VM placed it (memory decoding on) and inside
 * the root bridge's 64-bit window, so it can never cover the management VM's own RAM or devices;
 * windows do not overlap, a VM has at most one, and the management VM has none onto itself. The
 * rest of BAR2 stays as it was: reads 0, writes dropped. A window stays where it was mapped if the
 * guest moves BAR2 later (keel.ko never does while it is bound).
 *
 * Taking a window away, in this order: its entries leave the management VM's nested page tables;
 * every management vCPU has flushed its nested TLB or is out of guest mode and flushes before it
 * enters (vm_tlb_flush_sync); only then are the page-table pages freed, and, when the VM itself
 * goes (window_vm_freeing, right before vm_destroy), its RAM. keel.ko revoked its user mappings
 * before it asked (HC_WINDOW_UNMAP, or before HC_VM_DESTROY).
 *
 * Locking: win.lock guards the table and every change to the management VM's nested page tables
 * made here; it is taken inside the VM list lock (vmm_for_each_vm) when mapping, so a VM found in
 * the list cannot reach window_vm_freeing until its window is recorded. The flushes run without
 * the lock; `users` counts them, and the management VM's own end waits for them to finish.
 */
#include "arch/x86/cpu.h"
#include "kernel/log.h"
#include "kernel/mm/page.h"
#include "vmm/mgmt.h"
#include "vmm/platform.h"
#include "vmm/public/keel_hypercall.h"
#include "vmm/tlb_sync.h"
#include "vmm/vmm.h"

#define WINDOWS_MAX (KEELCTL_WINDOW / GiB(1))

/* A slot's list of detached tables is its own, so taking a window away never allocates; the
 * slot stays taken (flushing) until they are freed. */
struct window {
	struct vm *vm; /* mapped onto this VM's RAM; NULL: no window */
	bool flushing; /* taken out: its tables wait for the flush */
	u64 gpa;       /* in the management VM */
	u64 span;      /* the VM's RAM rounded up to whole GiBs: what the window takes of BAR2 */
	u64 tables;    /* pages the mapping took for nested page tables (logged, for the tests) */
	u32 vm_id;
	struct nested_stale stale;
};

static struct {
	spinlock_t lock;
	struct vm *mgmt; /* whose nested page tables hold the windows; NULL: none yet */
	u32 users;	 /* slots flushing (they use mgmt: it must stay) */
	struct window w[WINDOWS_MAX];
} win = { .lock = SPINLOCK_INIT };

static u64 span_of(const struct vm *vm)
{
	return ALIGN_UP(vm->ram_size, GiB(1));
}

/* Under win.lock: w's entries leave the management VM's tables; the caller must finish with
 * flush_and_free(w) once it dropped the lock. */
static int take_out(struct window *w)
{
	int ret;

	spin_assert_held(&win.lock);
	ret = vcpu_ops->unmap(win.mgmt, w->gpa, w->span, &w->stale);
	w->vm = NULL;
	w->flushing = true;
	win.users++;
	return ret;
}

/* Without win.lock, after take_out(w): the management vCPUs flush, then the tables go. */
static void flush_and_free(struct vm *mgmt, struct window *w)
{
	unsigned long flags;

	u64 before;

	vm_tlb_flush_sync(mgmt);
	before = page_free_count();
	vcpu_ops->free_tables(&w->stale);
	pr_info("vm %s: window onto VM %u unmapped, TLBs flushed; %llu of its %llu page-table pages freed\n",
		mgmt->name, w->vm_id, (unsigned long long)(page_free_count() - before), (unsigned long long)w->tables);
	flags = spin_lock_irqsave(&win.lock);
	w->flushing = false;
	win.users--;
	spin_unlock_irqrestore(&win.lock, flags);
}

/* Under win.lock: maps the target's RAM at gpa, run by run of host-contiguous 2 MiB chunks (a
 * 1 GiB host block is one run, so map() uses a 1 GiB page for it). */
static int map_ram(struct vm *mgmt, const struct vm *vm, u64 gpa)
{
	u64 i = 0;

	while (i < vm->nr_ram_chunks) {
		hpa_t start = vm->ram_chunks[i] & ~VM_RAM_CHUNK_FLAGS;
		u64 n = 1;
		int ret;

		while (i + n < vm->nr_ram_chunks &&
		       (vm->ram_chunks[i + n] & ~VM_RAM_CHUNK_FLAGS) == start + n * VM_RAM_CHUNK)
			n++;
		ret = vcpu_ops->map(mgmt, gpa + i * VM_RAM_CHUNK, start, n * VM_RAM_CHUNK);
		if (ret)
			return ret;
		i += n;
	}
	return 0;
}

struct map_req {
	struct vm *mgmt;
	u32 id;
	u64 gpa, bar, bar_size; /* BAR2 where it decodes now */
	u64 mem64_first, mem64_last;
	int ret;
	struct window *undo; /* the mapping failed half way: flush, then free its tables */
};

/* Under the VM list lock: one VM; the one with the id gets its window. */
static void map_one(struct vm *vm, void *arg)
{
	struct map_req *r = arg;
	struct window *slot = NULL;
	unsigned long flags;
	u64 span = span_of(vm);

	if (vm->id != r->id)
		return;
	if (vm == r->mgmt || vm->mgmt) {
		r->ret = -EINVAL; /* its own RAM is mapped already */
		return;
	}
	if (r->gpa < r->bar || r->gpa - r->bar > r->bar_size || span > r->bar_size - (r->gpa - r->bar) ||
	    r->gpa < r->mem64_first || r->gpa + span - 1 > r->mem64_last) {
		r->ret = -EINVAL;
		return;
	}
	flags = spin_lock_irqsave(&win.lock);
	/* The first window, or an earlier management VM's windows went with it (mgmt_freeing). */
	win.mgmt = r->mgmt;
	r->ret = 0;
	for (u32 i = 0; i < WINDOWS_MAX && !r->ret; i++) {
		const struct window *w = &win.w[i];

		if (w->vm == vm)
			r->ret = -EEXIST;
		else if (w->vm && r->gpa < w->gpa + w->span && w->gpa < r->gpa + span)
			r->ret = -EBUSY;
		else if (!w->vm && !w->flushing && !slot)
			slot = &win.w[i];
	}
	if (!r->ret && !slot)
		r->ret = -EBUSY; /* every slot is taken or still flushing */
	if (!r->ret) {
		u64 before = page_free_count();

		*slot = (struct window){ .vm = vm, .gpa = r->gpa, .span = span, .vm_id = vm->id };
		r->ret = map_ram(r->mgmt, vm, r->gpa);
		slot->tables = before - page_free_count();
		if (!r->ret)
			pr_info("vm %s: window onto VM %u (%s, %llu MiB) at %#llx, %llu page-table pages\n",
				r->mgmt->name, vm->id, vm->name, (unsigned long long)(vm->ram_size >> 20),
				(unsigned long long)r->gpa, (unsigned long long)slot->tables);
		if (r->ret) {
			take_out(slot);
			r->undo = slot;
		}
	}
	spin_unlock_irqrestore(&win.lock, flags);
}

static s64 hc_window_map(struct vcpu *v, u64 id, u64 gpa)
{
	struct vm *mgmt = v->vm;
	struct map_req r = { .mgmt = mgmt, .id = (u32)id, .gpa = gpa, .ret = -ENOENT };
	struct vpci_windows pw;
	unsigned long flags;
	bool live;

	if (id > 0xffffffffull || !IS_ALIGNED(gpa, GiB(1)))
		return -EINVAL;
	if (!mgmt->has_ctl)
		return -ENODEV;
	flags = spin_lock_irqsave(&mgmt->lock);
	live = vpci_dev_bar_live(&mgmt->ctl.pci, KEELCTL_WINDOW_BAR, &r.bar);
	r.bar_size = mgmt->ctl.pci.bar[KEELCTL_WINDOW_BAR].size;
	spin_unlock_irqrestore(&mgmt->lock, flags);
	platform_pci_windows(mgmt, &pw);
	r.mem64_first = pw.mem64_first;
	r.mem64_last = pw.mem64_last;
	if (!live || !pw.mem64_last)
		return -ENODEV; /* BAR2 not placed, or memory decoding off */
	vmm_for_each_vm(map_one, &r);
	if (r.undo)
		flush_and_free(mgmt, r.undo);
	return r.ret;
}

static s64 hc_window_unmap(struct vcpu *v, u64 id)
{
	struct window *w = NULL;
	unsigned long flags;
	s64 ret = -ENOENT;

	flags = spin_lock_irqsave(&win.lock);
	for (u32 i = 0; i < WINDOWS_MAX && win.mgmt == v->vm; i++) {
		if (win.w[i].vm && win.w[i].vm->id == id) {
			w = &win.w[i];
			ret = take_out(w);
			break;
		}
	}
	spin_unlock_irqrestore(&win.lock, flags);
	if (w)
		flush_and_free(v->vm, w);
	return ret;
}

s64 window_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2)
{
	switch (nr) {
	case HC_WINDOW_MAP:
		return hc_window_map(v, a0, a1);
	case HC_WINDOW_UNMAP:
		return hc_window_unmap(v, a0);
	}
	return -ENOSYS;
}

/* The management VM ends: its windows go with its nested page tables (vm_destroy frees those;
 * the windows' leaves are the other VMs' RAM, which stays theirs). Calls that took a window out
 * and still flush its vCPUs are waited for: they use its struct vm. */
static void mgmt_freeing(struct vm *mgmt)
{
	unsigned long flags = spin_lock_irqsave(&win.lock);

	for (u32 i = 0; i < WINDOWS_MAX; i++)
		win.w[i].vm = NULL;
	win.mgmt = NULL;
	while (win.users) {
		spin_unlock_irqrestore(&win.lock, flags);
		cpu_relax();
		flags = spin_lock_irqsave(&win.lock);
	}
	spin_unlock_irqrestore(&win.lock, flags);
	(void)mgmt;
}

void window_vm_freeing(struct vm *vm)
{
	struct window *w = NULL;
	struct vm *mgmt = NULL;
	unsigned long flags;
	int ret = 0;

	if (vm->mgmt || vm == __atomic_load_n(&win.mgmt, __ATOMIC_ACQUIRE)) {
		mgmt_freeing(vm);
		return;
	}
	flags = spin_lock_irqsave(&win.lock);
	for (u32 i = 0; i < WINDOWS_MAX; i++) {
		if (win.w[i].vm == vm) {
			w = &win.w[i];
			mgmt = win.mgmt;
			ret = take_out(w);
			break;
		}
	}
	spin_unlock_irqrestore(&win.lock, flags);
	if (w) {
		flush_and_free(mgmt, w);
		if (ret)
			pr_err("vm %s: its window could not be unmapped (%d)\n", vm->name, ret);
	}
}
