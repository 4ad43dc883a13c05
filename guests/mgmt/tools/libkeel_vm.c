// SPDX-License-Identifier: MIT
/* libkeel: VM lifecycle, events and consoles (libkeel.h). */
#include "libkeel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel_ioctl.h"
#include "libkeel_internal.h"

static int ioc(struct keel *k, unsigned long cmd, void *arg)
{
	int ret = ioctl(k->fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int keel_vm_create(struct keel *k, const struct keel_vm_params *p, uint32_t *id)
{
	struct keel_ioc_vm_create req = {
		.req = { .mem_bytes = p->mem_bytes, .vcpus = p->vcpus, .weight = p->weight, .cap_pct = p->cap_pct }
	};
	int ret;

	if (!p->name || strlen(p->name) >= sizeof(req.req.name))
		return -EINVAL;
	strcpy(req.req.name, p->name);
	memcpy(req.req.affinity, p->affinity, sizeof(req.req.affinity));
	ret = ioc(k, KEEL_IOC_VM_CREATE, &req);
	if (!ret)
		*id = req.id;
	return ret;
}

int keel_vm_image(struct keel *k, uint32_t id, uint32_t n, const void *data, uint64_t size)
{
	struct keel_ioc_vm_image req = { .id = id, .image = n, .size = size, .data = (uint64_t)(uintptr_t)data };

	return ioc(k, KEEL_IOC_VM_IMAGE, &req);
}

int keel_vm_image_file(struct keel *k, uint32_t id, uint32_t n, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	struct stat st;
	void *p;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		ret = st.st_size <= 0 ? -EINVAL : -errno;
		close(fd);
		return ret;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	ret = p == MAP_FAILED ? -errno : keel_vm_image(k, id, n, p, (uint64_t)st.st_size);
	if (p != MAP_FAILED)
		munmap(p, (size_t)st.st_size);
	close(fd);
	return ret;
}

int keel_vm_load(struct keel *k, uint32_t id, int linux_boot, uint32_t nr, const char *const *cmdlines)
{
	struct keel_ioc_vm_load req = {
		.id = id, .load = { .kind = linux_boot ? KEEL_BOOT_LINUX : KEEL_BOOT_MULTIBOOT, .images = nr }
	};

	for (uint32_t i = 0; cmdlines && i < nr && i < KEEL_IMAGE_MAX; i++) {
		if (!cmdlines[i])
			continue;
		if (strlen(cmdlines[i]) >= KEEL_CMDLINE_MAX)
			return -E2BIG;
		strcpy(req.load.cmdline[i], cmdlines[i]);
	}
	return ioc(k, KEEL_IOC_VM_LOAD, &req);
}

static int by_id(struct keel *k, unsigned long cmd, uint32_t id)
{
	struct keel_ioc_vm_id req = { .id = id };

	return ioc(k, cmd, &req);
}

int keel_vm_start(struct keel *k, uint32_t id)
{
	return by_id(k, KEEL_IOC_VM_START, id);
}

int keel_vm_pause(struct keel *k, uint32_t id)
{
	return by_id(k, KEEL_IOC_VM_PAUSE, id);
}

int keel_vm_resume(struct keel *k, uint32_t id)
{
	return by_id(k, KEEL_IOC_VM_RESUME, id);
}

int keel_vm_destroy(struct keel *k, uint32_t id)
{
	return by_id(k, KEEL_IOC_VM_DESTROY, id);
}

int keel_vm_info(struct keel *k, uint32_t id, struct keel_vm_detail *out)
{
	struct keel_ioc_vm_info req = { .id = id };
	int ret = ioc(k, KEEL_IOC_VM_INFO, &req);

	if (!ret)
		*out = req.detail;
	return ret;
}

int keel_vm_lookup(struct keel *k, const char *name, uint32_t *id)
{
	struct keel_vm_info vms[KEEL_VM_LIST_MAX];
	int n = keel_vm_list(k, vms, KEEL_VM_LIST_MAX);
	char *end;
	unsigned long num = strtoul(name, &end, 10);
	int by_number = *name && !*end;

	if (n < 0)
		return n;
	if (n > KEEL_VM_LIST_MAX)
		n = KEEL_VM_LIST_MAX;
	/* A name first: names may be digits too. */
	for (int i = 0; i < n; i++) {
		if (!strncmp(vms[i].name, name, sizeof(vms[i].name))) {
			*id = vms[i].id;
			return 0;
		}
	}
	for (int i = 0; by_number && i < n; i++) {
		if (vms[i].id == num) {
			*id = vms[i].id;
			return 0;
		}
	}
	return -ENOENT;
}

int keel_events(struct keel *k, struct keel_event *out, uint32_t max)
{
	struct keel_ioc_events req = { .max = max, .events = (uint64_t)(uintptr_t)out };
	int ret = ioc(k, KEEL_IOC_EVENTS, &req);

	return ret < 0 ? ret : (int)req.count;
}

int keel_events_wait(struct keel *k, int timeout_ms)
{
	struct pollfd p = { .fd = k->fd, .events = POLLPRI }; /* POLLIN is for I/O requests */
	int ret = poll(&p, 1, timeout_ms);

	return ret < 0 ? -errno : ret > 0;
}

const char *keel_event_name(uint32_t type)
{
	static const char *const names[] = { "?", "exited", "poweroff", "reset", "crashed", "destroyed" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static int console(struct keel *k, unsigned long cmd, uint32_t id, const void *buf, uint32_t len)
{
	struct keel_ioc_console req = { .id = id, .len = len, .buf = (uint64_t)(uintptr_t)buf };
	int ret = ioc(k, cmd, &req);

	return ret < 0 ? ret : (int)req.done;
}

int keel_console_read(struct keel *k, uint32_t id, void *buf, uint32_t len)
{
	return console(k, KEEL_IOC_CONSOLE_READ, id, buf, len);
}

int keel_console_input(struct keel *k, uint32_t id, const void *buf, uint32_t len)
{
	return console(k, KEEL_IOC_CONSOLE_INPUT, id, buf, len);
}

int keel_mem_info(struct keel *k, struct keel_mem_info *out)
{
	return ioc(k, KEEL_IOC_MEM_INFO, out);
}
