/* SPDX-License-Identifier: MIT */
/*
 * libkeel: the management VM's C interface to Keel, over /dev/keel (keel.ko). With
 * vmm/public/keel_hypercall.h (the data it returns) it is the public interface the tools build
 * on; versioned as LIBKEEL_VERSION, documented in docs/mgmt.md. Every function returns 0 (or a
 * count) on success and a negative errno on failure, and sets nothing global.
 */
#ifndef LIBKEEL_H
#define LIBKEEL_H

#include <stdint.h>

#include "keel_hypercall.h"

#define LIBKEEL_VERSION 1
#define KEEL_DEVICE	"/dev/keel"

struct keel;

/* Opens /dev/keel (path NULL) or another node; -ENOENT when keel.ko is not loaded. */
int keel_open(const char *path, struct keel **k);
void keel_close(struct keel *k);
/* The hypervisor's hypercall ABI version and the module's ioctl version. */
int keel_version(struct keel *k, uint32_t *abi, uint32_t *ioctl);
/* Up to max VMs into out; returns how many VMs there are (may be more than max). */
int keel_vm_list(struct keel *k, struct keel_vm_info *out, uint32_t max);
/* "created", "running", "paused", "dead" or "?". */
const char *keel_vm_state_name(uint32_t state);

#endif
