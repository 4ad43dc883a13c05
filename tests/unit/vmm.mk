# Host unit tests for the VMM's input parsers: VM declarations, guest page walks and instruction
# decoding, the multiboot guest loader.
UNIT_TESTS += test_vmm
# With the virtual platform, for the ACPI tables platform_write_tables() builds.
test_vmm_SRCS := tests/unit/test_vmm.c tests/unit/shim.c vmm/guest_mem.c vmm/vm_config.c vmm/loader.c vmm/linux_loader.c \
	kernel/module.c vmm/platform_irq.c vmm/platform_timers.c vmm/platform_mp.c vmm/platform_ports.c \
	vmm/platform_tables.c vmm/acpi_gen.c vmm/aml.c vmm/dev/vpic.c vmm/dev/vpit.c vmm/dev/vioapic.c vmm/dev/vlapic.c vmm/dev/vrtc.c kernel/lib/calendar.c \
	vmm/dev/vacpi.c vmm/dev/vpci.c vmm/dev/vpci_dev.c vmm/dev/msi.c vmm/dev/keelctl.c vmm/platform_msi.c \
	tests/unit/ioreq_stub.c
UNIT_TESTS += test_vplatform
test_vplatform_SRCS := tests/unit/test_vplatform.c tests/unit/shim.c vmm/dev/vpic.c vmm/dev/vpit.c
UNIT_TESTS += test_mmio
test_mmio_SRCS := tests/unit/test_mmio.c tests/unit/shim.c vmm/insn.c vmm/mmio.c vmm/emul_mem.c vmm/guest_mem.c \
	vmm/exit_io.c tests/unit/ioreq_stub.c
UNIT_TESTS += test_vm_state
test_vm_state_SRCS := tests/unit/test_vm_state.c tests/unit/shim.c vmm/vm_state.c kernel/lib/format.c
# I/O requests to the device model: the slot state machine, claims and interrupt batches.
UNIT_TESTS += test_ioreq
test_ioreq_SRCS := tests/unit/test_ioreq.c tests/unit/shim.c vmm/ioreq.c vmm/ioreq_check.c vmm/vm_state.c \
	kernel/lib/format.c
