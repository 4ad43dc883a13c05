/* SPDX-License-Identifier: MIT */
/* What keelctl's files share. */
#ifndef KEELCTL_H
#define KEELCTL_H

#include "libkeel.h"

/* A string as JSON string content: quotes, backslashes and control characters escaped. */
void json_name(const char *s);
/* Status 2 (usage or config error) whose message is already printed: no usage text after it. */
#define KEELCTL_EXIT_SAID 0x102
/* The VM lifecycle's commands (keelctl_vm.c): the exit status (or KEELCTL_EXIT_SAID), or -1 if
 * argv[1] is none of them. */
int keelctl_vm_command(struct keel *k, int argc, char **argv);

#endif
