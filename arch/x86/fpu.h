/* SPDX-License-Identifier: MIT */
/*
 * The FPU/SSE/AVX register state belongs to guests only (Keel is built without them), but it is
 * per physical CPU: each VM must start from the architectural initial state, never from what the
 * previous VM on that CPU left behind, and XCR0 writes must be checked.
 */
#ifndef KEEL_FPU_H
#define KEEL_FPU_H

#include "kernel/types.h"

/* Enables FXSR/XSAVE in CR4 where the CPU has them (each CPU). */
void fpu_init_cpu(void);
/* Resets every FPU/SSE/AVX register to its initial state and XCR0 to x87 only. */
void fpu_reset_for_guest(void);
/* XSETBV on behalf of a guest: false if the value is not a valid XCR0 for this CPU. */
bool fpu_guest_xsetbv(u32 index, u64 value);

#endif
