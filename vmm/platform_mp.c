/* SPDX-License-Identifier: MIT */
/*
 * INIT and SIPI as the vCPU they are sent to applies them, on its own CPU before it enters
 * (Intel SDM vol. 3A §8.4): INIT resets its local APIC and makes it wait for a SIPI, which starts
 * it in real mode. Sending them is interrupt routing (vmm/platform_irq.c). v->lock guards the
 * INIT/SIPI state.
 */
#include "vmm/platform.h"

#include "kernel/log.h"

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
		v->nmi_pending = false; /* the reset drops a latched NMI too */
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
