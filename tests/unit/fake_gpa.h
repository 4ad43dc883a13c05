/* SPDX-License-Identifier: MIT */
/*
 * gpa_map() and gpa_load() over a test's flat guest RAM: include after defining FAKE_GPA_RAM (a
 * u8 pointer or array) and FAKE_GPA_SIZE (its size in bytes). Guest-physical address = offset.
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

#endif
