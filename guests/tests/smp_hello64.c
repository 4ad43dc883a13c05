// SPDX-License-Identifier: MIT
/* smp_hello in long mode: the trampoline goes real mode -> 32-bit protected mode -> long mode.
 * Bare QEMU: PASSES with -smp N and cpus=N. */
#define SMP_HELLO_NAME "smp_hello64"
#include "smp_hello.c"
