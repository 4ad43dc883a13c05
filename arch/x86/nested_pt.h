/* SPDX-License-Identifier: MIT */
/*
 * What AMD's nested page tables and Intel's EPT share: four levels of 512 entries, the address
 * in bits 51:12 and the large-page bit 7 (AMD APM vol. 2 §15.25.5, Intel SDM vol. 3C §28.2.2);
 * only what makes an entry present differs (P; any of R, W, X). Used by both backends' unmap.
 */
#ifndef KEEL_ARCH_X86_NESTED_PT_H
#define KEEL_ARCH_X86_NESTED_PT_H

#include "vmm/vcpu.h"

#define NESTED_PT_ADDR	0x000ffffffffff000ULL
#define NESTED_PT_LARGE (1ULL << 7)

/*
 * Clears the entries for [gpa, gpa + size) (1 GiB aligned, up to NESTED_UNMAP_MAX, below 2^48)
 * under root, the PML4; each page directory that hung there, and each PDPT left with nothing,
 * is detached into *stale, not freed. `present`: the bits of which one makes an entry present.
 * -EINVAL (nothing changed) for a bad range.
 */
int nested_pt_unmap(u64 *root, u64 present, u64 gpa, u64 size, struct nested_stale *stale);

#endif
