/* SPDX-License-Identifier: MIT */
/* Debug registers and CR2 for the guests that check how the hypervisor switches them. */
#ifndef GUEST_DREG_H
#define GUEST_DREG_H

#include <stdint.h>

#define DR6_INIT 0xffff0ff0ul /* power-on value (SDM vol. 3A table 9-1) */
#define DR7_INIT 0x400ul
#define DR6_B0	 (1ul << 0)

static inline unsigned long read_dr(unsigned n)
{
	unsigned long v = 0;

	switch (n) {
	case 0:
		__asm__ volatile("mov %%db0, %0" : "=r"(v));
		break;
	case 1:
		__asm__ volatile("mov %%db1, %0" : "=r"(v));
		break;
	case 2:
		__asm__ volatile("mov %%db2, %0" : "=r"(v));
		break;
	case 3:
		__asm__ volatile("mov %%db3, %0" : "=r"(v));
		break;
	case 6:
		__asm__ volatile("mov %%db6, %0" : "=r"(v));
		break;
	case 7:
		__asm__ volatile("mov %%db7, %0" : "=r"(v));
		break;
	}
	return v;
}

static inline void write_dr(unsigned n, unsigned long v)
{
	switch (n) {
	case 0:
		__asm__ volatile("mov %0, %%db0" : : "r"(v));
		break;
	case 1:
		__asm__ volatile("mov %0, %%db1" : : "r"(v));
		break;
	case 2:
		__asm__ volatile("mov %0, %%db2" : : "r"(v));
		break;
	case 3:
		__asm__ volatile("mov %0, %%db3" : : "r"(v));
		break;
	case 6:
		__asm__ volatile("mov %0, %%db6" : : "r"(v));
		break;
	case 7:
		__asm__ volatile("mov %0, %%db7" : : "r"(v) : "memory");
		break;
	}
}

static inline void write_cr2(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr2" : : "r"(v));
}

#endif
