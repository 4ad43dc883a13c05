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

#include "arch/x86/cmos.h"
#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/tsc.h"
#include "kernel/log.h"
#include "vmm/vcpu_run.h"
#include "vmm/acpi_gen.h"
#include "vmm/run.h"

#define PIT_IRQ		 0
#define PIT_GSI		 2 /* the MADT's interrupt source override IRQ 0 -> GSI 2 */
#define RTC_IRQ		 8
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

static void pic_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
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
		ipi.mode = (enum vlapic_ipi_mode)m->mode;
		break;
	default:
		/* NMI, SMI and ExtINT through the I/O APIC: Linux only tries ExtINT on pin 0 when the
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

static void route_msgs(struct vm *vm, const struct vioapic_msg *m, unsigned n, const struct vcpu *self)
{
	for (unsigned i = 0; i < n; i++)
		route_msg(vm, &m[i], self);
}

/* An edge on ISA IRQ `irq`: the PIC's input and the I/O APIC pin it is wired to. vm->lock held;
 * returns whether *msg must be routed (after the lock is dropped). */
static bool isa_edge_locked(struct vm *vm, u8 irq, struct vioapic_msg *msg)
{
	spin_assert_held(&vm->lock);
	vpic_raise(&vm->pic, irq);
	return vioapic_pulse(&vm->ioapic, irq == PIT_IRQ ? PIT_GSI : irq, msg);
}

/* The PIT (0x40-0x43) and the RTC (0x70-0x71): the VM's timers, which vCPU 0 polls. */
static void timer_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
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

/* INIT, SIPI and fixed interrupts to one vCPU (SDM vol. 3A §10.6.1, §8.4.4). */
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
	default:
		/* NMI and SMI IPIs need event types no guest of Keel uses yet. */
		wake = false;
		break;
	}
	spin_unlock_irqrestore(&t->lock, flags);
	t->slow = true; /* if it is this CPU's, before its next entry (another CPU's gets the kick) */
	/* A vCPU halted with IF = 0 takes no fixed interrupt: only INIT wakes it. */
	if (wake && t != self && (ipi->mode == VLAPIC_IPI_INIT || ipi->mode == VLAPIC_IPI_SIPI || receptive(t)))
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
	route_msgs(vm, msg, n, self);
}

static void ioapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
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
	route_msgs(vm, msg, n, v);
	/* An unmasked pin may make the PIT or RTC a wake-up source for vCPU 0 (platform_wake_time). */
	if (write && v->id != 0)
		vcpu_kick(vm->vcpus[0]);
}

static void lapic_mmio(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val)
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

/* --- Legacy and ACPI devices: RTC, PM timer and PM1 blocks, reset sources, PCI ---------- */

static void power_event(struct vm *vm, enum vacpi_event ev)
{
	if (ev == VACPI_POWEROFF) {
		vm_power_event(vm, VM_END_POWEROFF);
	} else if (ev == VACPI_RESET) {
		vm_power_event(vm, VM_END_RESET);
	} else if (ev == VACPI_SLEEP) {
		/* S1-S4 need firmware to resume through; the DSDT offers only \_S5_. */
		vm_crash(vm, "the guest asked for an ACPI sleep state other than S5 (not offered)");
	}
}

static void pm_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned off = port - PLATFORM_PM_BASE;
	enum vacpi_event ev = VACPI_NONE;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (off < 4) {
		if (in)
			*val = vacpi_pm1_evt_read(&vm->acpi, off, size, time_ns());
		else
			vacpi_pm1_evt_write(&vm->acpi, off, size, *val);
	} else if (off < 6) {
		if (in)
			*val = vacpi_pm1_cnt_read(&vm->acpi, off - 4, size);
		else
			ev = vacpi_pm1_cnt_write(&vm->acpi, off - 4, size, *val);
	} else if (off >= 8 && in) {
		*val = vacpi_pm_tmr_read(&vm->acpi, off - 8, size, time_ns());
	} else if (in) {
		*val = ~0u;
	}
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
}

/* 0xcf8-0xcff: PCI configuration mechanism 1, and the Reset Control register at 0xcf9 (bytes). */
static void pci_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	enum vacpi_event ev = VACPI_NONE;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (vpci_owns(port, size)) {
		if (in)
			*val = vpci_io_read(&vm->pci, port, size);
		else
			vpci_io_write(&vm->pci, port, size, *val);
	} else if (in) {
		*val = vacpi_cf9_read(&vm->acpi);
	} else {
		ev = vacpi_cf9_write(&vm->acpi, (u8)*val);
	}
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
}

/* 0x60/0x64: the keyboard controller, for its reset line only (no keyboard is attached). */
static void kbc_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	enum vacpi_event ev = VACPI_NONE;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vacpi_kbc_read(&vm->acpi, port);
	else
		ev = vacpi_kbc_write(&vm->acpi, port, (u8)*val);
	spin_unlock_irqrestore(&vm->lock, flags);
	power_event(vm, ev);
}

/* 0x61: PIT channel 2's gate and output, the speaker, the refresh toggle. */
static void port61_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val)
{
	struct vm *vm = v->vm;
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (in)
		*val = vpit_port61_read(&vm->pit, time_ns());
	else
		vpit_port61_write(&vm->pit, (u8)*val, time_ns());
	spin_unlock_irqrestore(&vm->lock, flags);
}

int platform_write_tables(struct vm *vm, u32 nr_vcpus, u64 *rsdp)
{
	/* Built in place, in this VM's own memory: resets build VMs again on any CPU at once, so a
	 * shared buffer could hand one VM another's MADT. */
	u8 *buf = gpa_map(vm, ACPI_GEN_BIOS_AREA_GPA, ACPI_GEN_MIN_BUF_SIZE);
	const struct acpi_gen_config cfg = {
		.nr_cpus = nr_vcpus,
		.ioapic_id = nr_vcpus, /* after the local APICs' IDs 0..n-1 */
		.ioapic_addr = VIOAPIC_BASE,
		.ioapic_gsi_base = 0,
		.lapic_addr = VLAPIC_BASE,
		.pm1a_evt_port = PLATFORM_PM_BASE,
		.pm1a_cnt_port = PLATFORM_PM_BASE + 4,
		.pm_tmr_port = PLATFORM_PM_BASE + 8,
		.sci_irq = PLATFORM_SCI_IRQ,
		.reset_port = VPCI_RESET_CONTROL,
		.reset_value = PLATFORM_RESET_VALUE,
		/* The 8042 is there only for its reset line: no keyboard to probe for. */
		.has_i8042 = false,
		.has_cmos_rtc = true,
		.rtc_century = VRTC_CENTURY_INDEX,
		.legacy_devices = true, /* COM1 */
	};
	int n;

	if (!buf)
		return -EFAULT;
	n = acpi_gen_build(&cfg, buf, ACPI_GEN_MIN_BUF_SIZE, ACPI_GEN_BIOS_AREA_GPA, rsdp);
	return n < 0 ? n : 0;
}

int platform_init(struct vm *vm)
{
	u64 now = time_ns();
	int ret;

	vpic_reset(&vm->pic);
	vpit_reset(&vm->pit);
	vioapic_reset(&vm->ioapic, (u8)vm->nr_vcpus);
	vrtc_init(&vm->rtc, cmos_unix_time(), now); /* the host RTC, taken as UTC */
	vacpi_reset(&vm->acpi, now);
	vpci_init(&vm->pci);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		platform_vcpu_reset(vm->vcpus[i]);
	ret = vm_io_register(vm, 0x20, 2, pic_io);
	ret = ret ?: vm_io_register(vm, 0xa0, 2, pic_io);
	ret = ret ?: vm_io_register(vm, 0x40, 4, timer_io);
	ret = ret ?: vm_io_register(vm, 0x61, 1, port61_io);
	ret = ret ?: vm_io_register(vm, 0x60, 1, kbc_io);
	ret = ret ?: vm_io_register(vm, 0x64, 1, kbc_io);
	ret = ret ?: vm_io_register(vm, VRTC_PORT_INDEX, 2, timer_io);
	ret = ret ?: vm_io_register(vm, PLATFORM_PM_BASE, 12, pm_io);
	ret = ret ?: vm_io_register(vm, VPCI_PORT_FIRST, VPCI_PORT_LAST - VPCI_PORT_FIRST + 1, pci_io);
	ret = ret ?: vm_mmio_register(vm, VIOAPIC_BASE, VIOAPIC_SIZE, ioapic_mmio);
	return ret ?: vm_mmio_register(vm, VLAPIC_BASE, VLAPIC_SIZE, lapic_mmio);
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
		vcpu_kick(v->vm->vcpus[0]); /* as for the xAPIC's SVR (lapic_mmio) */
	return ret;
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
	struct vioapic_msg msg;
	bool send = isa_edge_locked(vm, irq, &msg);

	spin_unlock_irqrestore(&vm->lock, flags);
	if (send)
		route_msg(vm, &msg, NULL);
	vm->vcpus[0]->slow = true; /* the PIC's output, if vCPU 0 runs on this CPU */
	vcpu_kick(vm->vcpus[0]);
}

/* Turns expired timers into interrupt requests. */
static void poll_timers(struct vcpu *v, u64 now)
{
	struct vm *vm = v->vm;
	unsigned long flags;

	/* Read without the lock as a hint (another vCPU may be reprogramming a timer); the polls under
	 * the lock decide, and a write to either device kicks vCPU 0 to look again. */
	if (v->id == 0 && (vm->pit.next_ns || vrtc_next_ns(&vm->rtc))) {
		struct vioapic_msg msg[2];
		unsigned n = 0;

		flags = spin_lock_irqsave(&vm->lock);
		if (vpit_expired(&vm->pit, now) && isa_edge_locked(vm, PIT_IRQ, &msg[n]))
			n++;
		if (vrtc_poll(&vm->rtc, now) && isa_edge_locked(vm, RTC_IRQ, &msg[n]))
			n++;
		spin_unlock_irqrestore(&vm->lock, flags);
		route_msgs(vm, msg, n, v);
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

	return (if_set && pic_wired(v0) && !vpic_irq_masked(&vm->pic, irq)) ||
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
		dregs_guest_reset(&v->dregs); /* INIT clears DR0-DR3 and DR6 too (SDM vol. 3A table 9-1) */
		pr_debug("vm %s: vCPU %u started by SIPI at %#x\n", v->vm->name, v->id, vector << 12);
	}
	return v->mp_state == VCPU_MP_RUNNING;
}
