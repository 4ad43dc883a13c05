/* SPDX-License-Identifier: MIT */
/* AP bring-up with INIT-SIPI-SIPI (Intel SDM vol. 3A §9.4.4, MP spec B.4) and cross-CPU calls. */
#include "kernel/smp.h"

#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/paging.h"
#include "arch/x86/spec.h"
#include "arch/x86/tsc.h"
#include "drivers/acpi/acpi.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/panic.h"
#include "kernel/spinlock.h"

struct tramp_data {
	u64 cr3, cr4, efer, stack, percpu, entry;
};

extern const char tramp_start[], tramp_end[], tramp_data[];
extern void paging_init_ap(void);

hpa_t smp_trampoline_pa; /* a page below 1 MiB reserved by the memory setup */

#define TIMER_HZ	    100
#define AP_START_TIMEOUT_US 1000000

__noreturn void ap_main(struct percpu *p);
__noreturn void ap_main(struct percpu *p)
{
	percpu_install(p);
	paging_init_ap();
	spec_init_cpu();
	fpu_init_cpu();
	if (cpu_tables_init(p, true))
		panic("CPU %u: no memory for its IST stacks", p->cpu);
	lapic_init_cpu();
	lapic_timer_start(TIMER_HZ);
	__atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
	__atomic_fetch_add(&nr_cpus_online, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		cpu_call_fn fn;

		irq_disable();
		fn = p->work_fn;
		if (fn) {
			void *arg = p->work_arg;

			irq_enable();
			fn(arg);
			__atomic_store_n(&p->work_fn, NULL, __ATOMIC_RELEASE);
			continue;
		}
		irq_enable_and_halt(); /* sti;hlt: the posting IPI cannot slip in between */
	}
}

static void wake(void *arg)
{
}

int smp_post(u32 cpu, cpu_call_fn fn, void *arg)
{
	struct percpu *p = cpu < MAX_CPUS ? cpus[cpu] : NULL;

	if (!p || !p->online || p == this_cpu())
		return -ENOENT;
	if (p->work_fn)
		return -EBUSY;
	p->work_arg = arg;
	__atomic_store_n(&p->work_fn, fn, __ATOMIC_RELEASE);
	return smp_call(cpu, wake, NULL);
}

static bool start_ap(u32 cpu, u32 apic_id)
{
	struct percpu *p = percpu_alloc(cpu, apic_id);
	struct tramp_data *td;
	void *stack = stack_alloc(KSTACK_SIZE);

	if (!p || !stack) {
		pr_err("smp: no memory to start CPU %u (APIC ID %u)\n", cpu, apic_id);
		return false;
	}
	p->stack_top = stack;
	pr_debug("smp: starting CPU %u (APIC ID %u), trampoline at %#llx\n", cpu, apic_id,
		 (unsigned long long)smp_trampoline_pa);
	td = phys_to_virt(smp_trampoline_pa + (u64)(tramp_data - tramp_start));
	td->cr3 = kernel_pml4();
	td->cr4 = read_cr4() & ~(u64)CR4_PCIDE;
	td->efer = rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE | EFER_SCE);
	td->stack = (u64)(uintptr_t)stack;
	td->percpu = (u64)(uintptr_t)p;
	td->entry = (u64)(uintptr_t)ap_main;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_ipi(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	udelay(10000);
	for (int sipi = 0; sipi < 2 && !p->online; sipi++) {
		lapic_send_ipi(apic_id, ICR_STARTUP | (u32)(smp_trampoline_pa >> PAGE_SHIFT));
		udelay(200);
	}
	for (u64 waited = 0; !__atomic_load_n(&p->online, __ATOMIC_ACQUIRE) && waited < AP_START_TIMEOUT_US;
	     waited += 100)
		udelay(100);
	if (!p->online) {
		pr_err("smp: CPU %u (APIC ID %u) did not start\n", cpu, apic_id);
		cpus[cpu] = NULL; /* its pages stay allocated: it may still wake up and use them */
		return false;
	}
	return true;
}

static void call_irq(struct trap_frame *f)
{
	struct percpu *p = this_cpu();
	u64 seq = p->call_seq;

	lapic_eoi();
	p->call_fn(p->call_arg);
	__atomic_store_n(&p->call_done, seq, __ATOMIC_RELEASE);
}

u32 smp_boot(void)
{
	u32 bsp = lapic_id(), started = 1, present = 0, skipped = 0;
	u64 tramp_len = (u64)(tramp_end - tramp_start);

	irq_set_handler(VEC_CALL, call_irq);
	for (u32 i = 0; i < acpi.madt.nr_cpus; i++)
		present += acpi.madt.cpus[i].enabled;
	nr_cpus_present = present ? present : 1;

	memcpy(phys_to_virt(smp_trampoline_pa), tramp_start, tramp_len);
	/* The trampoline turns paging on while running at its physical address. */
	if (map_range(smp_trampoline_pa, smp_trampoline_pa, PAGE_SIZE, MAP_W | MAP_X)) {
		pr_err("smp: cannot map the AP trampoline; running on the BSP only\n");
		return 1;
	}
	for (u32 i = 0; i < acpi.madt.nr_cpus; i++) {
		if (!acpi.madt.cpus[i].enabled || acpi.madt.cpus[i].apic_id == bsp)
			continue;
		if (spec_is_sibling_thread(acpi.madt.cpus[i].apic_id)) {
			skipped++;
			continue;
		}
		if (opts.maxcpus && started >= opts.maxcpus)
			break;
		if (started >= MAX_CPUS) {
			pr_warn("smp: more than %u CPUs; the rest stay offline\n", MAX_CPUS);
			break;
		}
		if (start_ap(started, acpi.madt.cpus[i].apic_id))
			started++;
	}
	unmap_range(smp_trampoline_pa, PAGE_SIZE);
	if (skipped)
		pr_info("smp: %u SMT sibling thread%s left offline (%s; smt=on starts them)\n", skipped,
			skipped == 1 ? "" : "s", opts.smt == OPT_OFF ? "smt=off" : "siblings are open to MDS/L1TF");
	return started;
}

static spinlock_t call_lock = SPINLOCK_INIT;

int smp_call(u32 cpu, cpu_call_fn fn, void *arg)
{
	struct percpu *p = cpu < MAX_CPUS ? cpus[cpu] : NULL;
	u64 seq;

	if (!p || !p->online)
		return -ENOENT;
	if (p == this_cpu()) {
		fn(arg);
		return 0;
	}
	/* Callers spin with interrupts on, so two CPUs calling each other cannot deadlock. */
	spin_lock(&call_lock);
	seq = p->call_seq + 1;
	p->call_fn = fn;
	p->call_arg = arg;
	p->call_seq = seq;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	lapic_send_ipi(p->apic_id, ICR_FIXED | VEC_CALL);
	for (u64 t = 0; __atomic_load_n(&p->call_done, __ATOMIC_ACQUIRE) != seq; t++) {
		if (t > 100000000ULL) {
			spin_unlock(&call_lock);
			pr_err("smp: CPU %u does not answer call IPIs\n", cpu);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	spin_unlock(&call_lock);
	return 0;
}

u32 smp_call_all(cpu_call_fn fn, void *arg)
{
	u32 ran = 0;

	for (u32 c = 0; c < MAX_CPUS; c++)
		if (cpus[c] && cpus[c]->online && smp_call(c, fn, arg) == 0)
			ran++;
	return ran;
}
