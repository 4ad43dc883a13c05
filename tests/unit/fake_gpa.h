/* SPDX-License-Identifier: MIT */
/*
 * gpa_map() and gpa_load() over a test's flat guest RAM: include after defining FAKE_GPA_RAM (a
 * u8 pointer or array) and FAKE_GPA_SIZE (its size in bytes). Guest-physical address = offset.
 * fake_gpa_chunks() gives vm_ram_ptr() the same view.
 */
#ifndef TESTS_FAKE_GPA_H
#define TESTS_FAKE_GPA_H

#include <string.h>

void *gpa_map(struct vm *vm, gpa_t gpa, u64 len)
{
	if (!len || gpa >= FAKE_GPA_SIZE || len > FAKE_GPA_SIZE - gpa)
		return NULL;
	return FAKE_GPA_RAM + gpa;
}

int gpa_load(struct vm *vm, gpa_t gpa, unsigned size, u64 *val)
{
	u32 v32;

	if ((gpa & (size - 1)) || gpa >= FAKE_GPA_SIZE || size > FAKE_GPA_SIZE - gpa)
		return -EFAULT;
	if (size == 8) {
		memcpy(val, FAKE_GPA_RAM + gpa, 8);
	} else {
		memcpy(&v32, FAKE_GPA_RAM + gpa, 4);
		*val = v32;
	}
	return 0;
}

/* ram_chunks for vm_ram_ptr() (the exit path's page walk): the flat buffer `base` of `size` bytes
 * as v's RAM from guest-physical 0, in 2 MiB "host blocks" as vm.c allocates them. */
static inline void fake_gpa_chunks(struct vm *v, hpa_t *chunks, u8 *base, u64 size)
{
	for (u64 i = 0; i * VM_RAM_CHUNK < size; i++)
		chunks[i] = (hpa_t)(uintptr_t)(base + i * VM_RAM_CHUNK) - DIRECTMAP_BASE;
	v->ram_chunks = chunks;
	v->ram_size = v->low_ram = size;
}

#endif
