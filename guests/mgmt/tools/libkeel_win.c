// SPDX-License-Identifier: MIT
/* libkeel: the memory window (libkeel.h). */
#include "libkeel.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "keel_ioctl.h"
#include "libkeel_internal.h"

int keel_win_map(struct keel *k, uint32_t vm_id, void **mem, uint64_t *size)
{
	struct keel_win_map req = { .vm_id = vm_id };
	struct keel_win_unmap un = { .vm_id = vm_id };
	void *p;
	int err;

	if (ioctl(k->fd, KEEL_IOC_WIN_MAP, &req) < 0)
		return -errno;
	if (req.size > SIZE_MAX) {
		err = -EOVERFLOW;
		goto undo;
	}
	p = mmap(NULL, (size_t)req.size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, (off_t)req.mmap_offset);
	if (p == MAP_FAILED) {
		err = -errno;
		goto undo;
	}
	*mem = p;
	*size = req.size;
	return 0;
undo:
	ioctl(k->fd, KEEL_IOC_WIN_UNMAP, &un);
	return err;
}

int keel_win_unmap(struct keel *k, uint32_t vm_id, void *mem, uint64_t size)
{
	struct keel_win_unmap un = { .vm_id = vm_id };
	int err = 0;

	/* Revoked first: every mapping of it goes, in this process and any other. */
	if (ioctl(k->fd, KEEL_IOC_WIN_UNMAP, &un) < 0)
		err = -errno;
	if (mem && munmap(mem, (size_t)size) < 0 && !err)
		err = -errno;
	return err;
}
