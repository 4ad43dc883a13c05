/* SPDX-License-Identifier: MIT */
/*
 * Interrupt delivery: the virtual PIC pair and PIT of the VM (wired to vCPU 0's LINT0 in
 * virtual-wire mode, as firmware leaves a PC), each vCPU's local APIC (its timer, fixed IPIs,
 * INIT and SIPI), and waking halted vCPUs through the scheduler (vcpu_kick).
 *
 * Locking: vm->lock guards the PIC and PIT, v->lock the vCPU's local APIC and INIT/SIPI state.
 * Neither is held while calling into the scheduler.
 */
#include "vmm/platform.h"

#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "kernel/sched.h"

#define PIT_IRQ		 0
#define LVT_MASKED	 (1u << 16)
#define LVT_MODE(l)	 (((l) >> 8) & 7)
#define LVT_MODE_NMI	 4
#define LVT_MODE_EXTINT	 7
#define APIC_SVR_ENABLED (1u << 8)

static void pic_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vpic_read(&vm->pic, port);
	else
		vpic_write(&vm->pic, port, (u8)*val);
	spin_unlock_irqrestore(&vm->lock, flags);
	/* An unmask or EOI may let an interrupt through to a halted vCPU 0. */
	if (!in && v->id != 0)
		vcpu_kick(vm->vcpus[0]);
}

static void pit_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vpit_read(&vm->pit, port, time_ns());
	else
		vpit_write(&vm->pit, port, (u8)*val, time_ns());
	spin_unlock_irqrestore(&vm->lock, flags);
	/* vCPU 0's wake-up time may have changed. */
	if (!in && v->id != 0)
		vcpu_kick(vm->vcpus[0]);
}

/* INIT, SIPI and fixed interrupts to one vCPU (SDM vol. 3A §10.6.1, §8.4.4). */
static void deliver(struct vcpu *t, const struct vlapic_ipi *ipi)
{
	unsigned long flags = spin_lock_irqsave(&t->lock);
	bool wake = true;

	switch (ipi->mode) {
	case VLAPIC_IPI_FIXED:
	case VLAPIC_IPI_LOWEST:
		vlapic_accept(&t->lapic, ipi->vector, ipi->level_trigger);
		break;
	case VLAPIC_IPI_INIT:
		/* INIT level de-assert (level 0, level-triggered) only synchronizes arbitration IDs. */
		if (!ipi->level_assert && ipi->level_trigger)
			wake = false;
		else
			t->init_pending = true;
		break;
	case VLAPIC_IPI_SIPI:
		/* Only a vCPU waiting for SIPI takes it; others ignore it (§8.4.4.1). */
		if (t->mp_state == VCPU_MP_WAIT_SIPI || t->init_pending) {
			t->sipi_pending = true;
			t->sipi_vector = ipi->vector;
		} else {
			wake = false;
		}
		break;
	default:
		/* NMI and SMI IPIs need event types no guest of Keel uses yet. */
		wake = false;
		break;
	}
	spin_unlock_irqrestore(&t->lock, flags);
	if (wake)
		vcpu_kick(t);
}

static bool targets(struct vcpu *src, struct vcpu *t, const struct vlapic_ipi *ipi)
{
	unsigned long flags;
	bool match;

	switch (ipi->shorthand) {
	case VLAPIC_DEST_SELF:
		return t == src;
	case VLAPIC_DEST_ALL:
		return true;
	case VLAPIC_DEST_OTHERS:
		return t != src;
	default:
		flags = spin_lock_irqsave(&t->lock);
		match = vlapic_match_dest(&t->lapic, ipi->dest, ipi->logical);
		spin_unlock_irqrestore(&t->lock, flags);
		return match;
	}
}

void platform_send_ipi(struct vcpu *src, const struct vlapic_ipi *ipi)
{
	struct vm *vm = src->vm;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (!targets(src, t, ipi))
			continue;
		deliver(t, ipi);
		/* Lowest priority: Keel picks the first vCPU of the set, which the SDM allows
		 * (§10.6.2.4: the choice is model specific). */
		if (ipi->mode == VLAPIC_IPI_LOWEST)
			break;
	}
}

static void lapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	u32 off = (u32)(gpa - VLAPIC_BASE);
	struct vlapic_ipi ipi;
	bool send = false;
	unsigned long flags;

	/* The registers are 32 bits wide at 16-byte boundaries; other accesses are undefined
	 * (SDM §10.4.1): reads return 0, writes are dropped. */
	if (size != 4 || (off & 3)) {
		if (!write)
			*val = 0;
		return;
	}
	flags = spin_lock_irqsave(&v->lock);
	if (write)
		send = vlapic_write(&v->lapic, off, (u32)*val, time_ns(), &ipi);
	else
		*val = vlapic_read(&v->lapic, off, time_ns());
	spin_unlock_irqrestore(&v->lock, flags);
	if (send)
		platform_send_ipi(v, &ipi);
}

/* As firmware leaves the boot processor: APIC on, LINT0 = ExtINT (the PIC), LINT1 = NMI. */
static void lapic_firmware_setup(struct vlapic *l)
{
	struct vlapic_ipi none;

	vlapic_write(l, VLAPIC_SVR, APIC_SVR_ENABLED | 0xff, 0, &none);
	vlapic_write(l, VLAPIC_LVT_LINT0, LVT_MODE_EXTINT << 8, 0, &none);
	vlapic_write(l, VLAPIC_LVT_LINT1, LVT_MODE_NMI << 8, 0, &none);
}

void platform_vcpu_reset(struct vcpu *v)
{
	vlapic_reset(&v->lapic, v->id);
	if (v->id == 0)
		lapic_firmware_setup(&v->lapic);
}

int platform_init(struct vm *vm)
{
	int ret;

	vpic_reset(&vm->pic);
	vpit_reset(&vm->pit);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		platform_vcpu_reset(vm->vcpus[i]);
	ret = vm_io_register(vm, 0x20, 2, pic_io);
	ret = ret ?: vm_io_register(vm, 0xa0, 2, pic_io);
	ret = ret ?: vm_io_register(vm, 0x40, 4, pit_io);
	return ret ?: vm_mmio_register(vm, VLAPIC_BASE, VLAPIC_SIZE, lapic_mmio);
}

/* Whether the PIC's output reaches this vCPU: LINT0 unmasked in ExtINT mode (or the APIC off). */
static bool pic_wired(const struct vcpu *v)
{
	u32 lint0 = v->lapic.lvt[LVT_LINT0];

	return v->id == 0 && (!v->lapic.hw_enabled || (!(lint0 & LVT_MASKED) && LVT_MODE(lint0) == LVT_MODE_EXTINT));
}

void platform_set_irq(struct vm *vm, u8 irq)
{
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	vpic_raise(&vm->pic, irq);
	spin_unlock_irqrestore(&vm->lock, flags);
	vcpu_kick(vm->vcpus[0]);
}

/* Turns expired timers into interrupt requests. */
static void poll_timers(struct vcpu *v, u64 now)
{
	struct vm *vm = v->vm;
	unsigned long flags;

	if (v->id == 0 && vm->pit.next_ns) {
		flags = spin_lock_irqsave(&vm->lock);
		if (vpit_expired(&vm->pit, now))
			vpic_raise(&vm->pic, PIT_IRQ);
		spin_unlock_irqrestore(&vm->lock, flags);
	}
	if (v->lapic.timer_next_ns) {
		flags = spin_lock_irqsave(&v->lock);
		vlapic_timer_poll(&v->lapic, now);
		spin_unlock_irqrestore(&v->lock, flags);
	}
}

u64 platform_next_timer(const struct vcpu *v)
{
	u64 lapic = vlapic_timer_next(&v->lapic);
	u64 pit = v->id == 0 ? v->vm->pit.next_ns : 0;

	if (!lapic || !pit)
		return lapic | pit;
	return MIN(lapic, pit);
}

/* Whether an external interrupt waits for v (timers included). */
static bool irq_pending(struct vcpu *v)
{
	bool pending;
	unsigned long flags;

	poll_timers(v, time_ns());
	flags = spin_lock_irqsave(&v->lock);
	pending = vlapic_pending(&v->lapic) >= 0;
	spin_unlock_irqrestore(&v->lock, flags);
	return pending || (pic_wired(v) && vpic_pending(&v->vm->pic));
}

bool platform_can_wake(struct vcpu *v)
{
	return irq_pending(v) && (vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_IF);
}

void platform_before_entry(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned long flags;
	int vector = -1;

	if (!irq_pending(v))
		return;
	if (!vcpu_ops->irq_window_open(v)) {
		vcpu_ops->request_irq_window(v);
		return;
	}
	/* The local APIC's own requests first; ExtINT from the PIC bypasses its priority. */
	flags = spin_lock_irqsave(&v->lock);
	vector = vlapic_pending(&v->lapic);
	if (vector >= 0)
		vlapic_ack(&v->lapic, (u8)vector);
	spin_unlock_irqrestore(&v->lock, flags);
	if (vector < 0 && pic_wired(v)) {
		flags = spin_lock_irqsave(&vm->lock);
		if (vpic_pending(&vm->pic))
			vector = vpic_acknowledge(&vm->pic);
		spin_unlock_irqrestore(&vm->lock, flags);
	}
	if (vector >= 0)
		vcpu_ops->inject_irq(v, (u8)vector);
}

bool platform_mp_events(struct vcpu *v)
{
	unsigned long flags = spin_lock_irqsave(&v->lock);
	bool sipi = false;
	u8 vector = 0;

	if (v->init_pending) {
		/* INIT: the vCPU waits for SIPI with its local APIC reset (SDM §8.4.1). */
		v->init_pending = false;
		v->mp_state = VCPU_MP_WAIT_SIPI;
		v->halted = false;
		vlapic_reset(&v->lapic, v->id);
	}
	if (v->sipi_pending) {
		v->sipi_pending = false;
		if (v->mp_state == VCPU_MP_WAIT_SIPI) {
			v->mp_state = VCPU_MP_RUNNING;
			sipi = true;
			vector = v->sipi_vector;
		}
	}
	spin_unlock_irqrestore(&v->lock, flags);
	if (sipi) {
		/* Real mode at vector:0000, i.e. CS = vector << 8, base vector << 12 (§8.4.4.1). */
		struct vcpu_boot_state boot = { .protected_mode = false, .cs_sel = (u16)(vector << 8), .rip = 0 };

		vcpu_ops->reset(v, &boot);
		pr_debug("vm %s: vCPU %u started by SIPI at %#x\n", v->vm->name, v->id, vector << 12);
	}
	return v->mp_state == VCPU_MP_RUNNING;
}
