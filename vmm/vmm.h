/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_VMM_H
#define KEEL_VMM_VMM_H

#include "kernel/bootinfo.h"
#include "vmm/vm_config.h"

/* Creates, runs and reports every configured VM; returns when all have ended. */
void vmm_run_all(const struct boot_info *bi);

#endif
