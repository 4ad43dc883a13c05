/* SPDX-License-Identifier: MIT */
#include "vmm/run.h"

#include "vmm/exit.h"
#include "vmm/guest_console.h"
#include "vmm/platform.h"

static bool transition(struct vm *vm, enum vm_state from, enum vm_state to)
{
	enum vm_state expect = from;

	return __atomic_compare_exchange_n(&vm->state, &expect, to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

bool vm_pause(struct vm *vm)
{
	return transition(vm, VM_RUNNING, VM_PAUSED);
}

bool vm_resume(struct vm *vm)
{
	return transition(vm, VM_PAUSED, VM_RUNNING);
}

void vm_run(struct vm *vm)
{
	struct vcpu *v = vm->vcpus[0];
	struct vm_exit e;

	transition(vm, VM_CREATED, VM_RUNNING);
	/* Nothing of the previous VM on this CPU may show through the FPU/SSE/AVX registers. */
	vmm_fpu_reset();
	for (;;) {
		enum vm_state s = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);

		if (s == VM_DEAD)
			break;
		if (s == VM_PAUSED) {
			vmm_idle();
			continue;
		}
		platform_before_entry(v);
		vcpu_ops->run(v, &e);
		if (vm->state == VM_DEAD)
			break;
		exit_dispatch(v, &e);
	}
	guest_console_flush(vm);
}
