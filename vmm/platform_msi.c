/* SPDX-License-Identifier: MIT */
/*
 * PCI on the virtual platform: the windows the root bridge \_SB.PCI0 forwards (the DSDT describes
 * them, vmm/platform_tables.c), the BARs Keel places in them when it builds a VM, accesses to
 * those windows routed to the function whose BAR decodes them now, and MSIs delivered to the
 * local APICs. vm->lock guards the PCI model (vm->pci and its functions).
 *
 * Each window is claimed whole, once: the model (vmm/dev/vpci.c) finds the BAR at its current
 * address with its space enabled, so BAR moves and COMMAND writes need no re-registration, and
 * an access that no BAR decodes reads all-ones and is dropped (a master abort), never a crash.
 */
#include "vmm/platform.h"

#include "vmm/dev/msi.h"
#include "kernel/sched.h"
#include "vmm/platform_internal.h"

void platform_msi(struct vm *vm, u64 addr, u32 data, const struct vcpu *self)
{
	struct vioapic_msg m;

	if (msi_decode(addr, data, &m)) {
		/* A device write outside 0xFEExxxxx would be DMA to memory: emulated functions
		 * do no DMA, so a guest that programs such an address gets nothing. */
		return;
	}
	platform_route_msgs(vm, &m, 1, self);
}

void platform_ctl_upcall(struct vm *vm, unsigned vector, bool boost)
{
	struct vpci_msi_out out;
	unsigned long flags;

	if (!vm->has_ctl)
		return;
	flags = spin_lock_irqsave(&vm->lock);
	vpci_dev_msix_notify(&vm->ctl.pci, vector);
	platform_pci_take(vm, &vm->ctl.pci, &out);
	spin_unlock_irqrestore(&vm->lock, flags);
	for (u32 i = 0; i < out.n && i < VPCI_MSIX_MAX; i++) {
		struct vioapic_msg m;

		platform_msi(vm, out.msg[i].addr, out.msg[i].data, NULL);
		if (!boost || msi_decode(out.msg[i].addr, out.msg[i].data, &m))
			continue;
		/* A vCPU waits for the device model: the vCPUs the upcall went to run first (their
		 * kick above woke them; kernel/sched.h's boost puts them ahead of the queue). */
		for (u32 n = 0; n < vm->nr_vcpus; n++) {
			struct vcpu *t = vm->vcpus[n];
			unsigned long tf = spin_lock_irqsave(&t->lock);
			bool match = vlapic_match_dest(&t->lapic, m.dest, m.logical);

			spin_unlock_irqrestore(&t->lock, tf);
			if (match)
				sched_kick_boost(&t->se);
		}
	}
}

void platform_pci_windows(const struct vm *vm, struct vpci_windows *w)
{
	u64 ram_end = VM_HIGH_RAM + (vm->ram_size - vm->low_ram);

	w->io_first = PLATFORM_PCI_IO_FIRST;
	w->io_last = PLATFORM_PCI_IO_LAST;
	w->mem32_first = PLATFORM_PCI_MEM32_FIRST;
	w->mem32_last = VIOAPIC_BASE - 1;
	w->mem64_first = ALIGN_UP(ram_end, PLATFORM_PCI_MEM64_ALIGN);
	w->mem64_last = w->mem64_first + PLATFORM_PCI_MEM64_SIZE - 1;
}

void platform_pci_take(struct vm *vm, struct vpci_dev *d, struct vpci_msi_out *out)
{
	spin_assert_held(&vm->lock);
	out->n = 0;
	if (d && d->out.n) {
		*out = d->out;
		d->out.n = 0;
	}
}

void platform_pci_send(struct vcpu *v, const struct vpci_msi_out *out)
{
	for (u32 i = 0; i < out->n && i < VPCI_MSIX_MAX; i++)
		platform_msi(v->vm, out->msg[i].addr, out->msg[i].data, v);
}

/* An access in a window; the MSIs it made the function send go after the lock is dropped. */
static void pci_bar_io(struct vcpu *v, bool io, u64 addr, unsigned size, bool write, u64 *val)
{
	struct vm *vm = v->vm;
	struct vpci_msi_out out;
	struct vpci_dev *d;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	d = vpci_bar_access(&vm->pci, io, addr, size, write, val);
	if (!d && !write)
		*val = ~0ull;
	platform_pci_take(vm, d, &out);
	spin_unlock_irqrestore(&vm->lock, flags);
	platform_pci_send(v, &out);
}

static void pci_mem_window(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	pci_bar_io(v, false, gpa, size, write, val);
}

static void pci_io_window(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	u64 x = *val;

	pci_bar_io(v, true, port, size, !in, &x);
	if (in)
		*val = (u32)x;
}

int platform_pci_init(struct vm *vm)
{
	struct vpci_windows w;
	int ret = 0;

	platform_pci_windows(vm, &w);
	if (vm->has_ctl) {
		keelctl_init(&vm->ctl);
		ret = vpci_register_dev(&vm->pci, KEELCTL_SLOT, 0, &vm->ctl.pci);
	}
	ret = ret ?: vpci_assign_bars(&vm->pci, &w);
	ret = ret ?: vm_io_register(vm, (u16)w.io_first, (u16)(w.io_last - w.io_first + 1), pci_io_window);
	ret = ret ?: vm_mmio_register(vm, w.mem32_first, w.mem32_last - w.mem32_first + 1, pci_mem_window);
	return ret ?: vm_mmio_register(vm, w.mem64_first, w.mem64_last - w.mem64_first + 1, pci_mem_window);
}
