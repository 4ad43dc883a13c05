/* SPDX-License-Identifier: MIT */
#include "kernel/percpu.h"

#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "kernel/lib/string.h"
#include "kernel/mm/page.h"

struct percpu *cpus[MAX_CPUS];
u32 nr_cpus_online;
u32 nr_cpus_present;

struct percpu *percpu_alloc(u32 cpu, u32 apic_id)
{
	_Static_assert(sizeof(struct percpu) <= PAGE_SIZE, "struct percpu fits a page");
	hpa_t pa = page_alloc(0);
	struct percpu *p;

	if (pa == INVALID_HPA || cpu >= MAX_CPUS)
		return NULL;
	p = phys_to_virt(pa);
	memset(p, 0, sizeof(*p));
	p->self = p;
	p->cpu = cpu;
	p->apic_id = apic_id;
	cpus[cpu] = p;
	return p;
}

void percpu_install(struct percpu *p)
{
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
