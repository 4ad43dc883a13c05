// SPDX-License-Identifier: MIT
/* keelctl's VM lifecycle commands (keelctl.c lists them): create, start, pause, resume, destroy,
 * info, events, input, mem (console: keelctl_console.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keelcfg.h"
#include "keelctl.h"
#include "keelctl_dm.h"
#include "keelctl_mon.h"

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "keelctl: %s %s\n", what, arg);
	return 2;
}

static int fail(const char *what, const char *vm, int err)
{
	fprintf(stderr, "keelctl: %s%s%s: %s\n", what, vm ? " " : "", vm ? vm : "", strerror(-err));
	return 1;
}

/* SIZE: bytes with an optional K, M or G suffix; a bare number is MiB. */
static int parse_mem(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	if (end == s)
		return -1;
	switch (*end) {
	case '\0':
	case 'M':
	case 'm':
		n <<= 20;
		break;
	case 'G':
	case 'g':
		n <<= 30;
		break;
	case 'K':
	case 'k':
		n <<= 10;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -1;
	*out = n;
	return 0;
}

/* What `keelctl create` makes, from its options or from a config file: one struct, one path. */
struct create_args {
	struct keel_vm_params p;
	const char *kernel, *initrd, *cmdline;
	const char *mods[KEEL_IMAGE_MAX], *cmdlines[KEEL_IMAGE_MAX]; /* [0]: the kernel's */
	uint32_t nr_mods;
	int linux_boot;
	char modbuf[KEEL_IMAGE_MAX][512];
	const struct keelcfg *cfg; /* create FILE: what keel-dm serves (disks), on_* */
	/* out: what create_vm made */
	uint32_t id;
	int dm_pid; /* 0: no keel-dm */
};

/* create NAME --mem SIZE ...: 0, or 2 (usage). */
static int args_from_options(int argc, char **argv, struct create_args *a)
{
	const char *cpus = NULL;

	a->p.name = argv[2];
	a->cmdline = "";
	for (int i = 3; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(opt, "--linux")) {
			a->linux_boot = 1;
			continue;
		}
		if (!val)
			return usage_error("missing value", opt);
		i++;
		if (!strcmp(opt, "--mem")) {
			if (parse_mem(val, &a->p.mem_bytes))
				return usage_error("bad size", val);
		} else if (!strcmp(opt, "--vcpus") || !strcmp(opt, "--weight") || !strcmp(opt, "--cap")) {
			unsigned long n = strtoul(val, &end, 10);

			if (end == val || *end || n > 0xffffffffu)
				return usage_error("bad number", val);
			*(opt[2] == 'v' ? &a->p.vcpus : opt[2] == 'w' ? &a->p.weight : &a->p.cap_pct) = (uint32_t)n;
		} else if (!strcmp(opt, "--cpus")) {
			cpus = val;
		} else if (!strcmp(opt, "--kernel")) {
			a->kernel = val;
		} else if (!strcmp(opt, "--initrd")) {
			a->initrd = val;
		} else if (!strcmp(opt, "--cmdline")) {
			a->cmdline = val;
		} else if (!strcmp(opt, "--module")) {
			char *colon, *buf = a->modbuf[a->nr_mods];

			if (a->nr_mods >= KEEL_IMAGE_MAX - 1 || strlen(val) >= sizeof(a->modbuf[0]))
				return usage_error("too many modules or too long", val);
			strcpy(buf, val);
			colon = strchr(buf, ':');
			a->cmdlines[1 + a->nr_mods] = colon ? colon + 1 : "";
			if (colon)
				*colon = '\0';
			a->mods[a->nr_mods++] = buf;
		} else {
			return usage_error("unknown option", opt);
		}
	}
	if (!a->p.mem_bytes || !a->p.vcpus || !a->kernel)
		return usage_error("needs", "--mem, --vcpus and --kernel");
	if ((a->initrd && !a->linux_boot) || (a->linux_boot && a->nr_mods))
		return usage_error("--initrd goes with --linux, --module without it", "");
	if (cpus && keelcfg_parse_cpus(cpus, a->p.affinity, a->p.vcpus))
		return usage_error("bad CPU set", cpus);
	return 0;
}

/* A config key keelctl parses but cannot act on yet: "FILE:LINE: key 'K': why", status 2. */
static int refuse(const char *file, const struct keelcfg *cfg, enum keelcfg_key key, const char *why)
{
	fprintf(stderr, "keelctl: %s:%u: key '%s': %s\n", file, cfg->line[key], keelcfg_key_name(key), why);
	return KEELCTL_EXIT_SAID;
}

/* Linux or multiboot, when the config does not say: a bzImage's boot-protocol header. 0 or 1. */
static int detect_linux(const struct keelcfg *cfg, int *linux_boot)
{
	char head[KEELCFG_BZIMAGE_HEAD];
	FILE *f = fopen(cfg->kernel, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "keelctl: create %s: %s: %s\n", cfg->name, cfg->kernel, strerror(errno));
		return 1;
	}
	n = fread(head, 1, sizeof(head), f);
	fclose(f);
	*linux_boot = keelcfg_is_bzimage(head, n);
	return 0;
}

/* create FILE: 0, 1 (a file cannot be read) or KEELCTL_EXIT_SAID (a config error, or a key that
 * cannot be served here). */
static int args_from_file(const char *file, struct keelcfg *cfg, struct create_args *a)
{
	static char buf[KEELCFG_FILE_MAX + 1];
	struct keelcfg_error err;
	FILE *f = fopen(file, "rb");
	size_t len;

	if (!f) {
		fprintf(stderr, "keelctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		fprintf(stderr, "keelctl: %s: read error\n", file);
		fclose(f);
		return 1;
	}
	fclose(f);
	if (keelcfg_parse(buf, len, cfg, &err)) {
		fprintf(stderr, "keelctl: %s:%u: %s\n", file, err.line, err.msg);
		return KEELCTL_EXIT_SAID;
	}
	for (uint32_t i = 0; i < cfg->nr_disks; i++) {
		char why[KEELCFG_PATH_MAX + 128];

		if (keelctl_disk_check(&cfg->disks[i], why, sizeof(why)))
			return refuse(file, cfg, KEELCFG_DISK, why);
	}
	for (uint32_t i = 0; i < cfg->nr_vifs; i++) {
		char why[256];

		if (keelctl_vif_check(cfg, i, why, sizeof(why)))
			return refuse(file, cfg, KEELCFG_VIF, why);
	}
	a->p.name = cfg->name;
	a->p.mem_bytes = cfg->mem_bytes;
	a->p.vcpus = cfg->vcpus;
	a->p.weight = cfg->weight;
	a->p.cap_pct = cfg->cap_pct;
	memcpy(a->p.affinity, cfg->affinity, sizeof(a->p.affinity));
	a->kernel = cfg->kernel;
	a->initrd = cfg->ramdisk[0] ? cfg->ramdisk : NULL;
	a->cmdline = cfg->cmdline;
	a->cfg = cfg;
	if (cfg->kernel_type != KEELCFG_KERNEL_DETECT)
		a->linux_boot = cfg->kernel_type == KEELCFG_KERNEL_LINUX;
	else if (detect_linux(cfg, &a->linux_boot))
		return 1;
	if (a->initrd && !a->linux_boot)
		return refuse(file, cfg, KEELCFG_RAMDISK, "goes with a Linux kernel: the kernel is not a bzImage");
	return 0;
}

static int destroyed(struct keel *k, uint32_t id, const char *name);

/* Creates, hands over the images, loads and starts its keel-dm (a->id, a->dm_pid); a failed step
 * destroys the half-made VM. 0 or 1. */
static int create_vm(struct keel *k, struct create_args *a)
{
	const struct keel_vm_params *p = &a->p;
	uint32_t id, nr;
	int err = keel_vm_create(k, p, &id);

	if (err) {
		if (err == -ENOMEM)
			fprintf(stderr,
				"keelctl: create %s: not enough free memory in Keel for %llu MiB (keelctl mem)\n",
				p->name, (unsigned long long)(p->mem_bytes >> 20));
		else if (err == -EEXIST)
			fprintf(stderr, "keelctl: create %s: a VM has that name\n", p->name);
		else
			fail("create", p->name, err);
		return 1;
	}
	a->cmdlines[0] = a->cmdline;
	err = keel_vm_image_file(k, id, 0, a->kernel);
	if (err) {
		fprintf(stderr, "keelctl: create %s: %s: %s\n", p->name, a->kernel, strerror(-err));
		goto undo;
	}
	for (uint32_t i = 0; i < a->nr_mods; i++) {
		err = keel_vm_image_file(k, id, 1 + i, a->mods[i]);
		if (err) {
			fprintf(stderr, "keelctl: create %s: %s: %s\n", p->name, a->mods[i], strerror(-err));
			goto undo;
		}
	}
	nr = 1 + a->nr_mods;
	if (a->initrd) {
		err = keel_vm_image_file(k, id, 1, a->initrd);
		if (err) {
			fprintf(stderr, "keelctl: create %s: %s: %s\n", p->name, a->initrd, strerror(-err));
			goto undo;
		}
		nr = 2;
	}
	err = keel_vm_load(k, id, a->linux_boot, nr, a->cmdlines);
	if (err) {
		fprintf(stderr, "keelctl: create %s: Keel's loader refused it: %s (Keel's console says why)\n", p->name,
			strerror(-err));
		goto undo;
	}
	/* Its device model serves it before it can run: `keelctl start` comes after this. */
	if (a->cfg && (a->cfg->nr_disks || a->cfg->nr_vifs)) {
		int pid;

		if (keelctl_dm_start(p->name, id, a->cfg, &pid))
			goto undo;
		a->dm_pid = pid;
	}
	a->id = id;
	return 0;
undo:
	keel_vm_destroy(k, id);
	return 1;
}

/*
 * Keel ends a running VM at once but frees it (and its name) when its last vCPU has stopped, a
 * moment later: destroy returns when the VM is gone from the list, so that `keelctl destroy X;
 * keelctl create X.cfg` works, as with xl. 0, or 1 if it is still there after
 * KEELCTL_DESTROY_WAIT_MS.
 */
#define KEELCTL_DESTROY_WAIT_MS 10000
static int destroyed(struct keel *k, uint32_t id, const char *name)
{
	struct keel_vm_detail d;

	for (int ms = 0; ms < KEELCTL_DESTROY_WAIT_MS; ms += 5) {
		if (keel_vm_info(k, id, &d) == -ENOENT)
			return 0;
		usleep(5000);
	}
	fprintf(stderr, "keelctl: destroy %s: still there after %d s\n", name, KEELCTL_DESTROY_WAIT_MS / 1000);
	return 1;
}

static void print_created(const struct create_args *a, int mon_pid)
{
	printf("created %s: id %u", a->p.name, a->id);
	if (a->dm_pid)
		printf(", keel-dm pid %d", a->dm_pid);
	if (mon_pid)
		printf(", monitor pid %d (log: %s/%s%s)", mon_pid, keelctl_run_dir(), a->p.name,
		       KEELCTL_MON_LOG_SUFFIX);
	printf("\n");
	fflush(stdout);
}

/* The monitor's restart: the same VM again, from the config parsed at `keelctl create` (a file
 * edited or removed since changes nothing), started. 0 or 1. */
static int recreate(struct keel *k, void *arg, uint32_t *id, int *dm_pid)
{
	struct create_args *a = arg;
	int err;

	a->dm_pid = 0;
	if (create_vm(k, a))
		return 1;
	*id = a->id;
	*dm_pid = a->dm_pid;
	print_created(a, 0);
	err = keel_vm_start(k, a->id);
	if (err) {
		fail("start", a->p.name, err);
		keel_vm_destroy(k, a->id);
		destroyed(k, a->id, a->p.name);
		return 1;
	}
	return 0;
}

/* create NAME --mem ... or create FILE (a file, and nothing after it). */
static int create(struct keel *k, int argc, char **argv)
{
	static struct create_args a;
	static struct keelcfg cfg;
	struct stat st;
	int ret, mon_pid = 0;

	memset(&a, 0, sizeof(a));
	if (argc == 3 && !stat(argv[2], &st) && S_ISREG(st.st_mode))
		ret = args_from_file(argv[2], &cfg, &a);
	else
		ret = args_from_options(argc, argv, &a);
	if (ret || (ret = create_vm(k, &a)))
		return ret;
	/* on_poweroff, on_reboot, on_crash other than "preserve": a monitor process of its own. */
	if (a.cfg && keelctl_mon_wanted(a.cfg)) {
		static struct keelctl_mon m;

		m = (struct keelctl_mon){ .cfg = a.cfg,
					  .id = a.id,
					  .dm_pid = a.dm_pid,
					  .recreate = recreate,
					  .arg = &a,
					  .now_ns = keelctl_mon_clock_ns,
					  .poll_ms = KEELCTL_MON_POLL_MS };
		mon_pid = keelctl_mon_start(k, &m);
		if (mon_pid < 0) {
			keel_vm_destroy(k, a.id);
			destroyed(k, a.id, a.p.name);
			return 1;
		}
	}
	print_created(&a, mon_pid);
	return 0;
}

/*
 * destroy VM. A VM with a monitor (on_* in its config) has it stopped first, and waited for: a
 * restart it has begun is finished (or not begun), so the VM found by its name afterwards is the
 * one to destroy, and nothing brings it back. If the monitor had destroyed it, that is success.
 */
static int destroy(struct keel *k, const char *vm)
{
	char name[KEEL_VM_NAME_MAX];
	struct keel_vm_detail d;
	uint32_t id;
	int err, stopped;

	/* The monitor goes by the VM's name: an id is turned into one while the VM is there. */
	snprintf(name, sizeof(name), "%s", vm);
	if (vm[0] >= '0' && vm[0] <= '9' && !keel_vm_lookup(k, vm, &id) && !keel_vm_info(k, id, &d)) {
		memcpy(name, d.info.name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
	}
	stopped = keelctl_mon_stop(name);
	if (stopped < 0) {
		fprintf(stderr, "keelctl: destroy %s: its monitor did not stop within %d s (%s/%s%s)\n", vm,
			KEELCTL_MON_STOP_MS / 1000, keelctl_run_dir(), name, KEELCTL_MON_PID_SUFFIX);
		return 1;
	}
	err = keel_vm_lookup(k, stopped ? name : vm, &id);
	if (err == -ENOENT && stopped)
		return 0; /* its monitor destroyed it (on_* = "destroy", or a restart loop) */
	if (err)
		return fail("destroy", vm, err);
	err = keel_vm_destroy(k, id);
	if (err)
		return fail("destroy", vm, err);
	return destroyed(k, id, vm);
}

static void print_event(const struct keel_event *e, int json)
{
	char name[KEEL_VM_NAME_MAX], reason[sizeof(e->reason)];

	memcpy(name, e->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	memcpy(reason, e->reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	if (json) {
		printf("{\"id\": %u, \"name\": \"", e->vm_id);
		json_name(name);
		printf("\", \"event\": \"%s\", \"status\": %u, \"dropped\": %u, \"reason\": \"",
		       keel_event_name(e->type), e->status, e->dropped);
		json_name(reason);
		printf("\"}\n");
		return;
	}
	printf("vm %s (id %u): %s", name, e->vm_id, keel_event_name(e->type));
	if (e->type == KEEL_EV_EXITED)
		printf(", status %u", e->status);
	if (e->type == KEEL_EV_CRASHED)
		printf(": %s", reason);
	if (e->dropped)
		printf(" (%u earlier events lost)", e->dropped);
	printf("\n");
}

static int events(struct keel *k, int wait, int json)
{
	struct keel_event ev[KEEL_EVENTS_MAX];
	int n;

	for (;;) {
		n = keel_events(k, ev, KEEL_EVENTS_MAX);
		if (n < 0)
			return fail("events", NULL, n);
		for (int i = 0; i < n; i++)
			print_event(&ev[i], json);
		if (n || !wait)
			return 0;
		n = keel_events_wait(k, -1);
		if (n < 0)
			return fail("events: poll", NULL, n);
	}
}

static int info(struct keel *k, uint32_t id, int json)
{
	static const char *const reasons[] = { "none",	      "cpuid",	   "msr_read",	 "msr_write",  "io",
					       "hlt",	      "hypercall", "npf",	 "intr",       "nmi",
					       "intr_window", "shutdown",  "virt_insn",	 "exception",  "xsetbv",
					       "wbinvd",      "rdpmc",	   "undef_insn", "entry_fail", "preempt",
					       "unknown" };
	static const char *const ends[] = { "", "exited", "poweroff", "reset", "crashed", "destroyed" };
	struct keel_vm_detail d;
	struct keelctl_mon_info mon;
	char name[KEEL_VM_NAME_MAX], reason[sizeof(d.reason)];
	int err = keel_vm_info(k, id, &d), has_mon;

	if (err)
		return fail("info", NULL, err);
	memcpy(name, d.info.name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	memcpy(reason, d.reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	has_mon = keelctl_mon_query(name, &mon);
	if (json) {
		printf("{\"id\": %u, \"name\": \"", d.info.id);
		json_name(name);
		printf("\", \"state\": \"%s\", \"vcpus\": %u, \"mem_bytes\": %llu, \"exits\": %llu, \"run_ns\": %llu, "
		       "\"end\": \"%s\", \"status\": %u, \"reason\": \"",
		       keel_vm_state_name(d.info.state), d.info.vcpus, (unsigned long long)d.info.mem_bytes,
		       (unsigned long long)d.info.exits, (unsigned long long)d.info.run_ns,
		       d.end < 6 ? ends[d.end] : "?", d.status);
		json_name(reason);
		printf("\", \"exits_by_reason\": {");
		for (unsigned r = 0, first = 1; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
			if (!d.exits_by_reason[r])
				continue;
			printf("%s\"%s\": %llu", first ? "" : ", ", reasons[r],
			       (unsigned long long)d.exits_by_reason[r]);
			first = 0;
		}
		printf("}, \"vcpu_run_ns\": [");
		for (uint32_t i = 0; i < d.info.vcpus && i < KEEL_VM_MAX_VCPUS; i++)
			printf("%s%llu", i ? ", " : "", (unsigned long long)d.vcpu_run_ns[i]);
		if (has_mon)
			printf("], \"monitor\": {\"pid\": %d, \"on_poweroff\": \"%s\", \"on_reboot\": \"%s\", "
			       "\"on_crash\": \"%s\"}}\n",
			       mon.pid, mon.on_poweroff, mon.on_reboot, mon.on_crash);
		else
			printf("], \"monitor\": null}\n");
		return 0;
	}
	printf("vm %s (id %u): %s, %u vCPU%s, %llu MiB, %llu exits, %llu ms of CPU\n", name, d.info.id,
	       keel_vm_state_name(d.info.state), d.info.vcpus, d.info.vcpus == 1 ? "" : "s",
	       (unsigned long long)(d.info.mem_bytes >> 20), (unsigned long long)d.info.exits,
	       (unsigned long long)(d.info.run_ns / 1000000));
	if (d.info.state == KEEL_VM_DEAD)
		printf("  ended: %s%s%s (status %u)\n", d.end < 6 ? ends[d.end] : "?", reason[0] ? ": " : "", reason,
		       d.status);
	if (has_mon)
		printf("  monitor pid %d: on_poweroff %s, on_reboot %s, on_crash %s\n", mon.pid, mon.on_poweroff,
		       mon.on_reboot, mon.on_crash);
	for (unsigned r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++)
		if (d.exits_by_reason[r])
			printf("  exits %-12s %llu\n", reasons[r], (unsigned long long)d.exits_by_reason[r]);
	for (uint32_t i = 0; i < d.info.vcpus && i < KEEL_VM_MAX_VCPUS; i++)
		printf("  vCPU %u ran %llu us\n", i, (unsigned long long)(d.vcpu_run_ns[i] / 1000));
	return 0;
}

static int input(struct keel *k, uint32_t id, const char *text)
{
	char buf[HC_CONSOLE_MAX];
	size_t len = strlen(text);
	int n;

	if (len + 1 > sizeof(buf))
		return usage_error("text too long", "");
	memcpy(buf, text, len);
	buf[len++] = '\n';
	n = keel_console_input(k, id, buf, (uint32_t)len);
	return n < 0 ? fail("input", NULL, n) : 0;
}

static int mem(struct keel *k, int json)
{
	struct keel_mem_info m;
	int err = keel_mem_info(k, &m);

	if (err)
		return fail("mem", NULL, err);
	if (json)
		printf("{\"total_bytes\": %llu, \"free_bytes\": %llu, \"vm_bytes\": %llu}\n",
		       (unsigned long long)m.total_bytes, (unsigned long long)m.free_bytes,
		       (unsigned long long)m.vm_bytes);
	else
		printf("total %llu MiB, free %llu MiB (%llu bytes), given to VMs %llu MiB\n",
		       (unsigned long long)(m.total_bytes >> 20), (unsigned long long)(m.free_bytes >> 20),
		       (unsigned long long)m.free_bytes, (unsigned long long)(m.vm_bytes >> 20));
	return 0;
}

int keelctl_vm_command(struct keel *k, int argc, char **argv)
{
	const char *cmd = argv[1];
	int json = argc >= 3 && !strcmp(argv[argc - 1], "--json");
	uint32_t id;
	int err;

	if (!strcmp(cmd, "create"))
		return argc >= 3 ? create(k, argc, argv) : 2;
	if (!strcmp(cmd, "events")) {
		int wait = 0;

		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--wait"))
				wait = 1;
			else if (strcmp(argv[i], "--json"))
				return 2;
		}
		return events(k, wait, json);
	}
	if (!strcmp(cmd, "mem"))
		return argc == 2 || (argc == 3 && json) ? mem(k, json) : 2;
	if (strcmp(cmd, "start") && strcmp(cmd, "pause") && strcmp(cmd, "resume") && strcmp(cmd, "destroy") &&
	    strcmp(cmd, "info") && strcmp(cmd, "input"))
		return -1;
	if (argc < 3 ||
	    (argc > 3 && !(!strcmp(cmd, "info") && argc == 4 && json) && !(!strcmp(cmd, "input") && argc == 4)))
		return 2;
	if (!strcmp(cmd, "destroy"))
		return destroy(k, argv[2]);
	err = keel_vm_lookup(k, argv[2], &id);
	if (err)
		return fail(cmd, argv[2], err);
	if (!strcmp(cmd, "info"))
		return info(k, id, json);
	if (!strcmp(cmd, "input"))
		return input(k, id, argv[3]);
	err = !strcmp(cmd, "start")   ? keel_vm_start(k, id)
	      : !strcmp(cmd, "pause") ? keel_vm_pause(k, id)
				      : keel_vm_resume(k, id);
	return err ? fail(cmd, argv[2], err) : 0;
}
