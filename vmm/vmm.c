/* SPDX-License-Identifier: MIT */
/*
 * Pre-launched VMs from the hypervisor command line: each is built from a boot module, its
 * vCPUs handed to the scheduler (kernel/sched.c), which every CPU runs; a VM is reported and
 * freed when its last vCPU leaves the scheduler. The console reaches VMs through the list here.
 */
#include "vmm/vmm.h"

#include "arch/x86/memlayout.h"
#include "arch/x86/tsc.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/fpu.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "vmm/vcpu_run.h"
#include "kernel/smp.h"
#include "kernel/spinlock.h"
#include "vmm/exit.h"
#include "vmm/dev/vuart.h"
#include "vmm/loader.h"
#include "vmm/platform.h"
#include "vmm/vm_state.h"
#include "vmm/console.h"
#include "vmm/vm_config.h"

/* Guards vm_configs[].vm: a VM leaves the list before it is freed. */
static spinlock_t list_lock = SPINLOCK_INIT;
static volatile u32 cpus_in_loop;
/* The boot modules VMs are built from, at boot and again when one resets (they are never freed). */
static const struct boot_info *boot_info;

static struct vm *build_vm(const struct vm_config *c, const struct boot_info *bi);
static void start_vm(struct vm *vm);

static void report(struct vm *vm, bool restart)
{
	char counts[256];
	size_t used = 0;

	counts[0] = '\0';
	for (unsigned r = 0; r < EXIT_REASON_MAX; r++) {
		u64 n = 0;

		for (u32 i = 0; i < vm->nr_vcpus; i++)
			n += vm->vcpus[i]->exit_counts[r];
		if (n && used < sizeof(counts))
			used += (size_t)ksnprintf(counts + used, sizeof(counts) - used, " %s=%llu", exit_reason_name(r),
						  (unsigned long long)n);
	}
	if (vm->crashed)
		klog(LOG_ALWAYS, "keel: vm %s crashed: %s; exits:%s\n", vm->name, vm->crash_reason, counts);
	else if (vm->end == VM_END_POWEROFF)
		klog(LOG_ALWAYS, "keel: vm %s powered off; exits:%s\n", vm->name, counts);
	else if (vm->end == VM_END_RESET)
		klog(LOG_ALWAYS, "keel: vm %s reset itself%s; exits:%s\n", vm->name,
		     restart ? ", restarting it" : " (on_reset=end)", counts);
	else
		klog(LOG_ALWAYS, "keel: vm %s exited with status %u; exits:%s\n", vm->name, vm->exit_status, counts);
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct sched_stats st;
		char ran_on[64];

		sched_entity_stats(&vm->vcpus[i]->se, &st);
		hvcon_format_cpulist(ran_on, sizeof(ran_on), st.ran_on, 0);
		pr_info(
		    "vm %s: vCPU %u ran %llu us (%llu us in the guest), waited %llu us, blocked %llu us, on CPUs %s, "
		    "%u migrations\n",
		    vm->name, i, (unsigned long long)(st.run_ns / 1000),
		    (unsigned long long)(tsc_khz ? vm->vcpus[i]->guest_cycles * 1000 / tsc_khz : 0),
		    (unsigned long long)(st.wait_ns / 1000), (unsigned long long)(st.block_ns / 1000), ran_on,
		    st.migrations);
	}
}

/*
 * A reset VM is built again from its modules, like a PC that reboots: fresh memory, vCPUs and
 * devices, the same name and console number (the console's input stays with it). Runs on the
 * CPU that retired the old VM's last vCPU, which the scheduler still counts, so the CPUs do not
 * leave their loops meanwhile. The time it takes from `since` (freeing the old VM, building the
 * new one) is charged to the VM: its vCPU 0 starts with it as run time, and its cap with it as
 * debt, so a guest that resets in a loop pays for its rebuilds within its cap.
 */
static void restart_vm(struct vm_config *c, u32 id, u64 since)
{
	struct vm *vm = build_vm(c, boot_info);
	unsigned long flags;
	bool dropped;

	if (vm)
		vm->id = id;
	flags = spin_lock_irqsave(&list_lock);
	c->restarting = false;
	dropped = vm && c->destroy_requested;
	if (vm && !dropped) {
		c->restarts++;
		c->vm = vm;
	}
	spin_unlock_irqrestore(&list_lock, flags);
	if (!vm) {
		pr_err("vm %s: cannot be built again after its reset (see above); it stays ended\n", c->name);
	} else if (dropped) {
		klog(LOG_ALWAYS, "keel: vm %s destroyed from the console while it restarted\n", c->name);
		vm_destroy(vm);
	} else {
		u64 spent = time_ns() - since;

		pr_info("vm %s: restart %u\n", c->name, c->restarts);
		vm->cap.charged_ns = spent;
		vm->vcpus[0]->se.run_ns = spent;
		start_vm(vm);
	}
}

void vmm_vm_finished(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = NULL;
	u32 id = vm->id;
	bool restart;
	u64 since;

	for (u32 i = 0; i < nr_vm_configs; i++) {
		if (vm_configs[i].vm == vm) {
			vm_configs[i].vm = NULL;
			c = &vm_configs[i];
		}
	}
	restart = c && !vm->crashed && vm->end == VM_END_RESET && !c->end_on_reset;
	if (restart) {
		c->restarting = true;
		c->destroy_requested = false;
	}
	spin_unlock_irqrestore(&list_lock, flags);
	guest_console_flush(vm);
	report(vm, restart);
	since = time_ns();
	vm_destroy(vm);
	if (restart)
		restart_vm(c, id, since);
}

static void cpu_loop(void *arg)
{
	__atomic_fetch_add(&cpus_in_loop, 1, __ATOMIC_SEQ_CST);
	sched_cpu_loop();
	__atomic_fetch_sub(&cpus_in_loop, 1, __ATOMIC_SEQ_CST);
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

static int load_linux(struct vm *vm, const struct vm_config *c, const struct boot_info *bi, u64 rsdp,
		      struct vcpu_boot_state *boot, const char **why)
{
	const struct boot_module *k = &bi->modules[c->module], *rd = NULL;
	struct guest_image kernel = { phys_to_virt(k->base), k->size, k->cmdline }, initrd = { 0 };

	/* GRUB and QEMU put the module's file name first: the kernel gets the rest. */
	if (kernel.cmdline[0] == '/') {
		while (*kernel.cmdline && *kernel.cmdline != ' ')
			kernel.cmdline++;
		while (*kernel.cmdline == ' ')
			kernel.cmdline++;
	}

	if (c->initrd != ~0u) {
		rd = c->initrd < bi->nr_modules ? &bi->modules[c->initrd] : NULL;
		if (!rd || !rd->size) {
			*why = "the initrd= module does not exist (or was rejected)";
			return -ENOENT;
		}
		initrd = (struct guest_image){ phys_to_virt(rd->base), rd->size, rd->cmdline };
	}
	return load_linux_guest(vm, &kernel, rd ? &initrd : NULL, rsdp, boot, why);
}

static struct vm *build_vm(const struct vm_config *c, const struct boot_info *bi)
{
	const struct boot_module *m = c->module < bi->nr_modules ? &bi->modules[c->module] : NULL;
	struct vcpu_boot_state boot;
	const char *why = NULL;
	struct vcpu *v;
	struct vm *vm;
	u64 rsdp;

	if (!m || !m->size) {
		pr_err("vm %s: module %u does not exist (or was rejected); not started\n", c->name, c->module);
		return NULL;
	}
	vm = vm_create(c->name, c->mem);
	if (!vm)
		return NULL;
	if (platform_write_tables(vm, c->vcpus, &rsdp)) {
		pr_err("vm %s: cannot write its ACPI tables; not started\n", c->name);
		goto fail;
	}
	if (c->boot == VM_BOOT_REAL    ? load_realmode_guest(vm, phys_to_virt(m->base), m->size, &boot, &why)
	    : c->boot == VM_BOOT_LINUX ? load_linux(vm, c, bi, rsdp, &boot, &why)
				       : load_guest_with_modules(vm, c, bi, &boot, &why)) {
		pr_err("vm %s: module %u: %s; not started\n", c->name, c->module, why);
		goto fail;
	}
	vm->cap.pct = c->cap;
	vm->mgmt = c->mgmt;
	for (u32 i = 0; i < c->vcpus; i++) {
		/* APs wait for INIT and SIPI; their state until then does not matter. */
		static const struct vcpu_boot_state ap = { .protected_mode = false };
		hpa_t fpu = page_alloc_zeroed(0);

		v = fpu == INVALID_HPA ? NULL : kzalloc(sizeof(*v));
		if (!v) {
			if (fpu != INVALID_HPA)
				page_free(fpu, 0);
			goto fail;
		}
		v->vm = vm;
		v->id = i;
		v->fpu_area = phys_to_virt(fpu);
		fpu_guest_init(v->fpu_area);
		dregs_guest_init(&v->dregs);
		v->mp_state = i ? VCPU_MP_WAIT_SIPI : VCPU_MP_RUNNING;
		/* The cap is the VM's, shared by its vCPUs. */
		v->se = (struct sched_entity){
			.weight = c->weight, .cap_pct = c->cap, .group = &vm->cap, .affinity = c->affinity[i]
		};
		vm->vcpus[vm->nr_vcpus++] = v;
		if (vcpu_ops->vcpu_init(v, i ? &ap : &boot))
			goto fail;
	}
	vm->has_ctl = c->ctl;
	if (guest_devices_init(vm) || platform_init(vm))
		goto fail;
	pr_info("vm %s: %llu MiB (%u GiB in 1 GiB pages), %u vCPU%s, module %u (%s), %u guest module%s, entry %#llx\n",
		vm->name, (unsigned long long)(vm->ram_size >> 20), vm->nr_huge_blocks, vm->nr_vcpus,
		vm->nr_vcpus == 1 ? "" : "s", c->module, m->cmdline, c->nr_mods, c->nr_mods == 1 ? "" : "s",
		(unsigned long long)boot.rip);
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

/* Hands the vCPUs of a built VM to the scheduler. */
static void start_vm(struct vm *vm)
{
	u32 n = 0, left;

	vm_start(vm);
	vm->live_vcpus = vm->nr_vcpus;
	for (; n < vm->nr_vcpus; n++) {
		if (vcpu_sched_add(vm->vcpus[n])) {
			vm_crash(vm, "vCPU %u cannot be scheduled (see above)", n);
			break;
		}
	}
	/* The vCPUs that never joined leave at once; those that did see the crash and retire
	 * (and may already have: the last one out, here or there, finishes the VM). */
	left = vm->nr_vcpus - n;
	if (left && __atomic_sub_fetch(&vm->live_vcpus, left, __ATOMIC_ACQ_REL) == 0)
		vmm_vm_finished(vm);
}

void vmm_run_all(const struct boot_info *bi)
{
	u32 failed = 0;
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
	boot_info = bi;
	for (u32 i = 0; i < nr_vm_configs; i++)
		vm_configs[i].vm = build_vm(&vm_configs[i], bi);

	sched_setup(&vcpu_sched_ops);
	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm)
			start_vm(vm_configs[i].vm);
	hvcon_init();
	for (u32 c = 1; c < MAX_CPUS; c++)
		if (cpus[c] && cpus[c]->online)
			smp_post(c, cpu_loop, NULL);
	cpu_loop(NULL);
	while (__atomic_load_n(&cpus_in_loop, __ATOMIC_ACQUIRE))
		cpu_relax();

	if (page_free_count() != free_before)
		pr_err("vmm: %lld pages not returned after the VMs ended\n",
		       (long long)(free_before - page_free_count()));
	else
		pr_info("vmm: every VM page returned to the allocator\n");
}

/* The console's view (vmm/vmm.h). */

/* Under the list lock: the declaration of the VM the console names (by name or number); its vm
 * may be NULL while it restarts. */
static struct vm_config *find_locked(const char *name)
{
	u64 id = 0;
	const char *p = name;

	spin_assert_held(&list_lock);
	for (; *p >= '0' && *p <= '9' && id < 1000000; p++)
		id = id * 10 + (u64)(*p - '0');
	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm_config *c = &vm_configs[i];
		struct vm *vm = c->vm;

		if ((vm || c->restarting) && !strcmp(c->name, name))
			return c;
		if (vm && p != name && !*p && vm->id == id)
			return c;
	}
	return NULL;
}

void vmm_for_each_vm(vm_visit_fn fn, void *arg)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);

	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm)
			fn(vm_configs[i].vm, arg);
	spin_unlock_irqrestore(&list_lock, flags);
}

static int vm_op(const char *name, int op)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_locked(name);
	struct vm *vm = c ? c->vm : NULL;
	bool done = false;

	/* The list lock keeps the VM from being freed meanwhile; the operations only change its
	 * state and kick its vCPUs. A VM between its reset and its new start can only be destroyed. */
	if (vm)
		done = op == 0 ? vm_pause(vm) : op == 1 ? vm_resume(vm) : vm_kill(vm, "destroyed from the console");
	else if (c && op == 2)
		done = c->destroy_requested = true;
	spin_unlock_irqrestore(&list_lock, flags);
	return !c ? -ENOENT : done ? 0 : -EINVAL;
}

int vmm_pause(const char *vm)
{
	return vm_op(vm, 0);
}

int vmm_resume(const char *vm)
{
	return vm_op(vm, 1);
}

int vmm_destroy(const char *vm)
{
	return vm_op(vm, 2);
}

int vmm_input(u32 vm_id, const u8 *buf, size_t len)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	int ret = -ENOENT;

	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm *vm = vm_configs[i].vm;

		if (vm && vm->id == vm_id) {
			guest_console_input(vm, buf, len);
			ret = 0;
		}
	}
	spin_unlock_irqrestore(&list_lock, flags);
	return ret;
}

u32 vmm_next_vm(u32 vm_id)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	u32 next = 0;

	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm *vm = vm_configs[i].vm;

		if (vm && vm->id > vm_id && (!next || vm->id < next))
			next = vm->id;
	}
	spin_unlock_irqrestore(&list_lock, flags);
	return next;
}

int vmm_vm_name(u32 vm_id, char *buf, size_t len)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	int ret = -ENOENT;

	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm *vm = vm_configs[i].vm;

		if (vm && vm->id == vm_id) {
			kstrlcpy(buf, vm->name, len);
			ret = 0;
		}
	}
	spin_unlock_irqrestore(&list_lock, flags);
	return ret;
}
