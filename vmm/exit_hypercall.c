/* SPDX-License-Identifier: MIT */
/* Hypercalls (vmm/public/keel_hypercall.h). Guest buffers are copied once, then used. */
#include "arch/x86/regs.h"
#include "kernel/log.h"
#include "vmm/guest_mem.h"
#include "vmm/exit.h"
#include "vmm/dev/vuart.h"
#include "vmm/public/keel_hypercall.h"

/* The ABI's error numbers are the ones Keel returns (the guests compile the public header). */
_Static_assert(KEEL_EPERM == EPERM && KEEL_EFAULT == EFAULT && KEEL_EINVAL == EINVAL && KEEL_ENOSYS == ENOSYS,
	       "vmm/public/keel_hypercall.h's KEEL_E* differ from Keel's errno values");

static s64 hc_console_write(struct vcpu *v, u64 gpa, u64 len)
{
	char buf[HC_CONSOLE_MAX];

	if (len > HC_CONSOLE_MAX)
		return -EINVAL;
	if (gpa_read(v->vm, gpa, buf, len))
		return -EFAULT;
	/* Into the VM's output ring, what fits: printing is the run loop's (guest_console_drain). */
	return guest_console_write(v->vm, buf, (u32)len);
}

bool hypercall_is_short(struct vcpu *v)
{
	/* Console writes copy and print up to HC_CONSOLE_MAX bytes: not with interrupts off. */
	return (u32)v->gprs.rax != HC_CONSOLE_WRITE;
}

void handle_hypercall(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 }, vmcall[] = { 0x0f, 0x01, 0xc1 };
	struct vcpu_code_state cs;
	bool wide = (vcpu_code_state(v, &cs), cs.efer & EFER_LMA);
	u64 nr = wide ? v->gprs.rax : (u32)v->gprs.rax;
	u64 a0 = wide ? v->gprs.rdi : (u32)v->gprs.rbx;
	u64 a1 = wide ? v->gprs.rsi : (u32)v->gprs.rcx;
	s64 ret;

	/* A guest may use either vendor's instruction: both raise this exit where they are valid. */
	if (!e->next_rip) {
		u64 next;

		if (insn_end_at(v, &cs, vmmcall, sizeof(vmmcall), &next) < 0 &&
		    insn_end_at(v, &cs, vmcall, sizeof(vmcall), &next) < 0) {
			vm_crash(v->vm, "cannot decode the hypercall instruction");
			return;
		}
		vcpu_ops->set(v, VREG_RIP, next);
	} else {
		vcpu_ops->set(v, VREG_RIP, e->next_rip);
	}
	/* VMMCALL and VMCALL exit at any privilege level: hypercalls are the guest kernel's, so its
	 * user space gets -EPERM for every number and changes nothing (KVM does the same). */
	if (cs.cpl != 0) {
		v->gprs.rax = wide ? (u64)-EPERM : (u32)-EPERM;
		return;
	}
	switch (nr) {
	case HC_VERSION:
		ret = KEEL_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(v, a0, a1);
		break;
	case HC_EXIT:
		vm_exit_status(v->vm, (u32)a0);
		return;
	default:
		ret = -ENOSYS;
		break;
	}
	v->gprs.rax = wide ? (u64)ret : (u32)ret;
}
