/* SPDX-License-Identifier: MIT */
/* A virtual 8254 PIT, channel 0 (IRQ 0), timed from the host's clock. */
#ifndef KEEL_VMM_VPIT_H
#define KEEL_VMM_VPIT_H

#include "kernel/types.h"

#define VPIT_HZ 1193182

struct vpit {
	u8 mode;	 /* 0: interrupt on terminal count, 2: rate generator, 3: square wave */
	u8 access;	 /* 1: low byte, 2: high byte, 3: low then high */
	bool write_high; /* the next data write is the high byte */
	bool read_high;
	bool latched;
	u16 latch;
	u32 reload;   /* 1..65536 */
	u64 start_ns; /* when counting started */
	u64 next_ns;  /* next IRQ 0, 0 when not armed */
	u64 period_ns;
};

void vpit_reset(struct vpit *t);
u8 vpit_read(struct vpit *t, u16 port, u64 now_ns);
void vpit_write(struct vpit *t, u16 port, u8 val, u64 now_ns);
/* Returns true (once per period) when channel 0 has fired since the last call. */
bool vpit_expired(struct vpit *t, u64 now_ns);

#endif
