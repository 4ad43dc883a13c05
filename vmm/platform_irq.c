/* SPDX-License-Identifier: MIT */
/*
 * Interrupt routing: the virtual PIC pair (wired to vCPU 0's LINT0 in virtual-wire mode, as
 * firmware leaves a PC), the I/O APIC's messages, each vCPU's local APIC (its registers and
 * MSRs, fixed IPIs, INIT and SIPI to the vCPUs they select), the interrupt handed to a vCPU
 * before each entry, and waking halted vCPUs through the scheduler (vcpu_kick). The VM's timers
 * are in vmm/platform_timers.c; what INIT and SIPI do to the vCPU that takes them is in
 * vmm/platform_mp.c.
 *
 * Locking: vm->lock guards the PIC and the I/O APIC, v->lock the vCPU's local APIC and INIT/SIPI
 * state. Neither is held while calling into the scheduler.
 */
#include "vmm/platform.h"

#include "arch/x86/regs.h"
#include "arch/x86/tsc.h"
#include "vmm/platform_internal.h"
#include "vmm/vcpu_run.h"

#define LVT_MASKED	 (1u << 16)
#define LVT_MODE(l)	 (((l) >> 8) & 7)
#define LVT_MODE_NMI	 4
#define LVT_MODE_EXTINT	 7
#define APIC_SVR_ENABLED (1u << 8)
#define X2APIC_MSR_SVR	 (0x800 + (VLAPIC_SVR >> 4))

/* Whether v may take an external interrupt once it has one: running, or halted with IF = 1. A
 * vCPU halted with IF = 0 wakes only for INIT. Read without locks, on any CPU. */
static bool receptive(const struct vcpu *v)
{
	return !v->halted || v->halt_if;
}

void platform_pic_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vpic_read(&vm->pic, port);
	else
		vpic_write(&vm->pic, port, (u8)*val);
	spin_unlock_irqrestore(&vm->lock, flags);
	/* An unmask or EOI may let an interrupt through to vCPU 0, if it can take one. */
	if (!in && v->id != 0 && receptive(vm->vcpus[0]))
		vcpu_kick(vm->vcpus[0]);
}

static void deliver(struct vcpu *t, const struct vlapic_ipi *ipi, const struct vcpu *self);
static bool targets(struct vcpu *src, struct vcpu *t, const struct vlapic_ipi *ipi);

/*
 * `self` in what follows: the vCPU on whose CPU, in whose run loop, the caller runs (handling its
 * exit or polling its timers), or NULL. It looks at its interrupts again before it enters or
 * blocks, so it is never kicked: a kick would only make it look again, and a timer that keeps
 * firing at an interrupt the vCPU cannot take would keep it from ever blocking.
 */

/* An I/O APIC message goes to the local APICs it selects, as an IPI from no vCPU would. */
static void route_msg(struct vm *vm, const struct vioapic_msg *m, const struct vcpu *self)
{
	struct vlapic_ipi ipi = { .vector = m->vector,
				  .shorthand = VLAPIC_DEST_FIELD,
				  .logical = m->logical,
				  .level_assert = true,
				  .level_trigger = m->level,
				  .dest = m->dest };

	switch (m->mode) {
	case VIOAPIC_MODE_FIXED:
	case VIOAPIC_MODE_LOWEST:
	case VIOAPIC_MODE_INIT:
	case VIOAPIC_MODE_NMI:
		ipi.mode = (enum vlapic_ipi_mode)m->mode;
		break;
	default:
		/* SMI and ExtINT through the I/O APIC: Linux only tries ExtINT on pin 0 when the
		 * timer does not work through pin 2, which it does here. */
		return;
	}
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		if (!targets(NULL, vm->vcpus[i], &ipi))
			continue;
		deliver(vm->vcpus[i], &ipi, self);
		if (ipi.mode == VLAPIC_IPI_LOWEST)
			break;
	}
}

void platform_route_msgs(struct vm *vm, const struct vioapic_msg *m, unsigned n, const struct vcpu *self)
{
	for (unsigned i = 0; i < n; i++)
		route_msg(vm, &m[i], self);
}

/* An edge on ISA IRQ `irq`: the PIC's input and the I/O APIC pin it is wired to. vm->lock held;
 * returns whether *msg must be routed (after the lock is dropped). */
bool platform_isa_edge_locked(struct vm *vm, u8 irq, struct vioapic_msg *msg)
{
	spin_assert_held(&vm->lock);
	vpic_raise(&vm->pic, irq);
	return vioapic_pulse(&vm->ioapic, irq == PIT_IRQ ? PIT_GSI : irq, msg);
}

void platform_set_gsi(struct vm *vm, unsigned gsi, int level)
{
	struct vioapic_msg msg;
	unsigned long flags = spin_lock_irqsave(&vm->lock);
	bool send = level < 0 ? vioapic_pulse(&vm->ioapic, gsi, &msg) : vioapic_set_line(&vm->ioapic, gsi, level, &msg);

	spin_unlock_irqrestore(&vm->lock, flags);
	if (send)
		route_msg(vm, &msg, NULL);
}

/* INIT, SIPI, NMI and fixed interrupts to one vCPU (SDM vol. 3A §10.6.1, §8.4.4). */
static void deliver(struct vcpu *t, const struct vlapic_ipi *ipi, const struct vcpu *self)
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
	case VLAPIC_IPI_NMI:
		/* The vector is ignored; a vCPU waiting for SIPI takes no NMI (§8.4.1: NMIs are
		 * held off until the AP starts), it keeps the latch until then. */
		t->nmi_pending = true;
		break;
	default:
		/* SMI: there is no SMM in a VM of Keel. */
		wake = false;
		break;
	}
	spin_unlock_irqrestore(&t->lock, flags);
	t->slow = true; /* if it is this CPU's, before its next entry (another CPU's gets the kick) */
	/* A vCPU halted with IF = 0 takes no fixed interrupt: only INIT and NMI wake it. */
	if (wake && t != self && ((ipi->mode != VLAPIC_IPI_FIXED && ipi->mode != VLAPIC_IPI_LOWEST) || receptive(t)))
		vcpu_kick(t);
}

static bool targets(struct vcpu *src, struct vcpu *t, const struct vlapic_ipi *ipi)
{
	unsigned long flags;
	bool match;

	switch (ipi->shorthand) {
	case VLAPIC_DEST_SELF:
		return t == src; /* src is NULL for the I/O APIC's messages, which use the field */
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
		deliver(t, ipi, src);
		/* Lowest priority: Keel picks the first vCPU of the set, which the SDM allows
		 * (§10.6.2.4: the choice is model specific). */
		if (ipi->mode == VLAPIC_IPI_LOWEST)
			break;
	}
}

/* A level-triggered interrupt was retired (by self): the I/O APIC may send it again. */
static void ioapic_eoi(struct vm *vm, u8 vector, const struct vcpu *self)
{
	struct vioapic_msg msg[VIOAPIC_PINS];
	unsigned long flags = spin_lock_irqsave(&vm->lock);
	unsigned n = vioapic_eoi(&vm->ioapic, vector, msg, ARRAY_SIZE(msg));

	spin_unlock_irqrestore(&vm->lock, flags);
	platform_route_msgs(vm, msg, n, self);
}

void platform_ioapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	struct vioapic_msg msg[VIOAPIC_PINS];
	u32 off = (u32)(gpa - VIOAPIC_BASE);
	struct vm *vm = v->vm;
	unsigned long flags;
	unsigned n = 0;

	/* Only aligned 32-bit accesses are defined (82093AA §3.0): others read 0, writes dropped. */
	if (size != 4 || (off & 3)) {
		if (!write)
			*val = 0;
		return;
	}
	flags = spin_lock_irqsave(&vm->lock);
	if (write)
		n = vioapic_write(&vm->ioapic, off, (u32)*val, msg, ARRAY_SIZE(msg));
	else
		*val = vioapic_read(&vm->ioapic, off);
	spin_unlock_irqrestore(&vm->lock, flags);
	platform_route_msgs(vm, msg, n, v);
	/* An unmasked pin may make the PIT or RTC a wake-up source for vCPU 0 (platform_wake_time). */
	if (write && v->id != 0)
		vcpu_kick(vm->vcpus[0]);
}

void platform_lapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
{
	u32 off = (u32)(gpa - VLAPIC_BASE);
	struct vlapic_ipi ipi;
	bool send = false;
	unsigned long flags;
	int eoi;

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
	eoi = vlapic_take_level_eoi(&v->lapic);
	spin_unlock_irqrestore(&v->lock, flags);
	if (send)
		platform_send_ipi(v, &ipi);
	if (eoi >= 0)
		ioapic_eoi(v->vm, (u8)eoi, v);
	/* An APIC enabled or disabled may change which VM timers wake vCPU 0 (platform_wake_time). */
	if (write && off == VLAPIC_SVR && v->id != 0)
		vcpu_kick(v->vm->vcpus[0]);
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

/* The guest's TSC value `tsc` on the time_ns() clock; 1 (already due) for a time in the past. */
static u64 guest_tsc_to_ns(const struct vm *vm, u64 tsc)
{
	return MAX(tsc_to_ns(tsc - vm->tsc_offset), 1ull);
}

int platform_lapic_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	unsigned long flags = spin_lock_irqsave(&v->lock);

	v->slow = true; /* its timer, an IPI or an EOI may change what must be injected */
	struct vlapic *l = &v->lapic;
	struct vlapic_ipi ipi;
	bool sent = false;
	int ret = 0, eoi;

	if (msr == MSR_APIC_BASE) {
		if (write)
			ret = vlapic_set_base_msr(l, *val);
		else
			*val = vlapic_base_msr(l, v->id == 0);
	} else if (msr == MSR_TSC_DEADLINE) {
		/* SDM §11.5.4.1: armed by a non-zero write in TSC-deadline mode, reads 0 once it
		 * has fired; other timer modes ignore writes. */
		if (write) {
			v->tsc_deadline = *val;
			vlapic_set_deadline(l, *val ? guest_tsc_to_ns(v->vm, *val) : 0);
		} else {
			*val = l->deadline_ns ? v->tsc_deadline : 0;
		}
	} else if (write) {
		ret = vlapic_msr_write(l, msr, *val, time_ns(), &ipi, &sent);
	} else {
		ret = vlapic_msr_read(l, msr, time_ns(), val);
	}
	eoi = vlapic_take_level_eoi(l);
	spin_unlock_irqrestore(&v->lock, flags);
	if (sent)
		platform_send_ipi(v, &ipi);
	if (eoi >= 0)
		ioapic_eoi(v->vm, (u8)eoi, v);
	if (write && msr == X2APIC_MSR_SVR && v->id != 0)
		vcpu_kick(v->vm->vcpus[0]); /* as for the xAPIC's SVR (platform_lapic_mmio) */
	return ret;
}

/* Whether the PIC's output reaches this vCPU: LINT0 unmasked in ExtINT mode (or the APIC off). */
bool platform_pic_wired(const struct vcpu *v)
{
	u32 lint0 = v->lapic.lvt[LVT_LINT0];

	return v->id == 0 && (!v->lapic.hw_enabled || (!(lint0 & LVT_MASKED) && LVT_MODE(lint0) == LVT_MODE_EXTINT));
}

void platform_set_irq(struct vm *vm, u8 irq)
{
	unsigned long flags = spin_lock_irqsave(&vm->lock);
	struct vioapic_msg msg;
	bool send = platform_isa_edge_locked(vm, irq, &msg);

	spin_unlock_irqrestore(&vm->lock, flags);
	if (send)
		route_msg(vm, &msg, NULL);
	vm->vcpus[0]->slow = true; /* the PIC's output, if vCPU 0 runs on this CPU */
	vcpu_kick(vm->vcpus[0]);
}

/* Whether an external interrupt waits for v (timers included). */
static bool irq_pending(struct vcpu *v)
{
	bool pending;
	unsigned long flags;

	platform_poll_timers(v, time_ns());
	flags = spin_lock_irqsave(&v->lock);
	pending = vlapic_pending(&v->lapic) >= 0;
	spin_unlock_irqrestore(&v->lock, flags);
	return pending || (platform_pic_wired(v) && vpic_pending(&v->vm->pic));
}

bool platform_can_wake(struct vcpu *v)
{
	/* An NMI ends HLT whatever IF says (SDM vol. 2A HLT). */
	return __atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED) ||
	       (irq_pending(v) && (vcpu_ops->get(v, VREG_RFLAGS) & RFLAGS_IF));
}

/* A pending NMI goes before any external interrupt (SDM vol. 3A §6.9, priority 5 before 6); at
 * most one event is injected per entry. Returns whether one was injected. An NMI that must wait
 * (the guest's handler of the last one has not returned) does not hold back external interrupts. */
static bool nmi_before_entry(struct vcpu *v)
{
	unsigned long flags;
	bool take;

	if (!__atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED) || v->mp_state != VCPU_MP_RUNNING)
		return false;
	if (!vcpu_ops->nmi_window_open(v)) {
		vcpu_ops->request_nmi_window(v);
		return false;
	}
	flags = spin_lock_irqsave(&v->lock);
	take = v->nmi_pending;
	v->nmi_pending = false;
	spin_unlock_irqrestore(&v->lock, flags);
	if (take)
		vcpu_ops->inject_nmi(v);
	return take;
}

void platform_before_entry(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned long flags;
	int vector = -1;

	if (nmi_before_entry(v) || !irq_pending(v))
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
	if (vector < 0 && platform_pic_wired(v)) {
		flags = spin_lock_irqsave(&vm->lock);
		if (vpic_pending(&vm->pic))
			vector = vpic_acknowledge(&vm->pic);
		spin_unlock_irqrestore(&vm->lock, flags);
	}
	if (vector >= 0)
		vcpu_ops->inject_irq(v, (u8)vector);
}
