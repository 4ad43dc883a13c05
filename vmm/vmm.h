/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_VMM_H
#define KEEL_VMM_VMM_H

#include "kernel/bootinfo.h"

/* cmdline: vm=NAME,module=INDEX[,mem=SIZE] (repeatable). Returns < 0 (and warns) if malformed. */
int vmm_config_add(const char *value);
/* Creates, runs and reports every configured VM; returns when all have ended. */
void vmm_run_all(const struct boot_info *bi);

#endif
