/* SPDX-License-Identifier: MIT */
/* A VM's run state: started, paused and resumed or killed from any CPU. */
#ifndef KEEL_VMM_VM_STATE_H
#define KEEL_VMM_VM_STATE_H

#include "vmm/vm.h"

/* Created -> running, before its vCPUs go to the scheduler. */
bool vm_start(struct vm *vm);
/* Its vCPUs stop entering the guest at their next exit (the kick makes that soon) and block;
 * resume makes them runnable again. Both return false if the VM was not in the state they change. */
bool vm_pause(struct vm *vm);
bool vm_resume(struct vm *vm);
/* Ends the VM from outside (the console), as a crash with reason `why`; false if already ended. */
bool vm_kill(struct vm *vm, const char *why);

#endif
