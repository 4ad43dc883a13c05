/* SPDX-License-Identifier: MIT */
/*
 * A virtual I/O APIC: 24 input pins behind the IOREGSEL/IOWIN window of the Intel 82093AA
 * (datasheet 290566, §3), reporting version 0x20, the ICH/PCH revision that adds the EOI register
 * at offset 0x40. A pure model: no locking (the caller serializes), no globals, no clock; the
 * interrupts it decides to send are handed back as struct vioapic_msg for the caller to route to
 * the local APICs (tests/unit/test_vioapic.c).
 *
 * Input levels are logical: vioapic_set_line(..., asserted) means "the source is requesting", and
 * the caller resolves the wiring's polarity. The Interrupt Input Pin Polarity bit (13) is stored
 * and read back for the guest but never inverts a line.
 *
 * Delivery Status (bit 12) always reads 0: a message leaves the model the moment it is decided,
 * it never sits pending inside the I/O APIC.
 */
#ifndef KEEL_VMM_DEV_VIOAPIC_H
#define KEEL_VMM_DEV_VIOAPIC_H

#include "kernel/types.h"

#define VIOAPIC_BASE	0xfec00000ull /* the default, as reported in the MADT I/O APIC entry */
#define VIOAPIC_SIZE	0x1000
#define VIOAPIC_PINS	24
#define VIOAPIC_VERSION 0x20

/* MMIO offsets in the page (82093AA §3.1; EOI: ICH/PCH datasheets, I/O APIC "EOI Register"). */
#define VIOAPIC_REGSEL 0x00
#define VIOAPIC_WIN    0x10
#define VIOAPIC_EOI    0x40

/* Register indexes selected through IOREGSEL (82093AA §3.2). */
#define VIOAPIC_REG_ID	  0x00
#define VIOAPIC_REG_VER	  0x01
#define VIOAPIC_REG_ARB	  0x02
#define VIOAPIC_REG_REDIR 0x10 /* pin n: low dword at 0x10 + 2n, high dword at 0x11 + 2n */

/* Redirection table entry bits (82093AA §3.2.4). */
#define VIOAPIC_RTE_VECTOR     0xffull
#define VIOAPIC_RTE_MODE_SHIFT 8 /* 3 bits, delivery mode */
#define VIOAPIC_RTE_LOGICAL    (1ull << 11)
#define VIOAPIC_RTE_DELIVS     (1ull << 12) /* read-only */
#define VIOAPIC_RTE_POLARITY   (1ull << 13) /* 1: active low */
#define VIOAPIC_RTE_REMOTE_IRR (1ull << 14) /* read-only */
#define VIOAPIC_RTE_LEVEL      (1ull << 15)
#define VIOAPIC_RTE_MASKED     (1ull << 16)
#define VIOAPIC_RTE_DEST_SHIFT 56

/* Delivery modes (82093AA §3.2.4, bits 10:8). */
enum vioapic_mode {
	VIOAPIC_MODE_FIXED = 0,
	VIOAPIC_MODE_LOWEST = 1,
	VIOAPIC_MODE_SMI = 2,
	VIOAPIC_MODE_NMI = 4,
	VIOAPIC_MODE_INIT = 5,
	VIOAPIC_MODE_EXTINT = 7,
};

/* One interrupt message for the caller to deliver. For ExtINT the vector comes from the 8259A. */
struct vioapic_msg {
	u8 vector;
	u8 mode; /* enum vioapic_mode */
	bool logical;
	bool level; /* level-triggered: the target's EOI must come back through vioapic_eoi() */
	u8 dest;
};

struct vioapic {
	u8 id;
	u32 regsel;
	u64 redir[VIOAPIC_PINS];
	u32 line; /* bitmap of asserted (logical) input lines */
};

/* Power-on state: every pin masked, edge, vector 0; line levels are forgotten. */
void vioapic_reset(struct vioapic *io, u8 id);

/*
 * MMIO. Only 32-bit accesses at IOREGSEL, IOWIN and EOI mean anything; any other offset reads 0
 * and drops writes (the caller rejects other sizes). A write may make interrupts deliverable
 * (unmasking an asserted level pin): they go to out[] and their number is returned.
 */
u32 vioapic_read(struct vioapic *io, u32 offset);
unsigned vioapic_write(struct vioapic *io, u32 offset, u32 val, struct vioapic_msg *out, unsigned max);

/*
 * An input line changes level. An edge pin delivers on a rising edge; a level pin delivers while
 * asserted with Remote IRR clear, and setting Remote IRR. Masked pins deliver nothing (a level
 * pin still asserted delivers when unmasked). Returns true and fills *msg if an interrupt must be
 * delivered now. Pins >= VIOAPIC_PINS are ignored.
 */
bool vioapic_set_line(struct vioapic *io, unsigned pin, bool asserted, struct vioapic_msg *msg);
/* Assert then deassert, for edge sources such as the PIT. */
bool vioapic_pulse(struct vioapic *io, unsigned pin, struct vioapic_msg *msg);
/* Whether the pin's redirection entry is masked. */
bool vioapic_pin_masked(const struct vioapic *io, unsigned pin);

/*
 * A local APIC accepted an EOI for a level-triggered `vector` (or the guest wrote the EOI
 * register): Remote IRR clears on every level pin with that vector, and pins still asserted
 * deliver again.
 *
 * vioapic_write() and vioapic_eoi() return every level pin that is then asserted, unmasked and
 * not awaiting an EOI; pass max >= VIOAPIC_PINS to receive them all at once. Beyond max, a pin
 * stays pending and is returned by the next write or EOI.
 */
unsigned vioapic_eoi(struct vioapic *io, u8 vector, struct vioapic_msg *out, unsigned max);

#endif
