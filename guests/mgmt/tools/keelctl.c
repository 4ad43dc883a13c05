// SPDX-License-Identifier: MIT
/*
 * keelctl: Keel's toolstack command, run in the management VM (docs/mgmt.md).
 *   keelctl version        the hypervisor's ABI and keel.ko's ioctl versions
 *   keelctl list [--json]  every VM: id, name, state, vCPUs, memory, exits, CPU time
 *   keelctl create NAME --mem SIZE --vcpus N [--weight W] [--cap PCT] [--cpus SET[/SET...]]
 *           --kernel FILE [--module FILE[:CMDLINE]]... [--linux [--initrd FILE]] [--cmdline S]
 *                          creates and loads a VM (not started; a failed load destroys it)
 *   keelctl create FILE    the same from a config file, xl.cfg's syntax (keelcfg.h, docs/mgmt.md);
 *                          on_poweroff/on_reboot/on_crash other than "preserve" leave a monitor
 *                          process that destroys or restarts the VM when it ends (keelctl_mon.c)
 *   keelctl start|pause|resume|destroy VM   (destroy stops the VM's monitor first)
 *   keelctl info VM [--json]   state, how it ended, exits by reason, CPU time per vCPU
 *   keelctl events [--wait] [--json]   the events Keel queued (VM ends and destroys)
 *   keelctl console [--once | --interactive] [--hvc] VM
 *                          on a terminal, a session on the VM's COM1 (--hvc: its virtio console,
 *                          served by keel-dm) until Ctrl-]; else prints what COM1 printed since the
 *                          last read (--hvc: the virtio console's log)
 *   keelctl top [-d SECONDS] [-n ITERATIONS] [-b]   VMs' CPU use and exits, refreshed
 *   keelctl input VM TEXT  sends TEXT and a newline to the VM's COM1
 *   keelctl mem [--json]   Keel's memory: total, free, given to VMs
 * VM is a name or an id.
 * Exit status: 0 success, 1 the operation failed (message on stderr), 2 usage or a config file's
 * error ("FILE:LINE: key 'K': why" on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keelctl.h"
#include "libkeel.h"

/* The usage text on f; keelctl help prints it on stdout (status 0), a bad command on stderr (2). */
static void usage_to(FILE *f)
{
	fprintf(f,
		"usage: keelctl version | list [--json] | create FILE | create NAME --mem SIZE --vcpus N [--weight W] "
		"[--cap PCT]\n"
		"         [--cpus SET[/SET...]] --kernel FILE [--module FILE[:CMDLINE]]... [--linux [--initrd FILE]]\n"
		"         [--cmdline S] | start|pause|resume|destroy VM | info VM [--json] | events [--wait] [--json]\n"
		"         | console [--once | --interactive] [--hvc] VM | input VM TEXT | mem [--json]\n"
		"         | top [-d SECONDS] [-n ITERATIONS] [-b] | help\n"
		"Commands and config keys: docs/mgmt.md.\n");
}

static int usage(void)
{
	usage_to(stderr);
	return 2;
}

void json_name(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
}

static int list(struct keel *k, int json)
{
	struct keel_vm_info vms[KEEL_VM_LIST_MAX];
	int n = keel_vm_list(k, vms, KEEL_VM_LIST_MAX);

	if (n < 0) {
		fprintf(stderr, "keelctl: list: %s\n", strerror(-n));
		return 1;
	}
	if (n > KEEL_VM_LIST_MAX)
		n = KEEL_VM_LIST_MAX;
	if (json)
		printf("[");
	else
		printf("%4s  %-16s %-8s %5s %8s %12s %10s %s\n", "ID", "Name", "State", "vCPUs", "Mem(MiB)", "Exits",
		       "CPU(ms)", "Flags");
	for (int i = 0; i < n; i++) {
		const struct keel_vm_info *v = &vms[i];
		char name[KEEL_VM_NAME_MAX];

		memcpy(name, v->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		if (json) {
			printf("%s{\"id\": %u, \"name\": \"", i ? ", " : "", v->id);
			json_name(name);
			printf("\", \"state\": \"%s\", \"vcpus\": %u, \"mem_bytes\": %llu, \"exits\": %llu, "
			       "\"run_ns\": %llu, \"mgmt\": %s}",
			       keel_vm_state_name(v->state), v->vcpus, (unsigned long long)v->mem_bytes,
			       (unsigned long long)v->exits, (unsigned long long)v->run_ns,
			       v->flags & KEEL_VM_F_MGMT ? "true" : "false");
		} else {
			printf("%4u  %-16s %-8s %5u %8llu %12llu %10llu %s\n", v->id, name,
			       keel_vm_state_name(v->state), v->vcpus, (unsigned long long)(v->mem_bytes >> 20),
			       (unsigned long long)v->exits, (unsigned long long)(v->run_ns / 1000000),
			       v->flags & KEEL_VM_F_MGMT ? "mgmt" : "-");
		}
	}
	if (json)
		printf("]\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct keel *k;
	int err, ret;

	if (argc < 2)
		return usage();
	if (argc == 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage_to(stdout);
		return 0;
	}
	err = keel_open(NULL, &k);
	if (err) {
		fprintf(stderr, "keelctl: %s: %s%s\n", KEEL_DEVICE, strerror(-err),
			err == -ENOENT ? " (is keel.ko loaded?)" : "");
		return 1;
	}
	if (!strcmp(argv[1], "version") && argc == 2) {
		uint32_t abi, ioc;

		err = keel_version(k, &abi, &ioc);
		if (err)
			fprintf(stderr, "keelctl: version: %s\n", strerror(-err));
		else
			printf("keel hypercall ABI %u, keel.ko ioctl %u, libkeel %u\n", abi, ioc, LIBKEEL_VERSION);
		ret = err ? 1 : 0;
	} else if (!strcmp(argv[1], "list") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json")))) {
		ret = list(k, argc == 3);
	} else if ((ret = !strcmp(argv[1], "console") ? keelctl_console_command(k, argc, argv)
			  : !strcmp(argv[1], "top")   ? keelctl_top_command(k, argc, argv)
						      : keelctl_vm_command(k, argc, argv)) >= 0) {
		if (ret == 2)
			usage();
		else if (ret == KEELCTL_EXIT_SAID)
			ret = 2;
	} else {
		ret = usage();
	}
	keel_close(k);
	return ret;
}
