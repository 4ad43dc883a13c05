# Host unit tests for the multiboot information parsers and boot-module checks.
UNIT_TESTS += test_boot
test_boot_SRCS := tests/unit/test_boot.c tests/unit/shim.c boot/multiboot.c kernel/module.c
