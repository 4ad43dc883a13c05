// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The checks of keel_abi.h: no kernel or libc calls, errno values from the including side. */
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "keel_abi.h"

int keel_check_vm_list(const struct keel_vm_list *req)
{
	if (req->max > KEEL_VM_LIST_MAX || req->count != 0)
		return -EINVAL;
	if (req->max && !req->entries)
		return -EINVAL;
	return 0;
}

uint64_t keel_vm_list_bytes(const struct keel_vm_list *req, uint32_t count)
{
	uint32_t n = count < req->max ? count : req->max;

	return (uint64_t)n * sizeof(struct keel_vm_info);
}
