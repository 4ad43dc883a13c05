# Host unit tests of the VM's ACPI tables (vmm/acpi_gen.c), read back by the host ACPI parser
# (drivers/acpi) through the fake physical memory of acpi_fake.c.
UNIT_TESTS += test_acpi_gen

test_acpi_gen_SRCS := tests/unit/test_acpi_gen.c tests/unit/acpi_fake.c tests/unit/shim.c vmm/acpi_gen.c vmm/aml.c \
	drivers/acpi/tables.c drivers/acpi/madt.c drivers/acpi/fadt.c drivers/acpi/s5.c drivers/acpi/hpet.c
# The AML emitter the DSDT is written with.
UNIT_TESTS += test_aml
test_aml_SRCS := tests/unit/test_aml.c tests/unit/shim.c vmm/aml.c
