/* SPDX-License-Identifier: MIT */
#ifndef KEEL_IO_H
#define KEEL_IO_H

#include "kernel/types.h"

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u16 inw(u16 port)
{
	u16 v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 mmio_read32(const volatile void *p)
{
	return *(const volatile u32 *)p;
}

static inline void mmio_write32(volatile void *p, u32 v)
{
	*(volatile u32 *)p = v;
}

static inline u64 mmio_read64(const volatile void *p)
{
	return *(const volatile u64 *)p;
}

static inline void mmio_write64(volatile void *p, u64 v)
{
	*(volatile u64 *)p = v;
}

#endif
