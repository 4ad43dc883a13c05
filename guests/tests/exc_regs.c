// SPDX-License-Identifier: MIT
/*
 * What an exception tells the guest when the hypervisor, not the CPU, raised or intercepted it:
 * - a #PF injected by the MMIO emulator carries the faulting linear address in CR2: REP MOVSD
 *   from the local APIC's page (MMIO, emulated) to an unmapped page, after planting another
 *   value in CR2;
 * - a #DB that the hypervisor intercepts (every hypervisor must, against the #DB livelock) and
 *   reflects shows its cause in DR6: a data breakpoint on a variable, then DR6.B0.
 * It also checks the power-on state of CR2 (0), DR0-DR3 (0) and DR6 (0xffff0ff0).
 * Bare QEMU: passes (the CPU raises both itself).
 */
#include "dreg.h"
#include "guest.h"
#include "smp.h"

GUEST_TEST("exc_regs");

#define PF_EC_W	   (1ul << 1)
#define PLANTED	   0x123450ul
#define DR7_L0	   (1ul << 0)
#define DR7_RW0_W  (1ul << 16) /* break on data writes */
#define DR7_LEN0_4 (3ul << 18) /* 4 bytes */

static volatile uint32_t watched __attribute__((aligned(8)));

static void check_power_on(void)
{
	CHECK(read_cr2() == 0, "CR2 is 0x%lx at power-on, not 0", read_cr2());
	for (unsigned r = 0; r < 4; r++)
		CHECK(read_dr(r) == 0, "DR%u is 0x%lx at power-on, not 0", r, read_dr(r));
	CHECK(read_dr(6) == DR6_INIT, "DR6 is 0x%lx at power-on, not 0x%lx", read_dr(6), DR6_INIT);
}

static void check_mmio_pf(void)
{
	unsigned long src = LAPIC_BASE + LAPIC_VERSION, dst = UNMAPPED_ADDR, count = 1;

	lapic_map();
	write_cr2(PLANTED);
	expect_exception(14, 2); /* f3 a5: rep movsl */
	__asm__ volatile("rep movsl" : "+S"(src), "+D"(dst), "+c"(count) : : "memory");
	if (!exception_check("rep movsd from the local APIC to an unmapped page", 14, -1))
		return;
	CHECK(last_exc.cr2 == UNMAPPED_ADDR, "#PF with CR2 0x%lx, not the faulting address 0x%lx%s", last_exc.cr2,
	      UNMAPPED_ADDR, last_exc.cr2 == PLANTED ? " (the value planted before)" : "");
	CHECK(last_exc.error_code == PF_EC_W, "#PF error code 0x%lx, not 0x%lx (write, not present)",
	      last_exc.error_code, PF_EC_W);
	CHECK(count == 1, "RCX is %lu after the faulting REP MOVSD, not 1", count);
}

static void check_db_dr6(void)
{
	unsigned long dr6;

	write_dr(6, DR6_INIT);
	write_dr(0, (unsigned long)&watched);
	write_dr(7, DR7_INIT | DR7_L0 | DR7_RW0_W | DR7_LEN0_4);
	expect_exception(1, 0); /* a trap: resume after the write */
	watched = 1;
	write_dr(7, DR7_INIT);
	dr6 = read_dr(6);
	if (!exception_check("write to a watched variable", 1, -1))
		return;
	CHECK(dr6 & DR6_B0, "DR6 is 0x%lx after a data breakpoint on DR0: B0 is not set", dr6);
	CHECK((dr6 & 0xe) == 0, "DR6 is 0x%lx after a data breakpoint on DR0: B1-B3 set", dr6);
	write_dr(6, DR6_INIT);
}

void test_main(void)
{
	check_power_on();
	check_mmio_pf();
	check_db_dr6();
}
