/* SPDX-License-Identifier: MIT */
/*
 * vm=NAME,module=INDEX[,mem=SIZE][,boot=multiboot|real|linux][,initrd=INDEX][,mods=I+J+...][,vcpus=N][,weight=W][,cap=PCT]
 * [,cpus=LIST[/LIST...]][,on_reset=restart|end][,mgmt][,ctl=on|off]: the VMs Keel builds at boot;
 * mgmt makes one of them the management VM (docs/mgmt.md), which has the control function unless
 * ctl=off.
 */
#include "vmm/vm_config.h"

#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/sched_policy.h"

struct vm_config vm_configs[MAX_VMS];
u32 nr_vm_configs;

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

static int parse_mods(struct vm_config *c, char *list)
{
	for (char *next; list; list = next) {
		u64 idx;

		next = strchr(list, '+');
		if (next)
			*next++ = '\0';
		if (!parse_size(list, &idx) || idx >= BOOT_MAX_MODULES || c->nr_mods >= VM_CONFIG_MAX_MODS)
			return -EINVAL;
		c->mods[c->nr_mods++] = (u32)idx;
	}
	return 0;
}

/* A CPU set: numbers and ranges joined by '+', e.g. 0+2-3; "all" for every CPU. */
static bool parse_cpuset(char *list, u64 *out)
{
	u64 set = 0;

	if (!strcmp(list, "all")) {
		*out = ~0ull;
		return true;
	}
	for (char *next; list; list = next) {
		char *dash;
		u64 lo, hi;

		next = strchr(list, '+');
		if (next)
			*next++ = '\0';
		dash = strchr(list, '-');
		if (dash)
			*dash++ = '\0';
		if (!parse_size(list, &lo) || (dash ? !parse_size(dash, &hi) : (hi = lo, false)) || lo > hi ||
		    hi >= SCHED_MAX_CPUS)
			return false;
		for (u64 cpu = lo; cpu <= hi; cpu++)
			set |= 1ull << cpu;
	}
	*out = set;
	return set != 0;
}

/* cpus=SET for every vCPU, or SET0/SET1/... one per vCPU (the last repeats for the others). */
static bool parse_affinity(struct vm_config *c, char *list)
{
	u32 n = 0;

	for (char *next; list; list = next) {
		next = strchr(list, '/');
		if (next)
			*next++ = '\0';
		if (n >= VM_CONFIG_MAX_VCPUS || !parse_cpuset(list, &c->affinity[n]))
			return false;
		n++;
	}
	for (u32 i = n; i < VM_CONFIG_MAX_VCPUS; i++)
		c->affinity[i] = c->affinity[n - 1];
	return true;
}

int vmm_config_add(const char *value)
{
	struct vm_config c = {
		.module = ~0u, .initrd = ~0u, .mem = DEFAULT_MEM, .vcpus = 1, .weight = SCHED_WEIGHT_UNIT
	};
	char buf[128], *field, *next;
	bool ctl_set = false;
	u32 n = 0;

	if (nr_vm_configs >= MAX_VMS) {
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
			if (!*field || strlen(field) >= VM_CONFIG_NAME_MAX) {
				pr_warn("vm: '%s': the name must be 1-%u characters\n", value, VM_CONFIG_NAME_MAX - 1);
				return -EINVAL;
			}
			kstrlcpy(c.name, field, sizeof(c.name));
		} else if (!strncmp(field, "module=", 7) && parse_size(field + 7, &num) && num < BOOT_MAX_MODULES) {
			c.module = (u32)num;
		} else if (!strncmp(field, "initrd=", 7) && parse_size(field + 7, &num) && num < BOOT_MAX_MODULES) {
			c.initrd = (u32)num;
		} else if (!strncmp(field, "mem=", 4) && parse_size(field + 4, &num) && num >= MiB(2) &&
			   num <= GiB(64)) {
			c.mem = num;
		} else if (!strncmp(field, "mods=", 5)) {
			if (parse_mods(&c, field + 5) < 0) {
				pr_warn("vm %s: bad mods= '%s' (module indexes joined by '+', at most %u)\n", c.name,
					field + 5, VM_CONFIG_MAX_MODS);
				return -EINVAL;
			}
		} else if (!strncmp(field, "vcpus=", 6) && parse_size(field + 6, &num) && num >= 1 &&
			   num <= VM_CONFIG_MAX_VCPUS) {
			c.vcpus = (u32)num;
		} else if (!strncmp(field, "weight=", 7) && parse_size(field + 7, &num) && num >= 1 && num <= 65535) {
			c.weight = (u32)num;
		} else if (!strncmp(field, "cap=", 4) && parse_size(field + 4, &num) && num <= 100) {
			c.cap = (u32)num;
		} else if (!strncmp(field, "cpus=", 5)) {
			if (!parse_affinity(&c, field + 5)) {
				pr_warn(
				    "vm %s: bad cpus= '%s' (CPU numbers or ranges below %u joined by '+', or 'all'; "
				    "'/' between the sets of successive vCPUs)\n",
				    c.name, value, SCHED_MAX_CPUS);
				return -EINVAL;
			}
		} else if (!strcmp(field, "on_reset=restart") || !strcmp(field, "on_reset=end")) {
			c.end_on_reset = field[9] == 'e';
		} else if (!strcmp(field, "mgmt")) {
			c.mgmt = true;
		} else if (!strcmp(field, "ctl=on") || !strcmp(field, "ctl=off")) {
			c.ctl = field[5] == 'n';
			ctl_set = true;
		} else if (!strcmp(field, "boot=real")) {
			c.boot = VM_BOOT_REAL;
		} else if (!strcmp(field, "boot=linux")) {
			c.boot = VM_BOOT_LINUX;
		} else if (!strcmp(field, "boot=multiboot")) {
			c.boot = VM_BOOT_MULTIBOOT;
		} else {
			pr_warn(
			    "vm %s: bad field '%s' (module=INDEX, mem=SIZE from 2M to 64G, boot=multiboot|real|linux, "
			    "initrd=INDEX, mods=I+J, vcpus=1-%u, weight=1-65535, cap=0-100, cpus=SET[/SET...], "
			    "on_reset=restart|end, mgmt, ctl=on|off)\n",
			    c.name, field, VM_CONFIG_MAX_VCPUS);
			return -EINVAL;
		}
	}
	for (u32 i = 0; i < VM_CONFIG_MAX_VCPUS; i++)
		if (!c.affinity[i])
			c.affinity[i] = ~0ull;
	if (c.module == ~0u) {
		pr_warn("vm %s: no module= given\n", c.name);
		return -EINVAL;
	}
	if (c.initrd != ~0u && c.boot != VM_BOOT_LINUX) {
		pr_warn("vm %s: initrd= is for boot=linux guests\n", c.name);
		return -EINVAL;
	}
	/* A multiboot guest finds its mods= in its multiboot information; a Linux kernel has no such
	 * list, and only the management VM reads them (through keel.ko, docs/mgmt.md). */
	if (c.nr_mods && c.boot != VM_BOOT_MULTIBOOT && !c.mgmt) {
		pr_warn("vm %s: mods= is for multiboot guests and the management VM\n", c.name);
		return -EINVAL;
	}
	/* Other VMs wait on the management VM's device models: a cap would make their round trips
	 * wait for its next period (docs/mgmt.md). */
	if (c.mgmt && c.cap) {
		pr_warn("vm %s: refused: the management VM cannot be capped (cap=%u)\n", c.name, c.cap);
		return -EINVAL;
	}
	/* The control function is how the management VM's keel.ko finds Keel (docs/mgmt.md). */
	if (c.mgmt && !ctl_set)
		c.ctl = true;
	for (u32 i = 0; c.mgmt && i < nr_vm_configs; i++) {
		if (vm_configs[i].mgmt) {
			pr_warn("vm %s: refused: there is one management VM, and %s is it\n", c.name,
				vm_configs[i].name);
			return -EEXIST;
		}
	}
	vm_configs[nr_vm_configs++] = c;
	return 0;
}

struct vm_config *vm_config_runtime_slot(void)
{
	struct vm_config *c = NULL;

	for (u32 i = 0; i < nr_vm_configs && !c; i++)
		if (vm_configs[i].runtime && !vm_configs[i].in_use)
			c = &vm_configs[i];
	if (!c && nr_vm_configs < MAX_VMS)
		c = &vm_configs[nr_vm_configs++];
	if (c)
		*c = (struct vm_config){ .runtime = true, .in_use = true, .module = ~0u, .initrd = ~0u };
	return c;
}

bool vm_config_name_taken(const char *name)
{
	for (u32 i = 0; i < nr_vm_configs; i++) {
		const struct vm_config *c = &vm_configs[i];

		if ((c->vm || c->restarting || (c->runtime && c->in_use)) && !strcmp(c->name, name))
			return true;
	}
	return false;
}

const struct cmdline_option vmm_options[] = {
	{ .name = "vm", .type = CMDLINE_LIST, .help = "a VM: vm=NAME,module=N[,mem=SIZE]", .add = vmm_config_add },
};
const size_t vmm_nr_options = ARRAY_SIZE(vmm_options);
