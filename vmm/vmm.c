/* SPDX-License-Identifier: MIT */
/*
 * Pre-launched VMs from the hypervisor command line: each is built from a boot module, run on
 * a physical CPU of its own (until the scheduler arrives, a CPU takes the next VM when its VM
 * ends), and reported at its end.
 */
#include "vmm/vmm.h"

#include "arch/x86/memlayout.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "vmm/exit.h"
#include "vmm/guest_console.h"
#include "vmm/loader.h"
#include "vmm/platform.h"
#include "vmm/run.h"
#include "vmm/vm_config.h"

static u32 next_job;
static volatile u32 nr_finished;

static void report(const struct vm *vm)
{
	char counts[256];
	size_t used = 0;

	counts[0] = '\0';
	for (unsigned r = 0; r < EXIT_REASON_MAX; r++)
		if (vm->exit_counts[r] && used < sizeof(counts))
			used += (size_t)ksnprintf(counts + used, sizeof(counts) - used, " %s=%llu", exit_reason_name(r),
						  (unsigned long long)vm->exit_counts[r]);
	if (vm->crashed)
		klog(LOG_ALWAYS, "keel: vm %s crashed: %s; exits:%s\n", vm->name, vm->crash_reason, counts);
	else
		klog(LOG_ALWAYS, "keel: vm %s exited with status %u; exits:%s\n", vm->name, vm->exit_status, counts);
}

/* Every CPU with nothing else to do runs this: take the next VM, run it to its end, repeat. */
static void worker(void *arg)
{
	for (;;) {
		u32 job = __atomic_fetch_add(&next_job, 1, __ATOMIC_SEQ_CST);

		if (job >= nr_vm_configs)
			return;
		if (vm_configs[job].vm)
			vm_run(vm_configs[job].vm);
		__atomic_fetch_add(&nr_finished, 1, __ATOMIC_SEQ_CST);
	}
}

static void enable_cpu(void *arg)
{
	int ret = vcpu_ops->cpu_enable();

	if (ret) {
		pr_err("vmm: CPU %u cannot enable %s (%d)\n", this_cpu()->cpu, vcpu_ops->name, ret);
		__atomic_fetch_add((u32 *)arg, 1, __ATOMIC_SEQ_CST);
	}
}

static int load_guest_with_modules(struct vm *vm, const struct vm_config *c, const struct boot_info *bi,
				   struct vcpu_boot_state *boot, const char **why)
{
	const struct boot_module *k = &bi->modules[c->module];
	struct guest_image kernel = { phys_to_virt(k->base), k->size, k->cmdline }, mods[VM_CONFIG_MAX_MODS];

	for (u32 i = 0; i < c->nr_mods; i++) {
		const struct boot_module *m = &bi->modules[c->mods[i]];

		if (c->mods[i] >= bi->nr_modules || !m->size) {
			*why = "a module listed in mods= does not exist (or was rejected)";
			return -ENOENT;
		}
		mods[i] = (struct guest_image){ phys_to_virt(m->base), m->size, m->cmdline };
	}
	return load_multiboot_guest(vm, &kernel, mods, c->nr_mods, boot, why);
}

static struct vm *build_vm(const struct vm_config *c, const struct boot_info *bi)
{
	const struct boot_module *m = c->module < bi->nr_modules ? &bi->modules[c->module] : NULL;
	struct vcpu_boot_state boot;
	const char *why = NULL;
	struct vcpu *v;
	struct vm *vm;

	if (!m || !m->size) {
		pr_err("vm %s: module %u does not exist (or was rejected); not started\n", c->name, c->module);
		return NULL;
	}
	vm = vm_create(c->name, c->mem);
	if (!vm)
		return NULL;
	if (c->boot == VM_BOOT_REAL ? load_realmode_guest(vm, phys_to_virt(m->base), m->size, &boot, &why)
				    : load_guest_with_modules(vm, c, bi, &boot, &why)) {
		pr_err("vm %s: module %u: %s; not started\n", c->name, c->module, why);
		goto fail;
	}
	v = kzalloc(sizeof(*v));
	if (!v)
		goto fail;
	v->vm = vm;
	vm->vcpus[vm->nr_vcpus++] = v;
	if (vcpu_ops->vcpu_init(v, &boot) || guest_devices_init(vm) || platform_init(vm))
		goto fail;
	pr_info("vm %s: %llu MiB (%u GiB in 1 GiB pages), module %u (%s), %u guest module%s, entry %#llx\n", vm->name,
		(unsigned long long)(vm->ram_size >> 20), vm->nr_huge_blocks, c->module, m->cmdline, c->nr_mods,
		c->nr_mods == 1 ? "" : "s", (unsigned long long)boot.rip);
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void vmm_run_all(const struct boot_info *bi)
{
	u32 failed = 0, posted = 0;
	u64 free_before;

	if (!nr_vm_configs)
		return;
	if (!arch_virt_probe()) {
		pr_err("vmm: this CPU has neither AMD-V with nested paging nor VT-x with EPT; no VM can run\n");
		return;
	}
	if (smp_call_all(enable_cpu, &failed) == 0 || failed) {
		pr_err("vmm: virtualization could not be enabled on every CPU\n");
		return;
	}
	/* Per-CPU virtualization state stays; everything a VM takes must come back. */
	free_before = page_free_count();
	for (u32 i = 0; i < nr_vm_configs; i++)
		vm_configs[i].vm = build_vm(&vm_configs[i], bi);

	for (u32 c = 1; c < MAX_CPUS && posted + 1 < nr_vm_configs; c++)
		if (cpus[c] && cpus[c]->online && smp_post(c, worker, NULL) == 0)
			posted++;
	worker(NULL);
	while (__atomic_load_n(&nr_finished, __ATOMIC_ACQUIRE) < nr_vm_configs)
		__asm__ volatile("hlt"); /* woken by the timer tick */

	for (u32 i = 0; i < nr_vm_configs; i++) {
		if (!vm_configs[i].vm)
			continue;
		report(vm_configs[i].vm);
		vm_destroy(vm_configs[i].vm);
		vm_configs[i].vm = NULL;
	}
	if (page_free_count() != free_before)
		pr_err("vmm: %lld pages not returned after the VMs ended\n",
		       (long long)(free_before - page_free_count()));
	else
		pr_info("vmm: every VM page returned to the allocator\n");
}
