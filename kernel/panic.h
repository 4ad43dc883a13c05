/* SPDX-License-Identifier: MIT */
#ifndef KEEL_PANIC_H
#define KEEL_PANIC_H

#include "kernel/types.h"

/* A broken host invariant: print why, registers and a backtrace, stop every CPU. */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

/* For trap handlers: claim the panic (stopping other CPUs), print, then panic_finish(). */
void panic_begin(void);
__noreturn void panic_finish(void);
bool panic_in_progress(void);

#ifdef KEEL_DEBUG
#define ASSERT(c)                                                                       \
	do {                                                                            \
		if (unlikely(!(c)))                                                     \
			panic("assertion failed: %s at %s:%d", #c, __FILE__, __LINE__); \
	} while (0)
#else
#define ASSERT(c) ((void)sizeof(c))
#endif

#endif
