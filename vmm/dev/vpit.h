/* SPDX-License-Identifier: MIT */
/*
 * A virtual 8254 PIT (three channels, channel 0 on IRQ 0) and the PC's port 0x61 (channel 2's
 * gate, speaker enable, refresh toggle and OUT2), timed from the host's clock.
 */
#ifndef KEEL_VMM_DEV_VPIT_H
#define KEEL_VMM_DEV_VPIT_H

/* The shortest period of channel 0's interrupt in its periodic modes (2 and 3), as KVM's floor
 * for periodic timers: a guest cannot make its timer fire faster than 5 kHz and cost a CPU. */
#define VPIT_MIN_PERIOD_NS 200000ull

#include "kernel/types.h"

#define VPIT_HZ 1193182

struct vpit_channel {
	u8 mode;	 /* 0..5; 6 and 7 are stored as 2 and 3 */
	u8 access;	 /* 1: low byte, 2: high byte, 3: low then high */
	bool bcd;	 /* count in four BCD digits (modulus 10000) */
	bool write_high; /* the next data write is the high byte */
	bool read_high;	 /* the next data read is the high byte */
	bool latched;	 /* `latch` holds a latched count, released once fully read */
	bool status_latched;
	bool armed;  /* a whole count was written since the control word */
	bool loaded; /* the count is in the counting element (modes 1 and 5: after a gate trigger) */
	u8 status;   /* latched read-back status byte */
	u8 lsb;	     /* low byte of a count whose high byte is still to come */
	u16 latch;
	u32 reload;   /* 1..65536 (1..10000 in BCD) */
	u64 ticks;    /* ticks counted before start_ns */
	u64 start_ns; /* when counting last (re)started or resumed */
};

struct vpit {
	struct vpit_channel ch[3];
	u8 port61;     /* bits 0..3 of port 0x61 as last written */
	u64 next_ns;   /* next IRQ 0 from channel 0, 0 when not armed */
	u64 period_ns; /* channel 0's interrupt period (periodic modes: at least VPIT_MIN_PERIOD_NS) */
};

void vpit_reset(struct vpit *t);
/* Ports 0x40..0x43. */
u8 vpit_read(struct vpit *t, u16 port, u64 now_ns);
void vpit_write(struct vpit *t, u16 port, u8 val, u64 now_ns);
/* Returns true (once per period) when channel 0 has fired since the last call. */
bool vpit_expired(struct vpit *t, u64 now_ns);
/*
 * Port 0x61 (NMI status and control): bit 0 gate of channel 2, bit 1 speaker data enable (stored,
 * no sound), bits 2 and 3 stored; reads add bit 4, the refresh toggle (flips every 15 us), and
 * bit 5, OUT2. Bits 6 and 7 (IOCHK, SERR) read 0.
 */
u8 vpit_port61_read(struct vpit *t, u64 now_ns);
void vpit_port61_write(struct vpit *t, u8 val, u64 now_ns);

#endif
