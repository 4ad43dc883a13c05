# Host unit tests for the virtual I/O APIC and the PCI configuration space (mechanism #1).
UNIT_TESTS += test_vioapic
test_vioapic_SRCS := tests/unit/test_vioapic.c tests/unit/shim.c vmm/dev/vioapic.c
UNIT_TESTS += test_vpci
test_vpci_SRCS := tests/unit/test_vpci.c tests/unit/shim.c vmm/dev/vpci.c vmm/dev/vpci_dev.c
UNIT_TESTS += test_vpci_dev
test_vpci_dev_SRCS := tests/unit/test_vpci_dev.c tests/unit/shim.c vmm/dev/vpci.c vmm/dev/vpci_dev.c vmm/dev/msi.c \
	vmm/dev/keelctl.c
