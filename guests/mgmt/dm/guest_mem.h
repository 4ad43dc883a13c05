/* SPDX-License-Identifier: MIT */
/*
 * The served VM's RAM as keel-dm sees it: the memory window (libkeel's keel_win_map) maps RAM
 * offset o at base[o], and RAM lies at guest-physical addresses as Keel lays it out (vmm/vm.h):
 * the first min(size, 3 GiB) from 0, the rest from 4 GiB (the hole between is MMIO). Every access
 * the guest names is translated here and bounds-checked; a range that leaves RAM, or straddles
 * the hole, is an error (NULL), never a crash.
 */
#ifndef KEEL_DM_GUEST_MEM_H
#define KEEL_DM_GUEST_MEM_H

#include <stdint.h>

#define GUEST_MEM_HOLE	   (3ull << 30) /* vmm/vm.h VM_RAM_HOLE */
#define GUEST_MEM_HIGH_RAM (4ull << 30) /* vmm/vm.h VM_HIGH_RAM */

struct guest_mem {
	uint8_t *base;	  /* the window: RAM offset 0 */
	uint64_t size;	  /* all RAM */
	uint64_t low_ram; /* the part below the hole, from gpa 0 */
};

void guest_mem_init(struct guest_mem *m, void *base, uint64_t size);
/* The window address of [gpa, gpa + len), or NULL if any byte of it is not RAM (len 0: NULL
 * unless gpa is RAM). */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copies to or from guest RAM: 0, or -EFAULT with nothing copied. */
int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

#endif
