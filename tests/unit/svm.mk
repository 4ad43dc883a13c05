# Host unit tests of the SVM backend's pure parts: the VMRUN consistency checks that name a
# failed VMRUN's state, and the recognition of VMEXIT_INVALID in both encodings.
UNIT_TESTS += test_vmcb_check
test_vmcb_check_SRCS := tests/unit/test_vmcb_check.c tests/unit/shim.c arch/x86/svm/vmcb_check.c
# Software interrupts (INTn, INT3, INTO) delivered again after an exit cut them short.
UNIT_TESTS += test_svm_event
test_svm_event_SRCS := tests/unit/test_svm_event.c tests/unit/shim.c arch/x86/svm/svm_event.c
