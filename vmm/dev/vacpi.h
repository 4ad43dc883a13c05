/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed hardware of a VM (ACPI 6.4 §4.8): the PM timer and the PM1a event and control blocks
 * that vmm/acpi_gen.h advertises in the FADT, and the platform's reset sources: the reset control
 * register at 0xCF9 and the 8042 keyboard controller's reset line. Ports are the integrator's;
 * the register-block functions take a byte offset into their block and an access size of 1, 2
 * or 4, and accept any offset and size a guest can produce (bytes past a block read as 0xff and
 * are dropped on write).
 */
#ifndef KEEL_VMM_DEV_VACPI_H
#define KEEL_VMM_DEV_VACPI_H

#include "kernel/types.h"

#define VACPI_PM_TIMER_HZ 3579545ull
#define VACPI_PM1_EVT_LEN 4 /* PM1_STS (2 bytes), then PM1_EN (2 bytes) */
#define VACPI_PM1_CNT_LEN 2
#define VACPI_PM_TMR_LEN  4
#define VACPI_CF9_PORT	  0xcf9
#define VACPI_KBC_DATA	  0x60
#define VACPI_KBC_CMD	  0x64 /* status on read, command on write */

/* PM1_STS and PM1_EN bits (ACPI 6.4 §4.8.3.1, tables 4.16 and 4.17): each EN bit sits on its STS. */
#define VACPI_PM1_TMR	  0x0001
#define VACPI_PM1_BM_STS  0x0010
#define VACPI_PM1_GBL	  0x0020
#define VACPI_PM1_PWRBTN  0x0100
#define VACPI_PM1_SLPBTN  0x0200
#define VACPI_PM1_RTC	  0x0400
#define VACPI_PM1_WAK_STS 0x8000
#define VACPI_PM1_EN_MASK (VACPI_PM1_TMR | VACPI_PM1_GBL | VACPI_PM1_PWRBTN | VACPI_PM1_SLPBTN | VACPI_PM1_RTC)
/* PM1_CNT bits (ACPI 6.4 §4.8.3.2.1, table 4.18). */
#define VACPI_PM1_SCI_EN	0x0001
#define VACPI_PM1_BM_RLD	0x0002
#define VACPI_PM1_GBL_RLS	0x0004 /* write-only */
#define VACPI_PM1_SLP_TYP_SHIFT 10
#define VACPI_PM1_SLP_TYP_MASK	0x1c00
#define VACPI_PM1_SLP_EN	0x2000 /* write-only */
/* Reset control register 0xCF9 (Intel PCH data sheets, "Reset Control Register"). */
#define VACPI_CF9_SYS_RST  0x02 /* hard rather than soft reset: the same for a VM */
#define VACPI_CF9_RST_CPU  0x04 /* 0 -> 1 resets */
#define VACPI_CF9_FULL_RST 0x08

enum vacpi_event {
	VACPI_NONE,
	VACPI_POWEROFF, /* SLP_TYP = ACPI_GEN_S5_SLP_TYP with SLP_EN: soft off (S5) */
	VACPI_RESET,	/* reset the whole VM, then call vacpi_reset */
	VACPI_SLEEP,	/* SLP_EN with another SLP_TYP (S1..S4, which the DSDT does not offer) */
};

struct vacpi {
	u16 pm1_sts, pm1_en;
	u16 pm1_cnt;	   /* BM_RLD and SLP_TYP as written; SCI_EN is added on read */
	u64 tmr_base_ns;   /* when the PM timer read 0 */
	u64 tmr_seen;	   /* PM timer ticks (not wrapped) when TMR_STS was last brought up to date */
	u8 cf9;		   /* bits 1..3 as last written */
	u8 kbc_cmd_byte;   /* 8042 command byte: read with command 0x20, written with 0x60 */
	u8 kbc_outport;	   /* 8042 output port: bit 0 the reset line (active low), bit 1 A20 */
	u8 kbc_out;	   /* output buffer, valid while kbc_obf */
	bool kbc_obf;	   /* status bit 0 */
	bool kbc_last_cmd; /* status bit 3: the last write went to the command port */
	u8 kbc_pending;	   /* command waiting for its data byte (0x60 or 0xD1), 0 for none */
};

void vacpi_reset(struct vacpi *a, u64 now_ns);

/* The 24-bit PM timer (ACPI 6.4 §4.8.3.3), counting at 3.579545 MHz from vacpi_reset; it wraps. */
u32 vacpi_pm_timer(const struct vacpi *a, u64 now_ns);
/* A read of the PM_TMR block (offset 0..3). The block is read-only: writes are to be dropped. */
u32 vacpi_pm_tmr_read(const struct vacpi *a, unsigned offset, unsigned size, u64 now_ns);

/*
 * PM1a event block, offset 0..3. TMR_STS (set each time bit 23 of the PM timer changes) is
 * computed lazily on each read of the block: no SCI is raised for it. Writes: STS bits are
 * write-1-to-clear, EN keeps only the bits of VACPI_PM1_EN_MASK.
 */
u32 vacpi_pm1_evt_read(struct vacpi *a, unsigned offset, unsigned size, u64 now_ns);
void vacpi_pm1_evt_write(struct vacpi *a, unsigned offset, unsigned size, u32 val);

/*
 * PM1a control block, offset 0..1. SCI_EN always reads 1 (the FADT has no SMI_CMD: the platform is
 * always in ACPI mode); SLP_EN and GBL_RLS read 0. A write with SLP_EN returns VACPI_POWEROFF for
 * SLP_TYP = ACPI_GEN_S5_SLP_TYP and VACPI_SLEEP for any other type; for the latter WAK_STS is set
 * at once, as if the VM had slept and woken, because an OS waits for it after sleeping (Linux's
 * acpi_hw_legacy_sleep spins on it): the caller may ignore VACPI_SLEEP or treat it as a pause.
 */
u32 vacpi_pm1_cnt_read(struct vacpi *a, unsigned offset, unsigned size);
enum vacpi_event vacpi_pm1_cnt_write(struct vacpi *a, unsigned offset, unsigned size, u32 val);

/* Reset control register 0xCF9, one byte: RST_CPU going 0 -> 1 resets; reads give bits 1..3. */
u8 vacpi_cf9_read(struct vacpi *a);
enum vacpi_event vacpi_cf9_write(struct vacpi *a, u8 val);

/*
 * A minimal 8042 at ports 0x60 (data) and 0x64 (status/command) with no keyboard or mouse behind
 * it: status 0x1C (input buffer empty, system flag, not inhibited, last write a command) plus OBF;
 * commands 0x20/0x60 read/write the command byte, 0xAA and 0xAB answer "test passed", 0xD0/0xD1
 * read/write the output port; pulsing output bit 0 (0xFE, any of 0xF0..0xFE with bit 0 clear) or
 * writing it 0 through 0xD1 resets the VM. Other commands, and data for the absent keyboard, are
 * accepted and ignored. A data read with the output buffer empty returns 0.
 */
u8 vacpi_kbc_read(struct vacpi *a, u16 port);
enum vacpi_event vacpi_kbc_write(struct vacpi *a, u16 port, u8 val);

#endif
