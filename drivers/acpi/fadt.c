/* SPDX-License-Identifier: MIT */
/*
 * FADT (ACPI 6.4 §5.2.9): PM1 control and PM timer registers, the reset register, IA-PC boot
 * architecture flags, and the DSDT, where \_S5_ gives the soft-off sleep type.
 */
#include "drivers/acpi/acpi_hw.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define BITS_PER_BYTE 8
#define PORT_MAX      0xffff

/*
 * A register given both as a 32-bit port (with its length in bytes) and as an X_ GAS: the GAS
 * wins when its address is nonzero (ACPI 6.4 table 5.9, "X_PM1a_CNT_BLK" and the like).
 */
static void pick_block(struct acpi_gas *out, const struct acpi_gas_raw *x, u32 port, u8 len)
{
	memset(out, 0, sizeof(*out));
	if (x->address) {
		acpi_gas_decode(out, x);
	} else if (port) {
		out->space_id = ACPI_GAS_IO;
		out->bit_width = (u8)(len * BITS_PER_BYTE);
		out->address = port;
	}
}

static bool reset_reg_usable(const struct acpi_gas *g)
{
	switch (g->space_id) {
	case ACPI_GAS_IO:
		return g->address && g->address <= PORT_MAX;
	case ACPI_GAS_MEMORY:
	case ACPI_GAS_PCI_CONFIG:
		return g->address != 0;
	default:
		return false;
	}
}

static void parse_dsdt(struct acpi_fadt_info *f)
{
	const struct acpi_sdt_header *h;
	u32 len;
	int r;

	h = acpi_map_sdt(f->dsdt, "DSDT", &len);
	acpi_record_table(f->dsdt, h ? h : acpi_map(f->dsdt, sizeof(*h)), h != NULL);
	if (!h) {
		pr_warn("ACPI: no usable DSDT: ACPI poweroff unavailable\n");
		return;
	}
	r = acpi_aml_find_s5((const u8 *)h + sizeof(*h), len - sizeof(*h), &f->slp_typa, &f->slp_typb);
	if (r == 0)
		f->s5_valid = true;
	else if (r == -ENOENT)
		pr_warn("ACPI: DSDT defines no \\_S5_ package: ACPI poweroff unavailable\n");
	else
		pr_warn("ACPI: DSDT \\_S5_ unusable: ACPI poweroff unavailable\n");
}

void acpi_parse_fadt(const struct acpi_sdt_header *h, u32 len)
{
	struct acpi_fadt_info *f = &acpi.fadt;
	struct acpi_fadt t;

	/* A zero-filled copy: fields past this revision's length read as 0, i.e. absent. */
	memset(&t, 0, sizeof(t));
	memcpy(&t, h, MIN((size_t)len, sizeof(t)));
	if (len < ACPI_FADT_V1_LEN)
		pr_warn("ACPI: FADT is only %u bytes (ACPI 1.0 has %u); missing fields read as 0\n", len,
			(u32)ACPI_FADT_V1_LEN);

	memset(f, 0, sizeof(*f));
	f->present = true;
	f->revision = h->revision;
	f->flags = t.flags;
	f->iapc_boot_arch = t.iapc_boot_arch;
	f->century = t.century;
	f->sci_irq = t.sci_int;
	f->smi_cmd = t.smi_cmd;
	f->acpi_enable = t.acpi_enable;
	f->acpi_disable = t.acpi_disable;
	f->dsdt = t.x_dsdt ? t.x_dsdt : t.dsdt;
	f->facs = t.x_firmware_ctrl ? t.x_firmware_ctrl : t.firmware_ctrl;
	if (t.x_dsdt && t.dsdt && t.x_dsdt != t.dsdt)
		pr_warn("ACPI: FADT: DSDT %#x and X_DSDT %#llx differ; using X_DSDT\n", t.dsdt,
			(unsigned long long)t.x_dsdt);

	pick_block(&f->pm1a_evt, &t.x_pm1a_evt_blk, t.pm1a_evt_blk, t.pm1_evt_len);
	pick_block(&f->pm1b_evt, &t.x_pm1b_evt_blk, t.pm1b_evt_blk, t.pm1_evt_len);
	pick_block(&f->pm1a_cnt, &t.x_pm1a_cnt_blk, t.pm1a_cnt_blk, t.pm1_cnt_len);
	pick_block(&f->pm1b_cnt, &t.x_pm1b_cnt_blk, t.pm1b_cnt_blk, t.pm1_cnt_len);
	pick_block(&f->pm_timer, &t.x_pm_tmr_blk, t.pm_tmr_blk, t.pm_tmr_len);
	f->pm_timer_32bit = t.flags & ACPI_FADT_TMR_VAL_EXT;
	if (f->pm_timer.space_id == ACPI_GAS_IO && f->pm_timer.address <= PORT_MAX)
		f->pm_timer_port = (u16)f->pm_timer.address;

	/* The reset register exists from ACPI 2.0; RESET_REG_SUP says whether to believe it. */
	if ((t.flags & ACPI_FADT_RESET_REG_SUP) && len > offsetof(struct acpi_fadt, reset_value)) {
		acpi_gas_decode(&f->reset_reg, &t.reset_reg);
		f->reset_value = t.reset_value;
		f->reset_supported = reset_reg_usable(&f->reset_reg);
		if (!f->reset_supported)
			pr_warn("ACPI: FADT: reset register (space %u, address %#llx) unusable\n",
				f->reset_reg.space_id, (unsigned long long)f->reset_reg.address);
	}

	f->hw_reduced = t.flags & ACPI_FADT_HW_REDUCED_ACPI;
	acpi_gas_decode(&f->sleep_control, &t.sleep_control_reg);
	acpi_gas_decode(&f->sleep_status, &t.sleep_status_reg);

	if (f->dsdt)
		parse_dsdt(f);
	else
		pr_warn("ACPI: FADT gives no DSDT: ACPI poweroff unavailable\n");
}
