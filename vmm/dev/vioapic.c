/* SPDX-License-Identifier: MIT */
/*
 * Virtual I/O APIC (Intel 82093AA datasheet, 290566-001, §3 "Register Description"; the version
 * 0x20 EOI register from the Intel ICH/PCH datasheets). Registers are reached indirectly: the
 * guest writes an index to IOREGSEL and accesses the register through IOWIN.
 *
 * What the model keeps from the hardware: the ID, version and arbitration registers, 24
 * redirection entries with their read-only Delivery Status and Remote IRR bits, rising-edge
 * detection for edge pins, and the Remote IRR handshake for level pins (set when a level
 * interrupt is sent, cleared by the EOI broadcast or the EOI register, §3.2.4 bit 14).
 */
#include "vmm/dev/vioapic.h"

#define ID_SHIFT	24
#define ID_MASK		0x0fu /* 82093AA §3.2.1: a 4-bit ID in bits 27:24 */
#define REGSEL_MASK	0xffu /* §3.1.1: bits 7:0 select the register, 31:8 reserved */
#define VER_MAX_SHIFT	16    /* §3.2.2: maximum redirection entry in bits 23:16 */
#define REDIR_END	(VIOAPIC_REG_REDIR + 2 * VIOAPIC_PINS)
#define EOI_VECTOR_MASK 0xffu

/* The bits of the low dword the guest can write: vector, delivery mode, destination mode,
 * polarity, trigger mode and mask; Delivery Status and Remote IRR are read-only, 31:17 reserved. */
#define RTE_LOW_RW                                                                                            \
	(VIOAPIC_RTE_VECTOR | (7ull << VIOAPIC_RTE_MODE_SHIFT) | VIOAPIC_RTE_LOGICAL | VIOAPIC_RTE_POLARITY | \
	 VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED)
/* High dword: only the destination field, bits 63:56; 55:32 are reserved. */
#define RTE_HIGH_RW (0xffull << VIOAPIC_RTE_DEST_SHIFT)

void vioapic_reset(struct vioapic *io, u8 id)
{
	*io = (struct vioapic){ .id = id & ID_MASK };
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
		io->redir[pin] = VIOAPIC_RTE_MASKED; /* §3.2.4: the mask bit is set on reset */
}

/* Builds the message of `pin` and, for a level pin, sets Remote IRR until the EOI comes back. */
static void deliver(struct vioapic *io, unsigned pin, struct vioapic_msg *msg)
{
	u64 rte = io->redir[pin];

	*msg = (struct vioapic_msg){
		.vector = (u8)(rte & VIOAPIC_RTE_VECTOR),
		.mode = (u8)((rte >> VIOAPIC_RTE_MODE_SHIFT) & 7),
		.logical = rte & VIOAPIC_RTE_LOGICAL,
		.level = rte & VIOAPIC_RTE_LEVEL,
		.dest = (u8)(rte >> VIOAPIC_RTE_DEST_SHIFT),
	};
	if (rte & VIOAPIC_RTE_LEVEL)
		io->redir[pin] |= VIOAPIC_RTE_REMOTE_IRR;
}

static bool level_pending(const struct vioapic *io, unsigned pin)
{
	u64 rte = io->redir[pin];

	return (rte & VIOAPIC_RTE_LEVEL) && !(rte & (VIOAPIC_RTE_MASKED | VIOAPIC_RTE_REMOTE_IRR)) &&
	       (io->line & (1u << pin));
}

/* Sends every level pin that is asserted, unmasked and not waiting for an EOI, up to max. */
static unsigned deliver_pending(struct vioapic *io, struct vioapic_msg *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned pin = 0; pin < VIOAPIC_PINS && n < max; pin++) {
		if (level_pending(io, pin))
			deliver(io, pin, &out[n++]);
	}
	return n;
}

static u32 read_reg(const struct vioapic *io, u32 index)
{
	switch (index) {
	case VIOAPIC_REG_ID:
	case VIOAPIC_REG_ARB: /* §3.2.3: the arbitration ID is loaded from the APIC ID */
		return (u32)io->id << ID_SHIFT;
	case VIOAPIC_REG_VER:
		return VIOAPIC_VERSION | (VIOAPIC_PINS - 1) << VER_MAX_SHIFT;
	}
	if (index >= VIOAPIC_REG_REDIR && index < REDIR_END) {
		u64 rte = io->redir[(index - VIOAPIC_REG_REDIR) / 2];

		return (index & 1) ? (u32)(rte >> 32) : (u32)rte;
	}
	return 0;
}

static void write_reg(struct vioapic *io, u32 index, u32 val)
{
	u64 *rte;

	if (index == VIOAPIC_REG_ID) {
		io->id = (val >> ID_SHIFT) & ID_MASK;
		return;
	}
	if (index < VIOAPIC_REG_REDIR || index >= REDIR_END)
		return; /* VER and ARB are read-only, the rest does not exist */
	rte = &io->redir[(index - VIOAPIC_REG_REDIR) / 2];
	if (index & 1) {
		*rte = (*rte & ~RTE_HIGH_RW) | (((u64)val << 32) & RTE_HIGH_RW);
		return;
	}
	*rte = (*rte & ~RTE_LOW_RW) | (val & RTE_LOW_RW);
	/* Remote IRR is undefined for edge pins (§3.2.4); clear it so a pin turned edge and back to
	 * level cannot stay blocked on an EOI that will never come. */
	if (!(*rte & VIOAPIC_RTE_LEVEL))
		*rte &= ~VIOAPIC_RTE_REMOTE_IRR;
}

u32 vioapic_read(struct vioapic *io, u32 offset)
{
	switch (offset) {
	case VIOAPIC_REGSEL:
		return io->regsel;
	case VIOAPIC_WIN:
		return read_reg(io, io->regsel);
	}
	return 0; /* the EOI register is write-only; nothing else is decoded */
}

unsigned vioapic_write(struct vioapic *io, u32 offset, u32 val, struct vioapic_msg *out, unsigned max)
{
	switch (offset) {
	case VIOAPIC_REGSEL:
		io->regsel = val & REGSEL_MASK;
		return 0;
	case VIOAPIC_WIN:
		write_reg(io, io->regsel, val);
		/* Unmasking an asserted level pin, or turning it level, sends it now. */
		return deliver_pending(io, out, max);
	case VIOAPIC_EOI:
		return vioapic_eoi(io, (u8)(val & EOI_VECTOR_MASK), out, max);
	}
	return 0;
}

bool vioapic_set_line(struct vioapic *io, unsigned pin, bool asserted, struct vioapic_msg *msg)
{
	u32 bit;
	bool was;
	u64 rte;

	if (pin >= VIOAPIC_PINS)
		return false;
	bit = 1u << pin;
	was = io->line & bit;
	if (!asserted) {
		io->line &= ~bit;
		return false;
	}
	io->line |= bit;
	rte = io->redir[pin];
	/* §3.2.4 bit 16: an edge on a masked pin is lost; a masked level is seen once unmasked. */
	if (rte & VIOAPIC_RTE_MASKED)
		return false;
	if (rte & VIOAPIC_RTE_LEVEL) {
		if (rte & VIOAPIC_RTE_REMOTE_IRR)
			return false; /* already sent, waiting for the EOI */
	} else if (was) {
		return false; /* no rising edge */
	}
	deliver(io, pin, msg);
	return true;
}

bool vioapic_pin_masked(const struct vioapic *io, unsigned pin)
{
	return pin >= VIOAPIC_PINS || (io->redir[pin] & VIOAPIC_RTE_MASKED);
}

bool vioapic_pulse(struct vioapic *io, unsigned pin, struct vioapic_msg *msg)
{
	bool sent = vioapic_set_line(io, pin, true, msg);

	vioapic_set_line(io, pin, false, msg);
	return sent;
}

unsigned vioapic_eoi(struct vioapic *io, u8 vector, struct vioapic_msg *out, unsigned max)
{
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		u64 *rte = &io->redir[pin];

		if ((*rte & VIOAPIC_RTE_LEVEL) && (*rte & VIOAPIC_RTE_VECTOR) == vector)
			*rte &= ~VIOAPIC_RTE_REMOTE_IRR;
	}
	return deliver_pending(io, out, max);
}
