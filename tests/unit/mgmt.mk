# Host unit tests of the management VM's code (guests/mgmt/): keel.ko's ABI checks, compiled from
# the module's own source file.
UNIT_TESTS += test_keel_abi
test_keel_abi_SRCS := tests/unit/test_keel_abi.c guests/mgmt/keel/keel_abi.c
test_keel_abi_CFLAGS := -Iguests/mgmt/keel -Ivmm/public
