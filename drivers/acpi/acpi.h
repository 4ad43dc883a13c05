/* SPDX-License-Identifier: MIT */
/*
 * ACPI static tables (ACPI 6.4 chapter 5): RSDP, RSDT/XSDT, MADT, FADT (with \_S5_ from the
 * DSDT) and the HPET table. Everything in them is firmware input: signatures, lengths (at most
 * ACPI_TABLE_MAX_LEN), checksums and every MADT entry are checked; a table that fails is skipped
 * with a warning that names it and says why, and parsing goes on with the others.
 *
 * Results land in the global `acpi`, filled once at boot by acpi_init() and read-only after.
 */
#ifndef KEEL_ACPI_H
#define KEEL_ACPI_H

#include "kernel/types.h"

/* Limits on what is kept; entries past them are counted in the dropped_* fields and reported. */
#define ACPI_MAX_TABLES	       128 /* root-table entries examined and remembered */
#define ACPI_MAX_CPUS	       256
#define ACPI_MAX_IOAPICS       16
#define ACPI_MAX_IRQ_OVERRIDES 32
#define ACPI_MAX_NMI_SOURCES   16
#define ACPI_MAX_LAPIC_NMIS    ACPI_MAX_CPUS /* some firmware lists one per processor */
#define ACPI_TABLE_MAX_LEN     MiB(1)	     /* longer tables are taken as corrupt */

/* Generic Address Structure, decoded (ACPI 6.4 §5.2.3.2). address 0: register not present. */
enum acpi_gas_space {
	ACPI_GAS_MEMORY = 0,
	ACPI_GAS_IO = 1,
	ACPI_GAS_PCI_CONFIG = 2, /* segment 0, bus 0; address = dev << 32 | fn << 16 | offset */
};

struct acpi_gas {
	u8 space_id; /* enum acpi_gas_space */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size; /* 0 legacy/undefined, 1 byte, 2 word, 3 dword, 4 qword */
	u64 address;
};

/* One table listed by the RSDT/XSDT (and the DSDT, found through the FADT). */
struct acpi_table_info {
	char sig[5];
	char oem_id[7];
	char oem_table_id[9];
	u8 revision;
	u32 length;
	hpa_t pa;
	bool valid; /* header, length and checksum passed; otherwise the table was ignored */
};

/* MADT (ACPI 6.4 §5.2.12). */
struct acpi_cpu {
	u32 apic_id;	     /* xAPIC ID (type 0 entry) or x2APIC ID (type 9 entry) */
	u32 uid;	     /* ACPI processor UID, the key of Local APIC NMI entries */
	bool enabled;	     /* present and usable: start it */
	bool online_capable; /* not enabled but may be hot-added later (MADT revision >= 5 only) */
	bool x2apic;	     /* came from a Processor Local x2APIC entry */
};

struct acpi_ioapic {
	u32 id;
	u32 address; /* physical, 32-bit by definition */
	u32 gsi_base;
};

/* MPS INTI flags of overrides and NMI entries (ACPI 6.4 table 5.26). */
#define ACPI_INTI_POLARITY_MASK	    0x3
#define ACPI_INTI_POLARITY_CONFORMS 0x0
#define ACPI_INTI_POLARITY_HIGH	    0x1
#define ACPI_INTI_POLARITY_LOW	    0x3
#define ACPI_INTI_TRIGGER_MASK	    0xc
#define ACPI_INTI_TRIGGER_CONFORMS  0x0
#define ACPI_INTI_TRIGGER_EDGE	    0x4
#define ACPI_INTI_TRIGGER_LEVEL	    0xc

struct acpi_irq_override {
	u8 bus; /* 0: ISA */
	u8 source_irq;
	u16 flags; /* ACPI_INTI_* */
	u32 gsi;
};

struct acpi_nmi_source {
	u16 flags; /* ACPI_INTI_* */
	u32 gsi;
};

#define ACPI_UID_ALL 0xffffffffu /* a Local APIC NMI entry that applies to every processor */

struct acpi_lapic_nmi {
	u32 uid;   /* ACPI_UID_ALL or one processor's UID */
	u16 flags; /* ACPI_INTI_* */
	u8 lint;   /* LINT0 or LINT1 */
};

struct acpi_madt_info {
	bool present;
	bool pcat_compat;      /* dual 8259 PICs present: mask them before using the IOAPICs */
	bool lapic_overridden; /* lapic_address came from a type 5 entry */
	bool truncated;	       /* a malformed entry stopped the walk; what came before it is kept */
	u8 revision;
	hpa_t lapic_address;
	u32 nr_cpus; /* entries in cpus[], enabled or not */
	u32 nr_cpus_enabled;
	u32 nr_ioapics;
	u32 nr_overrides;
	u32 nr_nmi_sources;
	u32 nr_lapic_nmis;
	u32 dropped_cpus; /* entries that did not fit the arrays */
	u32 dropped_ioapics;
	u32 dropped_overrides;
	u32 dropped_nmi_sources;
	u32 dropped_lapic_nmis;
	struct acpi_cpu cpus[ACPI_MAX_CPUS]; /* in MADT order (the boot CPU is usually first) */
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	struct acpi_irq_override overrides[ACPI_MAX_IRQ_OVERRIDES];
	struct acpi_nmi_source nmi_sources[ACPI_MAX_NMI_SOURCES];
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];
};

/* FADT flags (ACPI 6.4 table 5.10) and IA-PC boot architecture flags (table 5.11). */
#define ACPI_FADT_TMR_VAL_EXT	  (1u << 8)
#define ACPI_FADT_RESET_REG_SUP	  (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI (1u << 20)

#define ACPI_BOOT_ARCH_LEGACY_DEVICES	    (1u << 0)
#define ACPI_BOOT_ARCH_8042		    (1u << 1)
#define ACPI_BOOT_ARCH_VGA_NOT_PRESENT	    (1u << 2)
#define ACPI_BOOT_ARCH_MSI_NOT_SUPPORTED    (1u << 3)
#define ACPI_BOOT_ARCH_PCIE_ASPM_CONTROLS   (1u << 4)
#define ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)

/* FADT (ACPI 6.4 §5.2.9). Where both exist, the 64-bit X_ field wins when it is nonzero. */
struct acpi_fadt_info {
	bool present;
	u8 revision;
	u32 flags;	    /* ACPI_FADT_* */
	u16 iapc_boot_arch; /* ACPI_BOOT_ARCH_* */
	u8 century;	    /* CMOS RTC index of the century, 0 if none */
	u16 sci_irq;
	u32 smi_cmd; /* port to switch the chipset to ACPI mode; 0: already/only ACPI */
	u8 acpi_enable;
	u8 acpi_disable;
	hpa_t dsdt;
	hpa_t facs;
	struct acpi_gas pm1a_evt, pm1b_evt;
	struct acpi_gas pm1a_cnt, pm1b_cnt;
	struct acpi_gas pm_timer;
	u16 pm_timer_port;    /* the PM timer's port when it sits in I/O space, else 0 */
	bool pm_timer_32bit;  /* TMR_VAL_EXT: the counter is 32 bits wide, else 24 */
	bool reset_supported; /* RESET_REG_SUP and a usable reset register */
	struct acpi_gas reset_reg;
	u8 reset_value;
	bool hw_reduced;
	struct acpi_gas sleep_control, sleep_status; /* hardware-reduced sleep registers */
	/* \_S5_ from the DSDT: SLP_TYP values for soft-off (ACPI 6.4 §7.4.2). */
	bool s5_valid;
	u8 slp_typa, slp_typb;
};

/* HPET description table (IA-PC HPET specification 1.0a §3.2.4). */
struct acpi_hpet_info {
	bool present;  /* a valid table with its registers in system memory */
	hpa_t address; /* event timer block registers */
	u8 hpet_number;
	u8 comparators; /* timers in the block */
	bool counter_64bit;
	bool legacy_replacement; /* can route timers 0/1 to IRQ0/IRQ8 */
	u16 pci_vendor;
	u16 min_tick; /* main counter minimum clock tick in periodic mode */
};

struct acpi_info {
	bool present; /* a valid RSDP and root table were found */
	bool root_is_xsdt;
	u8 rsdp_revision;
	char oem_id[7];
	hpa_t root_pa;
	u32 nr_tables;
	u32 dropped_tables; /* root-table entries past ACPI_MAX_TABLES, not examined */
	struct acpi_table_info tables[ACPI_MAX_TABLES];
	struct acpi_madt_info madt;
	struct acpi_fadt_info fadt;
	struct acpi_hpet_info hpet;
};

extern struct acpi_info acpi;

/*
 * Provided by the kernel (and by fakes in the host tests), not by this driver:
 * acpi_map() gives read access to len bytes of firmware memory at pa, or NULL when that range is
 * not RAM or firmware memory; acpi_map_mmio() maps a register for writing (uncached), or NULL.
 */
const void *acpi_map(hpa_t pa, size_t len);
void *acpi_map_mmio(hpa_t pa, size_t len);

/*
 * Parses everything from a copy of the RSDP (20 bytes for revision 0, 36 for revision 2+).
 * Returns 0, -ENOENT (no RSDP given), -EINVAL (RSDP invalid) or -EIO (neither the XSDT nor the
 * RSDT is usable). A bad MADT, FADT, DSDT or HPET only leaves its part of `acpi` absent.
 */
int acpi_init(const u8 *rsdp, u32 rsdp_len);

/*
 * Multiboot1 has no RSDP: look in the first KiB of the EBDA, then in 0xE0000-0xFFFFF, on 16-byte
 * boundaries (ACPI 6.4 §5.2.5.1). Copies the RSDP (20 or 36 bytes) to out and returns 0, or
 * -ENOENT. Only the signature and the 20-byte checksum are checked here; acpi_init() does the rest.
 */
int acpi_find_rsdp_bios(u8 out[36], u32 *len);

/* One line per table, then the CPU/IOAPIC counts, timers and power registers. */
void acpi_print_summary(void);

/* First valid table with this signature (e.g. "MCFG"), mapped, and its length; NULL if none. */
const void *acpi_get_table(const char *sig, u32 *len);

/*
 * Shutdown paths (drivers/acpi/power.c). Each returns 0 once the register write is done (the
 * caller waits a little and moves on to the next method if the machine is still running),
 * -ENOSYS when the FADT offers no such mechanism, -ENOENT when \_S5_ is unknown, or -EINVAL for
 * a register that cannot be accessed.
 */
int acpi_reset(void);
int acpi_poweroff(void);

#endif
