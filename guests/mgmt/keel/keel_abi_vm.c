// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The VM lifecycle's checks of keel_abi.h: no kernel or libc calls, errno values from the
 * including side. */
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "keel_abi.h"

static int terminated(const char *s, uint32_t max)
{
	for (uint32_t i = 0; i < max; i++)
		if (!s[i])
			return 1;
	return 0;
}

int keel_check_vm_create(const struct keel_ioc_vm_create *req)
{
	if (req->id || req->pad || req->req.flags || !req->req.name[0] || !terminated(req->req.name, KEEL_VM_NAME_MAX))
		return -EINVAL;
	return 0;
}

int keel_check_vm_image(const struct keel_ioc_vm_image *req)
{
	if (!req->id || req->image >= KEEL_IMAGE_MAX || !req->size || req->size > KEEL_IMAGE_SIZE_MAX || !req->data)
		return -EINVAL;
	return 0;
}

int keel_check_vm_load(const struct keel_ioc_vm_load *req)
{
	const struct keel_vm_load *l = &req->load;

	if (!req->id || req->pad || (l->kind != KEEL_BOOT_MULTIBOOT && l->kind != KEEL_BOOT_LINUX) || !l->images ||
	    l->images > KEEL_IMAGE_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < KEEL_IMAGE_MAX; i++)
		if (!terminated(l->cmdline[i], KEEL_CMDLINE_MAX))
			return -EINVAL;
	return 0;
}

int keel_check_vm_id(const struct keel_ioc_vm_id *req)
{
	return !req->id || req->pad ? -EINVAL : 0;
}

int keel_check_vm_info(const struct keel_ioc_vm_info *req)
{
	return !req->id || req->pad ? -EINVAL : 0;
}

int keel_check_events(const struct keel_ioc_events *req)
{
	if (req->max > KEEL_EVENTS_MAX || req->count || (req->max && !req->events))
		return -EINVAL;
	return 0;
}

int keel_check_console(const struct keel_ioc_console *req)
{
	if (!req->id || req->len > HC_CONSOLE_MAX || (req->len && !req->buf) || req->done || req->pad)
		return -EINVAL;
	return 0;
}

uint32_t keel_image_piece(uint64_t size, uint64_t n, uint64_t *offset)
{
	uint64_t left;

	if (n >= (size + KEEL_IMAGE_PIECE - 1) / KEEL_IMAGE_PIECE) {
		*offset = size;
		return 0;
	}
	*offset = n * KEEL_IMAGE_PIECE;
	left = size - *offset;
	return left < KEEL_IMAGE_PIECE ? (uint32_t)left : KEEL_IMAGE_PIECE;
}
