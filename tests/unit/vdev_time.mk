# Host unit tests for the virtual platform's time and power devices: the CMOS RTC and the ACPI
# fixed hardware (PM timer, PM1 blocks, reset control, 8042 reset line).
UNIT_TESTS += test_vrtc
test_vrtc_SRCS := tests/unit/test_vrtc.c tests/unit/shim.c vmm/dev/vrtc.c kernel/lib/calendar.c
UNIT_TESTS += test_vacpi
test_vacpi_SRCS := tests/unit/test_vacpi.c tests/unit/shim.c vmm/dev/vacpi.c
