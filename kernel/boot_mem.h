/* SPDX-License-Identifier: MIT */
#ifndef KEEL_BOOT_MEM_H
#define KEEL_BOOT_MEM_H

#include "kernel/bootinfo.h"

/* Sanitizes the map, reserves Keel and the modules, builds the page tables and the allocator. */
void boot_mem_init(struct boot_info *bi);
/* Usable RAM the firmware reported (after mem=). */
u64 boot_mem_usable_bytes(void);
/* Whether [pa, pa+len) lies in one RAM range of the firmware map (so in the direct map). */
bool phys_is_ram(hpa_t pa, u64 len);

#endif
