// SPDX-License-Identifier: MIT
/*
 * A guest that resets its machine. how=0: the reset control register at 0xCF9, after checking
 * that a write without a rising RST_CPU bit (bit 2) only stores SYS_RST and resets nothing;
 * how=1: the 8042's pulse-reset command 0xFE. Under Keel the VM is built again (on_reset=restart,
 * the default) or ended (on_reset=end): the guest never runs past the reset, and says FAIL if it
 * does. Bare QEMU: resets the machine (-no-reboot turns that into QEMU's exit).
 */
#include "guest.h"

GUEST_TEST("reset");

#define PORT_RST_CNT 0xcf9
#define RST_SYS	     0x02 /* a full (hard) reset when RST_CPU rises */
#define RST_CPU	     0x04
#define KBC_STATUS   0x64
#define KBC_IBF	     0x02
#define KBC_PULSE    0xfe /* pulse output line 0: the CPU's reset */

void test_main(void)
{
	unsigned long how = cmdline_ulong("how", 0);

	if (how == 0) {
		outb(PORT_RST_CNT, RST_SYS);
		uint8_t v = inb(PORT_RST_CNT);
		CHECK((v & (RST_SYS | RST_CPU)) == RST_SYS, "0xCF9 reads 0x%x after writing SYS_RST", v);
		expect_crash("resetting through 0xCF9");
		outb(PORT_RST_CNT, RST_SYS | RST_CPU);
	} else {
		for (int i = 0; i < 100000 && (inb(KBC_STATUS) & KBC_IBF); i++)
			;
		expect_crash("resetting through the 8042");
		outb(KBC_STATUS, KBC_PULSE);
	}
	fail("still running after the reset");
}
