// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The I/O-request checks of keel_abi.h: no kernel or libc calls, errno values from the including
 * side. Keel checks everything again (claims against the VM, IRQ entries); these keep malformed
 * requests from costing a hypercall and say plainly what was wrong. */
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "keel_abi.h"

int keel_check_io_attach(const struct keel_io_attach *req)
{
	return req->reserved || req->mmap_offset ? -EINVAL : 0;
}

int keel_check_io_claim(const struct keel_io_claim *req)
{
	if (req->number)
		return -EINVAL;
	if (req->claim.type > KEEL_IOREQ_PCI_CFG || req->claim.flags & ~(KEEL_CLAIM_DOORBELL | KEEL_CLAIM_DATAMATCH))
		return -EINVAL;
	return req->claim.size ? 0 : -EINVAL;
}

int keel_check_io_ref(unsigned int cmd, const struct keel_io_ref *req)
{
	switch (cmd) {
	case KEEL_IOC_IO_UNCLAIM:
		return req->arg < KEEL_CLAIMS_MAX ? 0 : -EINVAL;
	case KEEL_IOC_IO_NOTIFY:
		return req->arg < KEEL_VM_MAX_VCPUS ? 0 : -EINVAL;
	case KEEL_IOC_IO_DETACH:
		return req->arg ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

int keel_check_io_irqs(const struct keel_io_irqs *req)
{
	if (!req->count || req->count > KEEL_IRQ_BATCH_MAX || !req->entries)
		return -EINVAL;
	return 0;
}

int keel_io_mmap_index(uint64_t offset, uint64_t len, uint64_t page_size)
{
	if (len != page_size || offset % page_size || offset / page_size >= KEEL_IO_SERVERS_MAX)
		return -EINVAL;
	return (int)(offset / page_size);
}
