/* SPDX-License-Identifier: MIT */
#ifndef KEEL_KSYMS_H
#define KEEL_KSYMS_H

#include "kernel/types.h"

/* Name of the function containing addr and the offset into it; NULL if unknown. */
const char *ksym_lookup(u64 addr, u64 *offset);
/* Walks the frame-pointer chain from rbp, printing one symbolized line per frame. */
void backtrace_print(u64 rip, u64 rbp);

#endif
