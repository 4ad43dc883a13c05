# Host unit tests of the virtual local APIC: registers, interrupt acceptance, ICR, x2APIC MSRs,
# destination matching and the timer, on a simulated clock.
UNIT_TESTS += test_vlapic
test_vlapic_SRCS := tests/unit/test_vlapic.c tests/unit/shim.c vmm/dev/vlapic.c
