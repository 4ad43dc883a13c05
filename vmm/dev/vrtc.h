/* SPDX-License-Identifier: MIT */
/*
 * A virtual MC146818 CMOS RTC (ports 0x70 index, 0x71 data; IRQ 8): 128 bytes of CMOS, a clock
 * running from the host's, and the periodic, alarm and update-ended interrupts.
 */
#ifndef KEEL_VMM_DEV_VRTC_H
#define KEEL_VMM_DEV_VRTC_H

#include "kernel/types.h"

#define VRTC_PORT_INDEX	   0x70
#define VRTC_PORT_DATA	   0x71
#define VRTC_IRQ	   8
#define VRTC_CENTURY_INDEX 0x32 /* as the FADT's CENTURY field names it */

/* Register indices and bits (MC146818A data sheet, "Register A".."Register D"). */
#define VRTC_SEC	0x00
#define VRTC_ALARM_SEC	0x01
#define VRTC_MIN	0x02
#define VRTC_ALARM_MIN	0x03
#define VRTC_HOUR	0x04
#define VRTC_ALARM_HOUR 0x05
#define VRTC_WDAY	0x06
#define VRTC_MDAY	0x07
#define VRTC_MONTH	0x08
#define VRTC_YEAR	0x09
#define VRTC_REG_A	0x0a
#define VRTC_REG_B	0x0b
#define VRTC_REG_C	0x0c
#define VRTC_REG_D	0x0d
#define VRTC_A_UIP	0x80
#define VRTC_B_SET	0x80
#define VRTC_B_PIE	0x40
#define VRTC_B_AIE	0x20
#define VRTC_B_UIE	0x10
#define VRTC_B_SQWE	0x08
#define VRTC_B_DM	0x04 /* binary, not BCD */
#define VRTC_B_24H	0x02
#define VRTC_B_DSE	0x01
#define VRTC_C_IRQF	0x80
#define VRTC_C_PF	0x40
#define VRTC_C_AF	0x20
#define VRTC_C_UF	0x10
#define VRTC_D_VRT	0x80

struct vrtc {
	u8 cmos[128];  /* RAM and registers; the time bytes are live only while SET is 1 */
	u8 index;      /* last byte written to port 0x70, NMI-disable bit 7 included */
	bool irq_line; /* IRQF was reported by vrtc_poll and register C has not been read since */
	s64 base_secs; /* Unix time at base_ns; the clock ticks at base_ns + k seconds */
	u64 base_ns;
	u64 next_pf_ns; /* next periodic tick, 0 when the rate is 0 */
	u64 next_uf_ns; /* next update cycle, 0 while SET is 1 */
	u64 next_af_ns; /* next alarm match, 0 when none can match or SET is 1 */
};

/* Power-on state: register A 0x26 (32.768 kHz, 1024 Hz), B 0x02 (24-hour, BCD), time as given. */
void vrtc_init(struct vrtc *r, u64 unix_seconds_at_now, u64 now_ns);
u8 vrtc_read(struct vrtc *r, u16 port, u64 now_ns);
void vrtc_write(struct vrtc *r, u16 port, u8 val, u64 now_ns);
/*
 * Accounts the events up to now_ns in register C and returns true when IRQ 8 should be raised:
 * on IRQF going 1, at most once until the guest reads register C (the line is level on real
 * hardware and stays asserted until then), so a guest that never reads C gets no more interrupts
 * and a high periodic rate can never queue more than one. Call it after every write as well: a
 * write of register B may enable a flag that is already set.
 */
bool vrtc_poll(struct vrtc *r, u64 now_ns);
/* When vrtc_poll would next return true: 0 for never (until a port access), a time already past
 * when it would now. */
u64 vrtc_next_ns(const struct vrtc *r);

#endif
