/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/* Keel's public ABI headers include <stdint.h>; in the kernel, <linux/types.h> has those types. */
#ifndef KEEL_COMPAT_STDINT_H
#define KEEL_COMPAT_STDINT_H
#include <linux/types.h>
#endif
