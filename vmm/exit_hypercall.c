/* SPDX-License-Identifier: MIT */
/* Hypercalls (vmm/public/keel_hypercall.h). Guest buffers are copied once, then used. */
#include "arch/x86/regs.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "vmm/guest_mem.h"
#include "vmm/mgmt.h"
#include "vmm/mgmt_vm.h"
#include "vmm/exit.h"
#include "vmm/dev/vuart.h"
#include "vmm/public/keel_hypercall.h"
#include "vmm/vm_config.h"
#include "vmm/vmm.h"

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

struct vm_list {
	struct keel_vm_info *out;
	u32 max, n;
};

/* Under the VM list lock (vmm_for_each_vm): one entry, if there is room; every VM is counted. */
static void list_one(struct vm *vm, void *arg)
{
	struct vm_list *l = arg;

	if (l->n++ < l->max)
		mgmt_vm_info(vm, &l->out[l->n - 1]);
}

/* HC_VM_LIST: the list is built in Keel's memory under the list lock, then copied out at once
 * (the guest's buffer is written once, after every bound is checked). */
static s64 hc_vm_list(struct vcpu *v, u64 gpa, u64 max)
{
	struct keel_vm_info out[MAX_VMS]; /* Keel never has more */
	struct vm_list l = { .out = out, .max = (u32)MIN(max, (u64)MAX_VMS) };

	if (max > KEEL_VM_LIST_MAX)
		return -EINVAL;
	vmm_for_each_vm(list_one, &l);
	if (gpa_write(v->vm, gpa, out, (u64)MIN(l.n, l.max) * sizeof(out[0])))
		return -EFAULT;
	return l.n;
}

bool hypercall_is_short(struct vcpu *v)
{
	/* Console writes copy and print up to HC_CONSOLE_MAX bytes, the VM list takes the VM list
	 * lock and copies up to 2.3 KiB: not with interrupts off. */
	u32 nr = (u32)v->gprs.rax; /* the low half: enough to tell, and a 32-bit guest's RAX */

	return nr != HC_CONSOLE_WRITE && (nr < HC_MGMT_FIRST || nr > HC_MGMT_LAST);
}

void handle_hypercall(struct vcpu *v, const struct vm_exit *e)
{
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 }, vmcall[] = { 0x0f, 0x01, 0xc1 };
	struct vcpu_code_state cs;
	bool wide = (vcpu_code_state(v, &cs), cs.efer & EFER_LMA);
	u64 nr = wide ? v->gprs.rax : (u32)v->gprs.rax;
	u64 a0 = wide ? v->gprs.rdi : (u32)v->gprs.rbx;
	u64 a1 = wide ? v->gprs.rsi : (u32)v->gprs.rcx;
	u64 a2 = wide ? v->gprs.rdx : (u32)v->gprs.rdx;
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
	/* The management range is the management VM's alone, every number of it. */
	if (nr >= HC_MGMT_FIRST && nr <= HC_MGMT_LAST && !v->vm->mgmt) {
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
	case HC_VM_LIST:
		ret = hc_vm_list(v, a0, a1);
		break;
	default:
		/* The management VM's (checked above), by family (vmm/mgmt.h). */
		if (nr > HC_VM_LIST && nr < HC_IOREQ_ATTACH)
			ret = mgmt_vm_hypercall(v, nr, a0, a1, a2);
		else if (nr >= HC_IOREQ_ATTACH && nr < HC_WINDOW_MAP)
			ret = ioreq_hypercall(v, nr, a0, a1, a2);
		else if (nr >= HC_WINDOW_MAP && nr <= HC_MGMT_LAST)
			ret = window_hypercall(v, nr, a0, a1, a2);
		else
			ret = -ENOSYS;
		break;
	}
	v->gprs.rax = wide ? (u64)ret : (u32)ret;
}
