# Host unit tests of the hypervisor console (escape and input focus, line editing, commands and
# tables against fake VMs), the guest's COM1 16550 and the I/O APIC's ISA routing.
UNIT_TESTS += test_console test_guest_uart test_ioapic
test_console_SRCS := tests/unit/test_console.c tests/unit/shim.c vmm/console.c kernel/lib/format.c
test_guest_uart_SRCS := tests/unit/test_guest_uart.c tests/unit/shim.c vmm/dev/vuart.c
test_ioapic_SRCS := tests/unit/test_ioapic.c tests/unit/shim.c arch/x86/ioapic.c
