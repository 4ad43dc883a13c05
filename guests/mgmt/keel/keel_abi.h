/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Checks of what user space hands /dev/keel, in plain C compiled both into keel.ko and into the
 * host unit tests and fuzz target (tests/unit/test_keel_abi.c), so the code tested is the code
 * that runs. Each returns 0 or a negative errno (EINVAL).
 */
#ifndef KEEL_ABI_H
#define KEEL_ABI_H

#include "keel_ioctl.h"

/* A KEEL_IOC_VM_LIST request: max within KEEL_VM_LIST_MAX, a buffer when max > 0, count 0 on
 * the way in. */
int keel_check_vm_list(const struct keel_vm_list *req);
/* The bytes of the entries a VM_LIST result copies out: min(count, max) entries. */
uint64_t keel_vm_list_bytes(const struct keel_vm_list *req, uint32_t count);

#endif
