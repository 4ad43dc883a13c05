/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed hardware (ACPI 6.4 §4.8.3), the 0xCF9 reset control register and an 8042 that can
 * only reset the machine. A pure model: the caller owns ports, locking and the clock.
 */
#include "vmm/dev/vacpi.h"

#include "vmm/acpi_gen.h"

#define NS_PER_SEC     1000000000ull
#define PM_TMR_MASK    0xffffffu
#define PM_TMR_MSB     23
#define CF9_BITS       (VACPI_CF9_SYS_RST | VACPI_CF9_RST_CPU | VACPI_CF9_FULL_RST)
#define PM1_CNT_STORED (VACPI_PM1_BM_RLD | VACPI_PM1_SLP_TYP_MASK)
/* 8042 status (IBM PC/AT Technical Reference, "Keyboard Controller"). */
#define KBC_ST_OBF	0x01
#define KBC_ST_SYS	0x04 /* self-test passed, as after POST */
#define KBC_ST_CMD	0x08 /* the last byte written went to port 0x64 */
#define KBC_ST_UNLOCKED 0x10 /* keyboard not inhibited */
#define KBC_READ_CMD	0x20
#define KBC_WRITE_CMD	0x60
#define KBC_SELF_TEST	0xaa
#define KBC_KBD_TEST	0xab
#define KBC_READ_OUT	0xd0
#define KBC_WRITE_OUT	0xd1
#define KBC_PULSE	0xf0 /* 0xF0..0xFF: pulse output bits 0..3 that are 0 in the command */
#define KBC_OUT_RESET	0x01 /* output port bit 0 drives the CPU reset line, active low */

static u64 tmr_ticks(const struct vacpi *a, u64 now_ns)
{
	u64 ns = now_ns > a->tmr_base_ns ? now_ns - a->tmr_base_ns : 0;

	/* Exact in 64 bits: the remainder times the rate stays below 2^62. */
	return ns / NS_PER_SEC * VACPI_PM_TIMER_HZ + ns % NS_PER_SEC * VACPI_PM_TIMER_HZ / NS_PER_SEC;
}

/* The `size` bytes at `offset` of a register block of len bytes; bytes past it read as 0xff. */
static u32 read_bytes(u32 block, unsigned len, unsigned offset, unsigned size)
{
	u32 v = 0;

	for (unsigned i = 0; i < size && i < 4; i++) {
		u32 b = offset < len && i < len - offset ? block >> ((offset + i) * 8) & 0xff : 0xff;

		v |= b << (i * 8);
	}
	return v;
}

/* A write's bytes moved to their places in a block of len bytes, *mask set to the bits written. */
static u32 place_bytes(u32 val, unsigned len, unsigned offset, unsigned size, u32 *mask)
{
	u32 v = 0;

	*mask = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		if (offset >= len || i >= len - offset)
			break;
		v |= (val >> (i * 8) & 0xff) << ((offset + i) * 8);
		*mask |= 0xffu << ((offset + i) * 8);
	}
	return v;
}

void vacpi_reset(struct vacpi *a, u64 now_ns)
{
	*a = (struct vacpi){
		.tmr_base_ns = now_ns,
		.kbc_cmd_byte = 0x45, /* translate, system flag, keyboard interrupt: as after POST */
		.kbc_outport = 0xcf,  /* reset line high, A20 on */
		.kbc_last_cmd = true,
	};
}

u32 vacpi_pm_timer(const struct vacpi *a, u64 now_ns)
{
	return (u32)tmr_ticks(a, now_ns) & PM_TMR_MASK;
}

u32 vacpi_pm_tmr_read(const struct vacpi *a, unsigned offset, unsigned size, u64 now_ns)
{
	return read_bytes(vacpi_pm_timer(a, now_ns), VACPI_PM_TMR_LEN, offset, size);
}

/* TMR_STS is set whenever bit 23 of the timer changes (§4.8.3.3): any change since the last look. */
static void update_tmr_sts(struct vacpi *a, u64 now_ns)
{
	u64 t = tmr_ticks(a, now_ns);

	if (t >> PM_TMR_MSB != a->tmr_seen >> PM_TMR_MSB)
		a->pm1_sts |= VACPI_PM1_TMR;
	a->tmr_seen = t;
}

u32 vacpi_pm1_evt_read(struct vacpi *a, unsigned offset, unsigned size, u64 now_ns)
{
	update_tmr_sts(a, now_ns);
	return read_bytes(a->pm1_sts | (u32)a->pm1_en << 16, VACPI_PM1_EVT_LEN, offset, size);
}

void vacpi_pm1_evt_write(struct vacpi *a, unsigned offset, unsigned size, u32 val)
{
	u32 mask, v = place_bytes(val, VACPI_PM1_EVT_LEN, offset, size, &mask);

	a->pm1_sts &= (u16)~v; /* write 1 to clear; bytes not written are 0 in v */
	a->pm1_en = (u16)(((a->pm1_en & ~(mask >> 16)) | v >> 16) & VACPI_PM1_EN_MASK);
}

u32 vacpi_pm1_cnt_read(struct vacpi *a, unsigned offset, unsigned size)
{
	return read_bytes(a->pm1_cnt | VACPI_PM1_SCI_EN, VACPI_PM1_CNT_LEN, offset, size);
}

enum vacpi_event vacpi_pm1_cnt_write(struct vacpi *a, unsigned offset, unsigned size, u32 val)
{
	u32 mask, v = place_bytes(val, VACPI_PM1_CNT_LEN, offset, size, &mask);
	u32 cnt = (a->pm1_cnt & ~mask) | v;

	a->pm1_cnt = (u16)(cnt & PM1_CNT_STORED);
	if (!(v & VACPI_PM1_SLP_EN))
		return VACPI_NONE;
	/* Sleeping: SLP_TYP of this write, or as stored if only the byte with SLP_EN was written. */
	if ((cnt & VACPI_PM1_SLP_TYP_MASK) >> VACPI_PM1_SLP_TYP_SHIFT == ACPI_GEN_S5_SLP_TYP)
		return VACPI_POWEROFF;
	a->pm1_sts |= VACPI_PM1_WAK_STS;
	return VACPI_SLEEP;
}

u8 vacpi_cf9_read(struct vacpi *a)
{
	return a->cf9;
}

enum vacpi_event vacpi_cf9_write(struct vacpi *a, u8 val)
{
	bool rising = !(a->cf9 & VACPI_CF9_RST_CPU) && (val & VACPI_CF9_RST_CPU);

	a->cf9 = val & CF9_BITS;
	return rising ? VACPI_RESET : VACPI_NONE;
}

static void kbc_reply(struct vacpi *a, u8 v)
{
	a->kbc_out = v;
	a->kbc_obf = true;
}

u8 vacpi_kbc_read(struct vacpi *a, u16 port)
{
	if (port == VACPI_KBC_CMD)
		return KBC_ST_SYS | KBC_ST_UNLOCKED | (a->kbc_last_cmd ? KBC_ST_CMD : 0) |
		       (a->kbc_obf ? KBC_ST_OBF : 0);
	if (port != VACPI_KBC_DATA || !a->kbc_obf)
		return 0;
	a->kbc_obf = false;
	return a->kbc_out;
}

static enum vacpi_event kbc_command(struct vacpi *a, u8 cmd)
{
	a->kbc_last_cmd = true;
	a->kbc_pending = 0;
	switch (cmd) {
	case KBC_READ_CMD:
		kbc_reply(a, a->kbc_cmd_byte);
		break;
	case KBC_WRITE_CMD:
	case KBC_WRITE_OUT:
		a->kbc_pending = cmd;
		break;
	case KBC_SELF_TEST:
		kbc_reply(a, 0x55);
		break;
	case KBC_KBD_TEST:
		kbc_reply(a, 0x00);
		break;
	case KBC_READ_OUT:
		kbc_reply(a, a->kbc_outport);
		break;
	default:
		if ((cmd & KBC_PULSE) == KBC_PULSE && !(cmd & KBC_OUT_RESET))
			return VACPI_RESET;
		break;
	}
	return VACPI_NONE;
}

enum vacpi_event vacpi_kbc_write(struct vacpi *a, u16 port, u8 val)
{
	u8 cmd = a->kbc_pending;

	if (port == VACPI_KBC_CMD)
		return kbc_command(a, val);
	if (port != VACPI_KBC_DATA)
		return VACPI_NONE;
	a->kbc_last_cmd = false;
	a->kbc_pending = 0;
	if (cmd == KBC_WRITE_CMD) {
		a->kbc_cmd_byte = val;
	} else if (cmd == KBC_WRITE_OUT) {
		a->kbc_outport = val;
		if (!(val & KBC_OUT_RESET))
			return VACPI_RESET;
	}
	/* Anything else is a byte for the keyboard, and there is none. */
	return VACPI_NONE;
}
