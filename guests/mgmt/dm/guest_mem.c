// SPDX-License-Identifier: MIT
/* keel-dm: guest-physical addresses to window addresses (guest_mem.h). */
#include <errno.h>
#include <string.h>

#include "guest_mem.h"

void guest_mem_init(struct guest_mem *m, void *base, uint64_t size)
{
	m->base = base;
	m->size = size;
	m->low_ram = size < GUEST_MEM_HOLE ? size : GUEST_MEM_HOLE;
}

/* Written so that no sum can wrap: each bound is checked as a difference. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	if (gpa < m->low_ram) {
		if (len > m->low_ram - gpa)
			return NULL;
		off = gpa;
	} else if (gpa >= GUEST_MEM_HIGH_RAM && gpa - GUEST_MEM_HIGH_RAM < m->size - m->low_ram) {
		off = m->low_ram + (gpa - GUEST_MEM_HIGH_RAM);
		if (len > m->size - off)
			return NULL;
	} else {
		return NULL;
	}
	return m->base + off;
}

int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
