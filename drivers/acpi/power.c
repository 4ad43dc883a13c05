/* SPDX-License-Identifier: MIT */
/*
 * ACPI reset (FADT RESET_REG, ACPI 6.4 §4.8.3.6) and soft-off (S5 through PM1x_CNT, §4.8.3.2.1
 * and §7.4.2; or the sleep control register on hardware-reduced platforms, §4.8.3.7).
 * Kernel only: the host tests do not compile this file.
 */
#include "arch/x86/io.h"
#include "arch/x86/tsc.h"
#include "drivers/acpi/acpi.h"
#include "kernel/log.h"

/* PM1 control register bits (ACPI 6.4 table 4.13). */
#define PM1_CNT_SCI_EN	      (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN	      (1u << 13)

/* Hardware-reduced sleep control register (ACPI 6.4 table 4.18). */
#define SLEEP_CTL_SLP_TYP_SHIFT 2
#define SLEEP_CTL_SLP_EN	(1u << 5)

/* PCI configuration mechanism #1, for a reset register in PCI configuration space. */
#define PCI_CONF_ADDR	0xcf8
#define PCI_CONF_DATA	0xcfc
#define PCI_CONF_ENABLE (1u << 31)
#define PCI_GAS_DEV(a)	(((a) >> 32) & 0xffff)
#define PCI_GAS_FN(a)	(((a) >> 16) & 0xffff)
#define PCI_GAS_OFF(a)	((a)&0xffff)
#define PCI_MAX_DEV	32
#define PCI_MAX_FN	8
#define PCI_CONF_SIZE	256

#define PORT_MAX	    0xffff
#define ACPI_ENABLE_WAIT_MS 1000 /* for the chipset to set SCI_EN after the SMI */

/* An 8-, 16- or 32-bit register access through a GAS in I/O or memory space. */
static int gas_write(const struct acpi_gas *g, u32 val, unsigned int bytes)
{
	volatile void *p;

	switch (g->space_id) {
	case ACPI_GAS_IO:
		if (!g->address || g->address + bytes - 1 > PORT_MAX)
			return -EINVAL;
		if (bytes == 1)
			outb((u16)g->address, (u8)val);
		else if (bytes == 2)
			outw((u16)g->address, (u16)val);
		else
			outl((u16)g->address, val);
		return 0;
	case ACPI_GAS_MEMORY:
		p = g->address ? acpi_map_mmio(g->address, bytes) : NULL;
		if (!p)
			return -EINVAL;
		if (bytes == 1)
			*(volatile u8 *)p = (u8)val;
		else if (bytes == 2)
			*(volatile u16 *)p = (u16)val;
		else
			*(volatile u32 *)p = val;
		return 0;
	default:
		return -EINVAL;
	}
}

static int gas_read16(const struct acpi_gas *g, u16 *val)
{
	const volatile void *p;

	switch (g->space_id) {
	case ACPI_GAS_IO:
		if (!g->address || g->address + 1 > PORT_MAX)
			return -EINVAL;
		*val = inw((u16)g->address);
		return 0;
	case ACPI_GAS_MEMORY:
		p = g->address ? acpi_map_mmio(g->address, sizeof(u16)) : NULL;
		if (!p)
			return -EINVAL;
		*val = *(const volatile u16 *)p;
		return 0;
	default:
		return -EINVAL;
	}
}

static int pci_conf_write8(u64 addr, u8 val)
{
	u64 dev = PCI_GAS_DEV(addr), fn = PCI_GAS_FN(addr), off = PCI_GAS_OFF(addr);

	if (dev >= PCI_MAX_DEV || fn >= PCI_MAX_FN || off >= PCI_CONF_SIZE)
		return -EINVAL;
	outl(PCI_CONF_ADDR, PCI_CONF_ENABLE | (u32)(dev << 11) | (u32)(fn << 8) | (u32)(off & ~3ull));
	outb((u16)(PCI_CONF_DATA + (off & 3)), val);
	return 0;
}

int acpi_reset(void)
{
	const struct acpi_fadt_info *f = &acpi.fadt;

	if (!f->present || !f->reset_supported)
		return -ENOSYS;
	pr_info("ACPI: writing %#x to the reset register\n", f->reset_value);
	if (f->reset_reg.space_id == ACPI_GAS_PCI_CONFIG)
		return pci_conf_write8(f->reset_reg.address, f->reset_value);
	return gas_write(&f->reset_reg, f->reset_value, 1);
}

/*
 * Firmware may leave the chipset in legacy (SMM-owned) mode; ask it for ACPI mode the way an OS
 * would (ACPI 6.4 §4.8.2.5, SMI_CMD/ACPI_ENABLE) so that SLP_EN is honoured everywhere.
 */
static void enter_acpi_mode(const struct acpi_fadt_info *f)
{
	u16 v;
	int ms;

	if (gas_read16(&f->pm1a_cnt, &v) || (v & PM1_CNT_SCI_EN) || !f->smi_cmd || !f->acpi_enable ||
	    f->smi_cmd > PORT_MAX)
		return;
	outb((u16)f->smi_cmd, f->acpi_enable);
	for (ms = 0; ms < ACPI_ENABLE_WAIT_MS; ms++) {
		if (gas_read16(&f->pm1a_cnt, &v) == 0 && (v & PM1_CNT_SCI_EN))
			return;
		udelay(1000);
	}
	pr_warn("ACPI: the chipset did not enter ACPI mode; trying S5 anyway\n");
}

static void pm1_write(const struct acpi_gas *g, u8 slp_typ, bool enable)
{
	u16 v;

	if (!g->address || gas_read16(g, &v))
		return;
	v &= (u16) ~(PM1_CNT_SLP_TYP_MASK | PM1_CNT_SLP_EN);
	v |= (u16)(slp_typ << PM1_CNT_SLP_TYP_SHIFT);
	if (enable)
		v |= PM1_CNT_SLP_EN;
	gas_write(g, v, sizeof(u16));
}

int acpi_poweroff(void)
{
	const struct acpi_fadt_info *f = &acpi.fadt;

	if (!f->present)
		return -ENOSYS;
	if (!f->s5_valid)
		return -ENOENT;
	if (f->hw_reduced) {
		if (!f->sleep_control.address)
			return -ENOSYS;
		return gas_write(&f->sleep_control, (u32)(f->slp_typa << SLEEP_CTL_SLP_TYP_SHIFT) | SLEEP_CTL_SLP_EN,
				 1);
	}
	if (!f->pm1a_cnt.address)
		return -ENOSYS;
	enter_acpi_mode(f);
	/* SLP_TYP first, then SLP_EN in a second write, the order ACPICA uses. */
	pm1_write(&f->pm1a_cnt, f->slp_typa, false);
	pm1_write(&f->pm1b_cnt, f->slp_typb, false);
	pm1_write(&f->pm1a_cnt, f->slp_typa, true);
	pm1_write(&f->pm1b_cnt, f->slp_typb, true);
	return 0;
}
