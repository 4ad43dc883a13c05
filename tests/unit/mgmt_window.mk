# The memory window and its destroy order (vmm/mgmt_window.c) with the real nested-TLB shootdown
# (vmm/tlb_sync.c) and control function, over a fake vcpu_ops that records the order.
UNIT_TESTS += test_mgmt_window
test_mgmt_window_SRCS := tests/unit/test_mgmt_window.c tests/unit/shim.c vmm/mgmt_window.c vmm/tlb_sync.c \
	vmm/dev/vpci_dev.c vmm/dev/keelctl.c
# keel.ko's window checks, from the module's own source file.
UNIT_TESTS += test_keel_abi_win
test_keel_abi_win_SRCS := tests/unit/test_keel_abi_win.c guests/mgmt/keel/keel_abi_win.c
test_keel_abi_win_CFLAGS := -Iguests/mgmt/keel -Ivmm/public
# Unmapping from nested page tables, either vendor's (the windows' unmap).
UNIT_TESTS += test_nested_pt
test_nested_pt_SRCS := tests/unit/test_nested_pt.c tests/unit/shim.c arch/x86/nested_pt.c
