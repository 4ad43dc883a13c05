// SPDX-License-Identifier: MIT
/* libkeel over /dev/keel (libkeel.h). */
#include "libkeel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "keel_ioctl.h"
#include "libkeel_internal.h"

int keel_open(const char *path, struct keel **k)
{
	struct keel *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->fd = open(path ? path : KEEL_DEVICE, O_RDWR | O_CLOEXEC);
	if (n->fd < 0) {
		int err = -errno;

		free(n);
		return err;
	}
	*k = n;
	return 0;
}

void keel_close(struct keel *k)
{
	if (!k)
		return;
	close(k->fd);
	free(k);
}

int keel_version(struct keel *k, uint32_t *abi, uint32_t *ioctl_version)
{
	struct keel_version v;

	if (ioctl(k->fd, KEEL_IOC_VERSION, &v) < 0)
		return -errno;
	*abi = v.abi;
	*ioctl_version = v.ioctl;
	return 0;
}

int keel_vm_list(struct keel *k, struct keel_vm_info *out, uint32_t max)
{
	struct keel_vm_list req = { .max = max, .entries = (uint64_t)(uintptr_t)out };

	if (ioctl(k->fd, KEEL_IOC_VM_LIST, &req) < 0)
		return -errno;
	return (int)req.count;
}

const char *keel_vm_state_name(uint32_t state)
{
	static const char *const names[] = { "created", "running", "paused", "dead" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

int keel_fd(struct keel *k)
{
	return k->fd;
}
