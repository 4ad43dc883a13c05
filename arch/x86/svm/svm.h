/* SPDX-License-Identifier: MIT */
/* What the SVM backend's files share (arch/x86/svm/). */
#ifndef KEEL_ARCH_X86_SVM_SVM_H
#define KEEL_ARCH_X86_SVM_SVM_H

#include "vmm/vm.h"

/* Nested page tables (npt.c): the host's own 4-level format (APM vol. 2 §15.25). */
void svm_npt_init(void);
int svm_npt_map(struct vm *vm, u64 gpa, hpa_t hpa, u64 size);
void svm_npt_free(hpa_t table, int level);
int svm_npt_unmap(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale);
void svm_npt_free_stale(struct nested_stale *stale);

#endif
