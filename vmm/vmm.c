/* SPDX-License-Identifier: MIT */
/*
 * The VM list. Pre-launched VMs from the hypervisor command line: each is built from a boot
 * module, its vCPUs handed to the scheduler (kernel/sched.c), which every CPU runs; such a VM is
 * reported and freed (or rebuilt, after a reset) when its last vCPU leaves the scheduler. VMs
 * the management VM creates at run time (vmm/mgmt_vm.c) live in the same list: built by the
 * same code, but an ended one stays in the list, dead, with its memory, until it is destroyed
 * (so the management VM can take its windows down first). The console and the management VM
 * reach VMs through the list here.
 *
 * Lifetime: a VM leaves the list (under list_lock) before it is freed, and whoever frees it is
 * the last user: the last vCPU out of the scheduler (vmm_vm_finished), or, for a run-time VM
 * that never started or already finished, the destroy; an operation working on a run-time VM
 * outside the lock (`busy`: an image copy, a load) makes a destroy wait for its vmm_release().
 */
#include "vmm/vmm.h"

#include "arch/x86/cpu.h"
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
#include "vmm/mgmt.h"
#include "vmm/mgmt_vm.h"
#include "vmm/platform.h"
#include "vmm/platform_internal.h"
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

static void report(struct vm *vm, bool restart, bool runtime, bool served)
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
		     restart   ? ", restarting it"
		     : runtime ? " (created at run time: it stays ended until destroyed)"
		     : served  ? " (served by a device model, whose devices Keel cannot reset: it stays ended)"
			       : " (on_reset=end)",
		     counts);
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

/* Under the list lock: slot c's run-time VM leaves the list, its slot stays taken (name
 * included) until free_runtime() has given everything back. */
static struct vm *detach_locked(struct vm_config *c)
{
	struct vm *vm = c->vm;

	spin_assert_held(&list_lock);
	c->vm = NULL;
	c->destroy_requested = false;
	return vm;
}

/*
 * A run-time VM that left the list (detach_locked) goes: its device-model server if it never
 * ran (one that ran was told when it ended), its window, its pages, its staged images; then the
 * event, and the slot is free again. Runs with no lock held, on any CPU, as the VM's last user.
 */
static void free_runtime(struct vm_config *c, struct vm *vm)
{
	char name[VM_NAME_MAX];
	u32 id = vm->id;
	unsigned long flags;

	kstrlcpy(name, vm->name, sizeof(name));
	if (!c->started) {
		/* Never ran: it ends here, as dead as one that ran. */
		__atomic_store_n(&vm->ending, true, __ATOMIC_RELEASE);
		__atomic_store_n(&vm->state, VM_DEAD, __ATOMIC_RELEASE);
		ioreq_vm_ending(vm);
	}
	window_vm_freeing(vm);
	vm_destroy(vm);
	for (u32 i = 0; i < VM_CONFIG_MAX_IMAGES; i++) {
		kfree(c->stage[i].data);
		c->stage[i] = (struct vm_stage){ 0 };
	}
	klog(LOG_ALWAYS, "keel: vm %s (id %u) destroyed; its memory is free\n", name, id);
	mgmt_event_destroyed(id, name);
	flags = spin_lock_irqsave(&list_lock);
	c->in_use = false;
	spin_unlock_irqrestore(&list_lock, flags);
}

void vmm_vm_finished(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = NULL;
	char name[VM_NAME_MAX];
	u32 id = vm->id;
	bool restart, runtime, served, free_now;
	u64 since;

	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm == vm)
			c = &vm_configs[i];
	runtime = c && c->runtime;
	/* A VM of the command line leaves the list now; a run-time one stays, dead. */
	if (c && !runtime)
		c->vm = NULL;
	/* A VM a device model serves is not built again: its devices live in the device model,
	 * which Keel cannot reset. It ends, and its device model sees it end and the reset event (a
	 * dead VM cannot be attached, so this stays true). */
	served = __atomic_load_n(&vm->ioreq.page, __ATOMIC_ACQUIRE) != NULL;
	restart = c && !runtime && !vm->crashed && vm->end == VM_END_RESET && !c->end_on_reset && !served;
	if (restart) {
		c->restarting = true;
		c->destroy_requested = false;
	}
	spin_unlock_irqrestore(&list_lock, flags);
	ioreq_vm_ending(vm);
	guest_console_flush(vm);
	report(vm, restart, runtime, served);
	mgmt_event_ended(vm);
	if (runtime) {
		/* From here a destroy may free it; one that came meanwhile is done now. */
		flags = spin_lock_irqsave(&list_lock);
		c->finished = true;
		free_now = c->destroy_requested && !c->busy;
		if (free_now)
			detach_locked(c);
		spin_unlock_irqrestore(&list_lock, flags);
		if (free_now)
			free_runtime(c, vm);
		return;
	}
	kstrlcpy(name, vm->name, sizeof(name));
	since = time_ns();
	window_vm_freeing(vm);
	vm_destroy(vm);
	if (restart)
		restart_vm(c, id, since);
	else
		mgmt_event_destroyed(id, name);
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

/* The first half of building a VM (boot time or run time): its RAM and its ACPI tables. */
static struct vm *build_begin(const struct vm_config *c, u64 *rsdp)
{
	struct vm *vm = vm_create(c->name, c->mem);

	if (!vm)
		return NULL;
	if (platform_write_tables(vm, c->vcpus, rsdp)) {
		pr_err("vm %s: cannot write its ACPI tables; not started\n", c->name);
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* The second half, once a loader has filled its RAM and said where vCPU 0 starts: the vCPUs
 * (scheduling parameters from c), the platform devices. On failure the caller destroys vm. */
static int build_finish(struct vm *vm, const struct vm_config *c, const struct vcpu_boot_state *boot)
{
	vm->cap.pct = c->cap;
	vm->mgmt = c->mgmt;
	for (u32 i = 0; i < c->vcpus; i++) {
		/* APs wait for INIT and SIPI; their state until then does not matter. */
		static const struct vcpu_boot_state ap = { .protected_mode = false };
		hpa_t fpu = page_alloc_zeroed(0);
		struct vcpu *v = fpu == INVALID_HPA ? NULL : kzalloc(sizeof(*v));

		if (!v) {
			if (fpu != INVALID_HPA)
				page_free(fpu, 0);
			return -ENOMEM;
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
		if (vcpu_ops->vcpu_init(v, i ? &ap : boot))
			return -ENOMEM;
	}
	vm->has_ctl = c->ctl;
	if (guest_devices_init(vm) || platform_init(vm))
		return -ENOMEM;
	return 0;
}

static struct vm *build_vm(const struct vm_config *c, const struct boot_info *bi)
{
	const struct boot_module *m = c->module < bi->nr_modules ? &bi->modules[c->module] : NULL;
	struct vcpu_boot_state boot;
	const char *why = NULL;
	struct vm *vm;
	u64 rsdp;

	if (!m || !m->size) {
		pr_err("vm %s: module %u does not exist (or was rejected); not started\n", c->name, c->module);
		return NULL;
	}
	vm = build_begin(c, &rsdp);
	if (!vm)
		return NULL;
	if (c->boot == VM_BOOT_REAL    ? load_realmode_guest(vm, phys_to_virt(m->base), m->size, &boot, &why)
	    : c->boot == VM_BOOT_LINUX ? load_linux(vm, c, bi, rsdp, &boot, &why)
				       : load_guest_with_modules(vm, c, bi, &boot, &why)) {
		pr_err("vm %s: module %u: %s; not started\n", c->name, c->module, why);
		goto fail;
	}
	if (build_finish(vm, c, &boot))
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
	u32 n = 0, nr = vm->nr_vcpus, left;

	vm_start(vm);
	vm->live_vcpus = nr;
	/* Once the last vCPU joined, it may end and free the VM at once on another CPU: the loop
	 * reads nothing of the VM after that. */
	for (; n < nr; n++) {
		if (vcpu_sched_add(vm->vcpus[n])) {
			vm_crash(vm, "vCPU %u cannot be scheduled (see above)", n);
			break;
		}
	}
	/* The vCPUs that never joined leave at once; those that did see the crash and retire
	 * (and may already have: the last one out, here or there, finishes the VM). */
	left = nr - n;
	if (left && __atomic_sub_fetch(&vm->live_vcpus, left, __ATOMIC_ACQ_REL) == 0)
		vmm_vm_finished(vm);
}

/* At the end of vmm_run_all, when no other CPU runs: the list lock is taken for form's sake. */
static struct vm *detach_locked_boot(struct vm_config *c)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm *vm = detach_locked(c);

	spin_unlock_irqrestore(&list_lock, flags);
	return vm;
}

void vmm_set_boot_info(const struct boot_info *bi)
{
	boot_info = bi;
}

int vmm_mgmt_module(u32 index, struct guest_image *img)
{
	const struct boot_module *m;

	for (u32 i = 0; i < nr_vm_configs; i++) {
		const struct vm_config *c = &vm_configs[i];

		if (!c->mgmt)
			continue;
		if (!boot_info || index >= c->nr_mods || c->mods[index] >= boot_info->nr_modules)
			return -ENOENT;
		m = &boot_info->modules[c->mods[index]];
		if (!m->size)
			return -ENOENT; /* rejected at boot */
		*img = (struct guest_image){ phys_to_virt(m->base), m->size, m->cmdline };
		return 0;
	}
	return -ENOENT;
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
	vmm_set_boot_info(bi);
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
	/* Run-time VMs still held (dead, or never started) go with the rest. */
	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm_config *c = &vm_configs[i];

		if (c->runtime && c->vm && !c->busy)
			free_runtime(c, detach_locked_boot(c));
	}

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

/* Under the list lock: the slot of the VM with this id, if it is in the list. */
static struct vm_config *find_id_locked(u32 id)
{
	spin_assert_held(&list_lock);
	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm && vm_configs[i].vm->id == id)
			return &vm_configs[i];
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

int vmm_with_vm(u32 id, vm_visit_fn fn, void *arg)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_id_locked(id);

	if (c)
		fn(c->vm, arg);
	spin_unlock_irqrestore(&list_lock, flags);
	return c ? 0 : -ENOENT;
}

/*
 * Under the list lock: destroys what c holds, or arranges it. A VM of the command line ends
 * (vm_kill) and is freed by its last vCPU, as before; one between its reset and its new start
 * is dropped instead of started. A run-time VM that never started or already finished leaves
 * the list and *to_free is set (the caller frees it, unlocked); one still running ends and its
 * last vCPU frees it; one an operation holds is freed when that operation lets go.
 */
static int destroy_locked(struct vm_config *c, const char *why, struct vm **to_free)
{
	struct vm *vm = c->vm;

	spin_assert_held(&list_lock);
	*to_free = NULL;
	if (!c->runtime) {
		if (vm)
			return vm_kill(vm, why) ? 0 : -EINVAL;
		c->destroy_requested = true;
		return 0;
	}
	if (c->destroy_requested)
		return -EINVAL; /* already on its way */
	if (c->busy || (c->started && !c->finished)) {
		c->destroy_requested = true;
		if (c->started)
			vm_kill(vm, why);
		return 0;
	}
	*to_free = detach_locked(c);
	return 0;
}

/* op: 0 pause, 1 resume, 2 destroy. */
static int vm_op_locked(struct vm_config *c, int op, const char *why, struct vm **to_free)
{
	struct vm *vm = c->vm;

	/* The list lock keeps the VM from being freed meanwhile; the operations only change its
	 * state and kick its vCPUs. A VM between its reset and its new start can only be destroyed. */
	*to_free = NULL;
	if (op == 2)
		return destroy_locked(c, why, to_free);
	if (!vm)
		return -EINVAL;
	return (op == 0 ? vm_pause(vm) : vm_resume(vm)) ? 0 : -EINVAL;
}

static int vm_op(const char *name, int op)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_locked(name);
	struct vm *to_free = NULL;
	int ret = c ? vm_op_locked(c, op, "destroyed from the console", &to_free) : -ENOENT;

	spin_unlock_irqrestore(&list_lock, flags);
	if (to_free)
		free_runtime(c, to_free);
	return ret;
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
	struct vm_config *c = find_id_locked(vm_id);

	if (c)
		guest_console_input(c->vm, buf, len);
	spin_unlock_irqrestore(&list_lock, flags);
	return c ? 0 : -ENOENT;
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
	struct vm_config *c = find_id_locked(vm_id);

	if (c)
		kstrlcpy(buf, c->vm->name, len);
	spin_unlock_irqrestore(&list_lock, flags);
	return c ? 0 : -ENOENT;
}

/* The management VM's view (vmm/vmm.h, vmm/mgmt_vm.c). */

static u64 online_cpus(void)
{
	u64 mask = 0;

	for (u32 i = 0; i < MAX_CPUS && i < 64; i++)
		if (cpus[i] && cpus[i]->online)
			mask |= 1ull << i;
	return mask;
}

int vmm_create(const struct vmm_create_args *a, u32 *id)
{
	u64 online = online_cpus(), free_bytes, need;
	unsigned long flags;
	struct vm_config *c;
	struct vm *vm;
	u64 rsdp;

	for (u32 i = 0; i < a->vcpus; i++) {
		if (a->affinity[i] && !(a->affinity[i] & online)) {
			pr_warn("vm %s: not created: vCPU %u may run on no online CPU (cpus %#llx, online %#llx)\n",
				a->name, i, (unsigned long long)a->affinity[i], (unsigned long long)online);
			return -EINVAL;
		}
	}
	/* Its RAM, and what Keel spends on it besides (page tables, vCPUs, devices): a guess
	 * small beside the RAM; vm_create finds out exactly. */
	need = ALIGN_UP(a->mem, VM_RAM_CHUNK) + MiB(1) + a->vcpus * 4 * PAGE_SIZE;
	free_bytes = page_free_count() * PAGE_SIZE;
	if (need > free_bytes) {
		pr_warn("vm %s: not created: %llu MiB asked for, %llu MiB free\n", a->name,
			(unsigned long long)(a->mem >> 20), (unsigned long long)(free_bytes >> 20));
		return -ENOMEM;
	}
	flags = spin_lock_irqsave(&list_lock);
	if (vm_config_name_taken(a->name)) {
		spin_unlock_irqrestore(&list_lock, flags);
		return -EEXIST;
	}
	c = vm_config_runtime_slot();
	if (c) {
		kstrlcpy(c->name, a->name, sizeof(c->name));
		c->mem = a->mem;
		c->vcpus = a->vcpus;
		c->weight = a->weight;
		c->cap = a->cap;
		for (u32 i = 0; i < VM_CONFIG_MAX_VCPUS; i++)
			c->affinity[i] = a->affinity[i] ? a->affinity[i] : ~0ull;
		c->end_on_reset = true;
		c->busy = true; /* being built: invisible to the list, its name taken */
	}
	spin_unlock_irqrestore(&list_lock, flags);
	if (!c) {
		pr_warn("vm %s: not created: Keel holds %u VMs, its most\n", a->name, MAX_VMS);
		return -ENOSPC;
	}
	vm = build_begin(c, &rsdp);
	flags = spin_lock_irqsave(&list_lock);
	c->busy = false;
	if (vm) {
		c->rsdp = rsdp;
		c->vm = vm;
		*id = vm->id;
	} else {
		c->in_use = false;
	}
	spin_unlock_irqrestore(&list_lock, flags);
	if (!vm) {
		pr_warn("vm %s: not created: %llu MiB asked for, %llu MiB free (after the attempt)\n", a->name,
			(unsigned long long)(a->mem >> 20), (unsigned long long)(page_free_count() * PAGE_SIZE >> 20));
		return -ENOMEM;
	}
	pr_info("vm %s: created at run time (id %u): %llu MiB, %u vCPU%s\n", vm->name, vm->id,
		(unsigned long long)(vm->ram_size >> 20), c->vcpus, c->vcpus == 1 ? "" : "s");
	return 0;
}

struct vm_config *vmm_hold(u32 id, int *err)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_id_locked(id);

	*err = !c								? -ENOENT
	       : !c->runtime || c->loaded || c->started || c->destroy_requested ? -EINVAL
	       : c->busy							? -EBUSY
										: 0;
	if (!*err)
		c->busy = true;
	spin_unlock_irqrestore(&list_lock, flags);
	return *err ? NULL : c;
}

void vmm_release(struct vm_config *c)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm *to_free = NULL;

	c->busy = false;
	if (c->destroy_requested)
		to_free = detach_locked(c);
	spin_unlock_irqrestore(&list_lock, flags);
	if (to_free)
		free_runtime(c, to_free);
}

int vmm_load(struct vm_config *c, bool is_linux, const struct guest_image *img, u32 nr, const char **why)
{
	struct vm *vm = c->vm; /* held (busy): it stays */
	struct vcpu_boot_state boot;
	int ret;

	if (is_linux)
		ret = load_linux_guest(vm, &img[0], nr > 1 ? &img[1] : NULL, c->rsdp, &boot, why);
	else
		ret = load_multiboot_guest(vm, &img[0], img + 1, nr - 1, &boot, why);
	if (ret)
		return -EINVAL;
	/* From here the VM cannot go back to "created, not loaded": a failure leaves it to be
	 * destroyed (loaded, so it cannot be loaded again, nor started: no vCPUs). */
	c->loaded = true;
	if (build_finish(vm, c, &boot) || vm->nr_vcpus != c->vcpus) {
		*why = "not enough memory for its vCPUs and devices; destroy it";
		vm_crash(vm, "could not be built: not enough memory for its vCPUs and devices");
		return -ENOMEM;
	}
	pr_info("vm %s: loaded (%s, %u image%s), entry %#llx\n", vm->name, is_linux ? "Linux" : "multiboot", nr,
		nr == 1 ? "" : "s", (unsigned long long)boot.rip);
	return 0;
}

int vmm_start(u32 id)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_id_locked(id);
	struct vm *vm = c ? c->vm : NULL;
	int ret = !c ? -ENOENT : c->busy ? -EBUSY : 0;

	if (!ret && (!c->runtime || !c->loaded || c->started || c->destroy_requested ||
		     __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_CREATED || vm->nr_vcpus != c->vcpus))
		ret = -EINVAL;
	if (!ret)
		c->started = true;
	spin_unlock_irqrestore(&list_lock, flags);
	/* A destroy from here on sees `started`: it kills the VM, whose vCPUs then leave at once. */
	if (!ret)
		start_vm(vm);
	return ret;
}

/* op as vm_op_locked; the management VM does not pause or destroy itself. */
int vmm_op_id(u32 id, int op)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);
	struct vm_config *c = find_id_locked(id);
	struct vm *to_free = NULL;
	int ret = !c		? -ENOENT
		  : c->vm->mgmt ? -EINVAL
				: vm_op_locked(c, op, "destroyed by the management VM", &to_free);

	spin_unlock_irqrestore(&list_lock, flags);
	if (to_free)
		free_runtime(c, to_free);
	return ret;
}

void vmm_mgmt_upcall(unsigned vec)
{
	unsigned long flags = spin_lock_irqsave(&list_lock);

	/* Under the list lock the management VM stays; its PCI model is under its own lock, taken
	 * here from whichever CPU ended another VM, and the MSI goes after that lock is dropped,
	 * like a device write's (platform_msi.c). */
	for (u32 i = 0; i < nr_vm_configs; i++) {
		struct vm *vm = vm_configs[i].vm;
		struct vpci_msi_out out;
		unsigned long f;

		if (!vm || !vm->mgmt || !vm->has_ctl || __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_DEAD)
			continue;
		f = spin_lock_irqsave(&vm->lock);
		vpci_dev_msix_notify(&vm->ctl.pci, vec);
		platform_pci_take(vm, &vm->ctl.pci, &out);
		spin_unlock_irqrestore(&vm->lock, f);
		for (u32 j = 0; j < out.n && j < VPCI_MSIX_MAX; j++)
			platform_msi(vm, out.msg[j].addr, out.msg[j].data, NULL);
	}
	spin_unlock_irqrestore(&list_lock, flags);
}
