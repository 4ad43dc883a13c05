/* SPDX-License-Identifier: MIT */
/* The I/O APIC driver's ISA routing: the MADT's interrupt source overrides and the redirection
 * entries built from them (82093AA §3.2.4; ACPI 6.4 §5.2.12.5). */
#include "shim.h"

#include "arch/x86/ioapic.h"
#include "arch/x86/paging.h"

struct acpi_info acpi;
static int ioremaps;

void *ioremap(hpa_t pa, u64 size, u64 cache)
{
	ioremaps++;
	return NULL;
}

static void add_override(struct acpi_madt_info *m, u8 bus, u8 irq, u32 gsi, u16 flags)
{
	m->overrides[m->nr_overrides++] =
	    (struct acpi_irq_override){ .bus = bus, .source_irq = irq, .gsi = gsi, .flags = flags };
}

static void test_isa_defaults(void **state)
{
	struct acpi_madt_info m = { .present = true };
	struct ioapic_isa_route r = ioapic_isa_route(&m, 4);

	assert_int_equal(r.gsi, 4);
	assert_false(r.active_low);
	assert_false(r.level);
}

static void test_overrides(void **state)
{
	static struct acpi_madt_info m = { .present = true };
	struct ioapic_isa_route r;

	add_override(&m, 0, 0, 2, 0); /* QEMU's timer override: conforms */
	add_override(&m, 0, 9, 9, ACPI_INTI_POLARITY_HIGH | ACPI_INTI_TRIGGER_LEVEL);
	add_override(&m, 1, 4, 20, ACPI_INTI_POLARITY_LOW); /* not ISA: ignored */
	add_override(&m, 0, 3, 17, ACPI_INTI_POLARITY_LOW | ACPI_INTI_TRIGGER_LEVEL);
	add_override(&m, 0, 4, 21, ACPI_INTI_POLARITY_LOW | ACPI_INTI_TRIGGER_EDGE);

	r = ioapic_isa_route(&m, 0);
	assert_int_equal(r.gsi, 2);
	assert_false(r.active_low);
	assert_false(r.level);
	r = ioapic_isa_route(&m, 9);
	assert_int_equal(r.gsi, 9);
	assert_false(r.active_low);
	assert_true(r.level);
	r = ioapic_isa_route(&m, 3);
	assert_int_equal(r.gsi, 17);
	assert_true(r.active_low);
	assert_true(r.level);
	r = ioapic_isa_route(&m, 4);
	assert_int_equal(r.gsi, 21);
	assert_true(r.active_low);
	assert_false(r.level);
	r = ioapic_isa_route(&m, 1);
	assert_int_equal(r.gsi, 1);
	/* Entries past nr_overrides are not looked at. */
	m.nr_overrides = 1;
	r = ioapic_isa_route(&m, 3);
	assert_int_equal(r.gsi, 3);
}

static void test_rte(void **state)
{
	struct ioapic_isa_route edge_high = { .gsi = 4 };
	struct ioapic_isa_route level_low = { .gsi = 4, .active_low = true, .level = true };

	assert_int_equal(ioapic_rte(edge_high, 0xe0, 0), 0xe0);
	assert_int_equal(ioapic_rte(edge_high, 0xe0, 3), 0x03000000000000e0ull);
	/* Bit 13 polarity, bit 15 trigger, never masked (bit 16), fixed physical delivery. */
	assert_int_equal(ioapic_rte(level_low, 0x31, 0xfe), 0xfe0000000000a031ull);
}

static void test_no_ioapic(void **state)
{
	/* No MADT: nothing to map, and routing says so. */
	assert_int_equal(ioapic_init(), 0);
	assert_int_equal(ioapic_route_isa_irq(4, 0xe0, 0), -ENOSYS);
	assert_int_equal(ioremaps, 0);
	ioapic_mask_isa_irq(4); /* harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_defaults),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_rte),
		cmocka_unit_test(test_no_ioapic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
