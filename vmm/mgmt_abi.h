/* SPDX-License-Identifier: MIT */
/*
 * Pure checks of what the management VM passes to the management hypercalls (no lock, no VM,
 * no allocation): the shape of each structure Keel copied out of its RAM, before anything acts on
 * it. Plain C over the public structures, so the libFuzzer target (tests/fuzz/fuzz_mgmt_abi.c)
 * runs the code Keel runs. Each returns 0 or -EINVAL.
 */
#ifndef KEEL_VMM_MGMT_ABI_H
#define KEEL_VMM_MGMT_ABI_H

#include "kernel/types.h"
#include "vmm/public/keel_hypercall.h"

#define IMAGE_TOTAL_MAX MiB(256)
#define VM_MEM_MIN	MiB(4)
#define VM_MEM_MAX	GiB(1024) /* far above any host Keel runs on: keeps the sums from wrapping */

/* HC_VM_CREATE: name (1-31 of [A-Za-z0-9_.-], NUL-terminated), memory, vCPUs, weight, cap, no
 * flags, no affinity for vCPUs it does not have. */
int mgmt_check_create(const struct keel_vm_create *c);
/* HC_VM_IMAGE: image number, piece length, total, and the piece inside the total. */
int mgmt_check_image(const struct keel_vm_image *img);
/* HC_VM_LOAD: a load's kind, image count and command lines (each NUL-terminated). */
int mgmt_check_load(const struct keel_vm_load *l);

/* HC_MOD_READ of a module of `size` bytes: the index is the caller's to check; len at most
 * KEEL_MODULE_READ_MAX, offset at most size. Sets *n to the bytes to copy (0 at the end). */
int mgmt_check_mod_read(const struct keel_module_read *r, u64 size, u32 *n);
/* HC_MOD_INFO's name of a module with this command line (see keel_hypercall.h), into out. */
void mgmt_module_name(const char *cmdline, u32 index, char out[KEEL_MODULE_NAME_MAX]);

#endif
