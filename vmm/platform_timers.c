/* SPDX-License-Identifier: MIT */
/*
 * The VM's timers as interrupt sources: the PIT's and the RTC's ports, turning expired timers into
 * interrupt requests before each entry (vCPU 0 polls the VM's PIT and RTC for every vCPU, each
 * vCPU its own local APIC timer), and when the next timer interrupt a vCPU can take is due (the
 * run loop's deadline, and the wake-up time of a halted vCPU).
 *
 * Locking: vm->lock guards the PIT and the RTC, v->lock the vCPU's local APIC. Neither is held
 * while calling into the scheduler.
 */
#include "vmm/platform.h"

#include "arch/x86/tsc.h"
#include "vmm/platform_internal.h"
#include "vmm/vcpu_run.h"

/* The PIT (0x40-0x43) and the RTC (0x70-0x71): the VM's timers, which vCPU 0 polls. */
void platform_timer_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);
	bool rtc = port >= VRTC_PORT_INDEX;

	if (in)
		*val = rtc ? vrtc_read(&vm->rtc, port, time_ns()) : vpit_read(&vm->pit, port, time_ns());
	else if (rtc)
		vrtc_write(&vm->rtc, port, (u8)*val, time_ns());
	else
		vpit_write(&vm->pit, port, (u8)*val, time_ns());
	spin_unlock_irqrestore(&vm->lock, flags);
	/* vCPU 0's wake-up time may have changed. */
	if (!in && v->id != 0)
		vcpu_kick(vm->vcpus[0]);
}

/* Turns expired timers into interrupt requests. */
void platform_poll_timers(struct vcpu *v, u64 now)
{
	struct vm *vm = v->vm;
	unsigned long flags;

	/* Read without the lock as a hint (another vCPU may be reprogramming a timer); the polls under
	 * the lock decide, and a write to either device kicks vCPU 0 to look again. */
	if (v->id == 0 && (vm->pit.next_ns || vrtc_next_ns(&vm->rtc))) {
		struct vioapic_msg msg[2];
		unsigned n = 0;

		flags = spin_lock_irqsave(&vm->lock);
		if (vpit_expired(&vm->pit, now) && platform_isa_edge_locked(vm, PIT_IRQ, &msg[n]))
			n++;
		if (vrtc_poll(&vm->rtc, now) && platform_isa_edge_locked(vm, RTC_IRQ, &msg[n]))
			n++;
		spin_unlock_irqrestore(&vm->lock, flags);
		platform_route_msgs(vm, msg, n, v);
	}
	if (v->lapic.timer_next_ns) {
		flags = spin_lock_irqsave(&v->lock);
		vlapic_timer_poll(&v->lapic, now);
		spin_unlock_irqrestore(&v->lock, flags);
	}
}

static u64 earliest(u64 a, u64 b)
{
	return !a || !b ? a | b : MIN(a, b);
}

/* Whether an unmasked I/O APIC pin selects a software-enabled local APIC (only those take fixed
 * interrupts). Read without locks, as a hint (see timer_deadline). */
static bool pin_reaches_an_apic(const struct vm *vm, unsigned pin)
{
	u64 rte = vm->ioapic.redir[pin];

	if (vioapic_pin_masked(&vm->ioapic, pin))
		return false;
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		const struct vlapic *l = &vm->vcpus[i]->lapic;

		if (vlapic_sw_enabled(l) && vlapic_match_dest(l, (u32)(rte >> 56), rte & VIOAPIC_RTE_LOGICAL))
			return true;
	}
	return false;
}

/* Whether the interrupt of a VM timer on ISA IRQ `irq` can reach a local APIC: through the PIC to
 * vCPU 0 when it takes interrupts (if_set), or through an unmasked I/O APIC pin. */
static bool isa_irq_routed(const struct vcpu *v0, u8 irq, bool if_set)
{
	const struct vm *vm = v0->vm;

	return (if_set && platform_pic_wired(v0) && !vpic_irq_masked(&vm->pic, irq)) ||
	       pin_reaches_an_apic(vm, irq == PIT_IRQ ? PIT_GSI : irq);
}

/* The earliest timer of v whose interrupt can be delivered (if_set: v's IF), and for vCPU 0 the
 * VM's timers that it polls for every vCPU; 0: none. Reads device state without its lock, as a
 * hint: a write by another vCPU that changes a timer or its routing kicks vCPU 0 to look again. */
static u64 timer_deadline(const struct vcpu *v, bool if_set)
{
	u64 next = 0;

	if (if_set && !vlapic_timer_masked(&v->lapic))
		next = vlapic_timer_next(&v->lapic);
	if (v->id == 0) {
		const struct vm *vm = v->vm;
		u64 rtc = vrtc_next_ns(&vm->rtc);

		if (vm->pit.next_ns && isa_irq_routed(v, PIT_IRQ, if_set))
			next = earliest(next, vm->pit.next_ns);
		if (rtc && isa_irq_routed(v, RTC_IRQ, if_set))
			next = earliest(next, rtc);
	}
	return next;
}

u64 platform_next_timer(const struct vcpu *v)
{
	return timer_deadline(v, true); /* a running guest may set IF at any instruction */
}

u64 platform_wake_time(const struct vcpu *v)
{
	if (!v->halted || v->mp_state != VCPU_MP_RUNNING)
		return 0; /* paused, or waiting for SIPI: only a kick wakes it */
	return timer_deadline(v, v->halt_if);
}
