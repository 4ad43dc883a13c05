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
/* Each vCPU's extended state lives in an area of FPU_AREA_SIZE bytes, 64-byte aligned, while it
 * is off the CPU: initialized to the power-on state, saved and restored around its runs. */
#define FPU_AREA_SIZE 4096
void fpu_guest_init(void *area);
void fpu_guest_save(void *area, u64 *xcr0);
/* Restores the area and sets XCR0 to the guest's (0: x87 only, the power-on value). */
void fpu_guest_restore(const void *area, u64 xcr0);
/* XSETBV on behalf of a guest: false if the value is not a valid XCR0 for this CPU. */
bool fpu_guest_xsetbv(u32 index, u64 value);

#endif
