// SPDX-License-Identifier: MIT
/*
 * ICEBP (INT1, opcode F1) raises #DB as a trap, as INT3 raises #BP: the guest's handler runs once
 * and sees the instruction pointer after it (issue 13 item 7). Under VT-x the #DB exits to the
 * hypervisor (Keel intercepts #DB), which must deliver it again as a privileged software
 * exception with the instruction's length: as a hardware #DB it would restart the ICEBP for ever.
 * Bochs lanes only: QEMU 7.2's TCG raises #UD for ICEBP (bare and under Keel's SVM).
 */
#include "guest.h"

GUEST_TEST("icebp");

void test_main(void)
{
	unsigned long ip;

	for (int i = 0; i < 3; i++) {
		expect_exception(VEC_DB, 0); /* a trap: the pushed ip is already past the F1 */
		__asm__ volatile("mov $1f, %[ip]\n\t.byte 0xf1\n1:" : [ip] "=&r"(ip));
		if (exception_check("icebp", VEC_DB, 0) && last_exc.ip != ip)
			fail("#DB (ICEBP): reported ip 0x%lx, expected 0x%lx", last_exc.ip, ip);
	}
	printf("three ICEBPs, three #DBs\n");
}
