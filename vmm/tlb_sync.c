/* SPDX-License-Identifier: MIT */
/* Synchronous nested-TLB shootdown (vmm/tlb_sync.h). */
#include "vmm/tlb_sync.h"

#include "arch/x86/cpu.h"
#include "vmm/vcpu_run.h"

void vcpu_tlb_enter(struct vcpu *v)
{
	u64 gen;

	__atomic_store_n(&v->in_guest, 1, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&v->vm->tlb_gen, __ATOMIC_SEQ_CST);
	if (gen != v->tlb_gen_seen) {
		vcpu_ops->flush_tlb(v);
		__atomic_store_n(&v->tlb_gen_seen, gen, __ATOMIC_RELEASE);
	}
}

void vcpu_tlb_exit(struct vcpu *v)
{
	__atomic_store_n(&v->in_guest, 0, __ATOMIC_RELEASE);
}

/* v may still use translations from before generation gen. */
static bool must_wait(const struct vcpu *v, u64 gen)
{
	return __atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST) &&
	       (s64)(__atomic_load_n(&v->tlb_gen_seen, __ATOMIC_ACQUIRE) - gen) < 0;
}

void vm_tlb_flush_sync(struct vm *vm)
{
	u64 gen = __atomic_add_fetch(&vm->tlb_gen, 1, __ATOMIC_SEQ_CST);

	for (u32 i = 0; i < vm->nr_vcpus; i++)
		if (must_wait(vm->vcpus[i], gen))
			vcpu_kick(vm->vcpus[i]);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		while (must_wait(vm->vcpus[i], gen))
			cpu_relax();
}
