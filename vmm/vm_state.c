/* SPDX-License-Identifier: MIT */
/* A VM's state machine (enum vm_state: created -> running <-> paused -> dead), changed from any
 * CPU: how it ends (vm_crash, vm_exit_status, vm_power_event; the first reason wins), and start,
 * pause, resume and kill. Pause, resume and kill kick its vCPUs, which act on the change at their
 * next scheduling point (kernel/sched.c). */
#include "vmm/vm_state.h"

#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "vmm/vcpu_run.h"

static bool transition(struct vm *vm, enum vm_state from, enum vm_state to)
{
	enum vm_state expect = from;

	return __atomic_compare_exchange_n(&vm->state, &expect, to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void vm_crash(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	/* Several vCPUs (or the console) may end it at once: the first one says why. */
	if (__atomic_exchange_n(&vm->ending, true, __ATOMIC_ACQ_REL))
		return;
	va_start(ap, fmt);
	kvsnprintf(vm->crash_reason, sizeof(vm->crash_reason), fmt, ap);
	va_end(ap);
	vm->crashed = true;
	__atomic_store_n(&vm->state, VM_DEAD, __ATOMIC_RELEASE);
	pr_warn("vm %s: crashed: %s\n", vm->name, vm->crash_reason);
}

void vm_exit_status(struct vm *vm, u32 status)
{
	if (__atomic_exchange_n(&vm->ending, true, __ATOMIC_ACQ_REL))
		return;
	vm->exit_status = status;
	__atomic_store_n(&vm->state, VM_DEAD, __ATOMIC_RELEASE);
}

void vm_power_event(struct vm *vm, enum vm_end how)
{
	if (__atomic_exchange_n(&vm->ending, true, __ATOMIC_ACQ_REL))
		return;
	vm->end = how;
	__atomic_store_n(&vm->state, VM_DEAD, __ATOMIC_RELEASE);
}

static void kick_all(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

bool vm_start(struct vm *vm)
{
	return transition(vm, VM_CREATED, VM_RUNNING);
}

bool vm_pause(struct vm *vm)
{
	if (!transition(vm, VM_RUNNING, VM_PAUSED))
		return false;
	kick_all(vm);
	return true;
}

bool vm_resume(struct vm *vm)
{
	if (!transition(vm, VM_PAUSED, VM_RUNNING))
		return false;
	kick_all(vm);
	return true;
}

bool vm_kill(struct vm *vm, const char *why)
{
	if (vm->state == VM_DEAD)
		return false;
	vm_crash(vm, "%s", why);
	kick_all(vm);
	return true;
}
