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

#define MAX_VMS	    16
#define DEFAULT_MEM MiB(64)

struct vm_config {
	char name[VM_NAME_MAX];
	u32 module;
	u64 mem;
	struct vm *vm;
};

static struct vm_config configs[MAX_VMS];
static u32 nr_configs;
static u32 next_job;
static volatile u32 nr_finished;

static bool parse_size(const char *s, u64 *out)
{
	u64 v = 0;

	if (!*s)
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (u64)(*s - '0');
	}
	if (*s == 'K' || *s == 'M' || *s == 'G') {
		unsigned shift = *s == 'K' ? 10 : *s == 'M' ? 20 : 30;

		if (v > (~0ULL >> shift))
			return false;
		v <<= shift;
		s++;
	}
	*out = v;
	return *s == '\0';
}

int vmm_config_add(const char *value)
{
	struct vm_config c = { .module = ~0u, .mem = DEFAULT_MEM };
	char buf[128], *field, *next;
	u32 n = 0;

	if (nr_configs >= MAX_VMS) {
		pr_warn("vm: at most %u VMs; '%s' ignored\n", MAX_VMS, value);
		return -ENOSPC;
	}
	if (strlen(value) >= sizeof(buf)) {
		pr_warn("vm: declaration too long\n");
		return -E2BIG;
	}
	kstrlcpy(buf, value, sizeof(buf));
	for (field = buf; field; field = next, n++) {
		u64 num;

		next = strchr(field, ',');
		if (next)
			*next++ = '\0';
		if (n == 0) {
			if (!*field || strlen(field) >= VM_NAME_MAX) {
				pr_warn("vm: '%s': the name must be 1-%u characters\n", value, VM_NAME_MAX - 1);
				return -EINVAL;
			}
			kstrlcpy(c.name, field, sizeof(c.name));
		} else if (!strncmp(field, "module=", 7) && parse_size(field + 7, &num) && num < BOOT_MAX_MODULES) {
			c.module = (u32)num;
		} else if (!strncmp(field, "mem=", 4) && parse_size(field + 4, &num) && num >= MiB(2) &&
			   num <= GiB(64)) {
			c.mem = num;
		} else {
			pr_warn("vm %s: bad field '%s' (module=INDEX, mem=SIZE from 2M to 64G)\n", c.name, field);
			return -EINVAL;
		}
	}
	if (c.module == ~0u) {
		pr_warn("vm %s: no module= given\n", c.name);
		return -EINVAL;
	}
	configs[nr_configs++] = c;
	return 0;
}

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

static void run_vm(struct vm *vm)
{
	struct vcpu *v = vm->vcpus[0];
	struct vm_exit e;

	vm->state = VM_RUNNING;
	while (vm->state != VM_DEAD) {
		vcpu_ops->run(v, &e);
		if (vm->state == VM_DEAD)
			break;
		exit_dispatch(v, &e);
	}
	guest_console_flush(vm);
}

/* Every CPU with nothing else to do runs this: take the next VM, run it to its end, repeat. */
static void worker(void *arg)
{
	for (;;) {
		u32 job = __atomic_fetch_add(&next_job, 1, __ATOMIC_SEQ_CST);

		if (job >= nr_configs)
			return;
		if (configs[job].vm)
			run_vm(configs[job].vm);
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
	if (load_multiboot_guest(vm, phys_to_virt(m->base), m->size, m->cmdline, &boot, &why)) {
		pr_err("vm %s: module %u: %s; not started\n", c->name, c->module, why);
		goto fail;
	}
	v = kzalloc(sizeof(*v));
	if (!v)
		goto fail;
	v->vm = vm;
	vm->vcpus[vm->nr_vcpus++] = v;
	if (vcpu_ops->vcpu_init(v, &boot) || guest_devices_init(vm))
		goto fail;
	pr_info("vm %s: %llu MiB, module %u (%s), entry %#llx\n", vm->name, (unsigned long long)(vm->ram_size >> 20),
		c->module, m->cmdline, (unsigned long long)boot.rip);
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void vmm_run_all(const struct boot_info *bi)
{
	u32 failed = 0, posted = 0;
	u64 free_before;

	if (!nr_configs)
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
	for (u32 i = 0; i < nr_configs; i++)
		configs[i].vm = build_vm(&configs[i], bi);

	for (u32 c = 1; c < MAX_CPUS && posted + 1 < nr_configs; c++)
		if (cpus[c] && cpus[c]->online && smp_post(c, worker, NULL) == 0)
			posted++;
	worker(NULL);
	while (__atomic_load_n(&nr_finished, __ATOMIC_ACQUIRE) < nr_configs)
		__asm__ volatile("hlt"); /* woken by the timer tick */

	for (u32 i = 0; i < nr_configs; i++) {
		if (!configs[i].vm)
			continue;
		report(configs[i].vm);
		vm_destroy(configs[i].vm);
		configs[i].vm = NULL;
	}
	if (page_free_count() != free_before)
		pr_err("vmm: %lld pages not returned after the VMs ended\n",
		       (long long)(free_before - page_free_count()));
	else
		pr_info("vmm: every VM page returned to the allocator\n");
}
