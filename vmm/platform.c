/* SPDX-License-Identifier: MIT */
/* Interrupt delivery from the virtual PIC/PIT to the vCPU, and HLT. */
#include "vmm/platform.h"

#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"

#define PIT_IRQ 0
/* Shorter waits are spun; longer ones sleep until the host's next timer tick (10 ms). */
#define SPIN_NS 10000000ull

static void pic_io(struct vm *vm, u16 port, unsigned size, bool in, u32 *val)
{
	if (in)
		*val = vpic_read(&vm->pic, port);
	else
		vpic_write(&vm->pic, port, (u8)*val);
}

static void pit_io(struct vm *vm, u16 port, unsigned size, bool in, u32 *val)
{
	if (in)
		*val = vpit_read(&vm->pit, port, time_ns());
	else
		vpit_write(&vm->pit, port, (u8)*val, time_ns());
}

int platform_init(struct vm *vm)
{
	int ret;

	vpic_reset(&vm->pic);
	vpit_reset(&vm->pit);
	ret = vm_io_register(vm, 0x20, 2, pic_io);
	ret = ret ?: vm_io_register(vm, 0xa0, 2, pic_io);
	return ret ?: vm_io_register(vm, 0x40, 4, pit_io);
}

static void poll_timers(struct vm *vm)
{
	/* On every entry: read the clock only when a timer is armed. */
	if (vm->pit.next_ns && vpit_expired(&vm->pit, time_ns()))
		vpic_raise(&vm->pic, PIT_IRQ);
}

void platform_before_entry(struct vcpu *v)
{
	struct vm *vm = v->vm;

	poll_timers(vm);
	if (!vpic_pending(&vm->pic))
		return;
	if (vcpu_ops->irq_window_open(v))
		vcpu_ops->inject_irq(v, vpic_acknowledge(&vm->pic));
	else
		vcpu_ops->request_irq_window(v);
}

void platform_halt(struct vcpu *v)
{
	struct vm *vm = v->vm;

	for (;;) {
		u64 now, due;

		poll_timers(vm);
		if (vpic_pending(&vm->pic) || vm->state == VM_DEAD)
			return;
		now = time_ns();
		due = vm->pit.next_ns;
		if (due && due - now < SPIN_NS)
			cpu_relax();
		else
			irq_enable_and_halt(); /* a halted guest with no timer sleeps until the host ticks */
	}
}
