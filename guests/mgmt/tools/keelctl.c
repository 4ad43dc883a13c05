// SPDX-License-Identifier: MIT
/*
 * keelctl: Keel's toolstack command, run in the management VM (docs/mgmt.md).
 *   keelctl version        the hypervisor's ABI and keel.ko's ioctl versions
 *   keelctl list [--json]  every VM: id, name, state, vCPUs, memory, exits, CPU time
 * Exit status: 0 success, 1 the operation failed (message on stderr), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libkeel.h"

static int usage(void)
{
	fprintf(stderr, "usage: keelctl version | keelctl list [--json]\n");
	return 2;
}

/* A VM name as JSON string content: quotes, backslashes and control characters escaped. */
static void json_name(const char *s)
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
	} else {
		ret = usage();
	}
	keel_close(k);
	return ret;
}
