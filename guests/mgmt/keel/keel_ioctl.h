/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * /dev/keel's ioctls: the interface between keel.ko (the management VM's module) and user space
 * (libkeel). Versioned with KEEL_IOCTL_VERSION; see docs/mgmt.md. Included by the module, by
 * libkeel and by the host unit tests, so only fixed-width types.
 */
#ifndef KEEL_IOCTL_H
#define KEEL_IOCTL_H

#include <stdint.h>
#ifdef __KERNEL__
#include <linux/ioctl.h>
#else
#include <sys/ioctl.h>
#endif

#include "keel_hypercall.h"

#define KEEL_IOCTL_VERSION 1

struct keel_version {
	uint32_t abi;	/* the hypervisor's KEEL_ABI_VERSION (HC_VERSION) */
	uint32_t ioctl; /* the module's KEEL_IOCTL_VERSION */
};

/* In: max entries at `entries` (a user pointer), at most KEEL_VM_LIST_MAX, and no padding set.
 * Out: count, the number of VMs (may exceed max: then max entries were written). */
struct keel_vm_list {
	uint32_t max;
	uint32_t count;
	uint64_t entries; /* struct keel_vm_info[max] */
};

#define KEEL_IOC_MAGIC	 'K'
#define KEEL_IOC_VERSION _IOR(KEEL_IOC_MAGIC, 0, struct keel_version)
#define KEEL_IOC_VM_LIST _IOWR(KEEL_IOC_MAGIC, 1, struct keel_vm_list)

#endif
