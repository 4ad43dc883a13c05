/* SPDX-License-Identifier: MIT */
/*
 * Firmware layouts of the ACPI tables this driver reads, and the helpers its files share. The
 * structures are packed: tables sit at any byte address (SeaBIOS packs them back to back), and
 * nothing here may assume alignment. Offsets are those of the ACPI 6.4 tables cited.
 */
#ifndef KEEL_ACPI_HW_H
#define KEEL_ACPI_HW_H

#include "drivers/acpi/acpi.h"

/* RSDP (ACPI 6.4 §5.2.5.3, table 5.3). */
#define ACPI_RSDP_SIG	 "RSD PTR "
#define ACPI_RSDP_V1_LEN 20
#define ACPI_RSDP_V2_LEN 36

struct acpi_rsdp {
	char signature[8];
	u8 checksum; /* over the first 20 bytes */
	char oem_id[6];
	u8 revision; /* 0: ACPI 1.0, 2: ACPI 2.0+ */
	u32 rsdt_address;
	u32 length; /* revision 2+: whole structure */
	u64 xsdt_address;
	u8 ext_checksum; /* over `length` bytes */
	u8 reserved[3];
} __packed;
_Static_assert(offsetof(struct acpi_rsdp, checksum) == 8, "rsdp");
_Static_assert(offsetof(struct acpi_rsdp, revision) == 15, "rsdp");
_Static_assert(offsetof(struct acpi_rsdp, rsdt_address) == 16, "rsdp");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "rsdp");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "rsdp");
_Static_assert(offsetof(struct acpi_rsdp, ext_checksum) == 32, "rsdp");
_Static_assert(sizeof(struct acpi_rsdp) == ACPI_RSDP_V2_LEN, "rsdp");

/* System description table header (§5.2.6, table 5.4). */
struct acpi_sdt_header {
	char signature[4];
	u32 length; /* whole table, header included */
	u8 revision;
	u8 checksum; /* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;
_Static_assert(offsetof(struct acpi_sdt_header, length) == 4, "sdt");
_Static_assert(offsetof(struct acpi_sdt_header, checksum) == 9, "sdt");
_Static_assert(offsetof(struct acpi_sdt_header, oem_id) == 10, "sdt");
_Static_assert(offsetof(struct acpi_sdt_header, oem_table_id) == 16, "sdt");
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "sdt");

/* Generic Address Structure (§5.2.3.2, table 5.1). */
struct acpi_gas_raw {
	u8 space_id;
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __packed;
_Static_assert(offsetof(struct acpi_gas_raw, address) == 4, "gas");
_Static_assert(sizeof(struct acpi_gas_raw) == 12, "gas");

/* MADT (§5.2.12, table 5.43) and its interrupt controller structures. */
#define ACPI_MADT_PCAT_COMPAT (1u << 0)

struct acpi_madt {
	struct acpi_sdt_header hdr;
	u32 lapic_address;
	u32 flags;
	/* interrupt controller structures follow */
} __packed;
_Static_assert(offsetof(struct acpi_madt, lapic_address) == 36, "madt");
_Static_assert(offsetof(struct acpi_madt, flags) == 40, "madt");
_Static_assert(sizeof(struct acpi_madt) == 44, "madt");

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,	      /* table 5.45 */
	ACPI_MADT_IOAPIC = 1,	      /* table 5.47 */
	ACPI_MADT_IRQ_OVERRIDE = 2,   /* table 5.48 */
	ACPI_MADT_NMI_SOURCE = 3,     /* table 5.50 */
	ACPI_MADT_LAPIC_NMI = 4,      /* table 5.51 */
	ACPI_MADT_LAPIC_OVERRIDE = 5, /* table 5.52 */
	ACPI_MADT_X2APIC = 9,	      /* table 5.57 */
	ACPI_MADT_X2APIC_NMI = 0xa,   /* table 5.58 */
};

/* Local APIC flags (table 5.46). */
#define ACPI_MADT_ENABLED	     (1u << 0)
#define ACPI_MADT_ONLINE_CAPABLE     (1u << 1) /* defined from MADT revision 5 (ACPI 6.3) */
#define ACPI_MADT_ONLINE_CAPABLE_REV 5

struct acpi_madt_entry {
	u8 type;
	u8 length;
} __packed;

struct acpi_madt_lapic {
	u8 type, length;
	u8 uid;
	u8 apic_id;
	u32 flags;
} __packed;
_Static_assert(offsetof(struct acpi_madt_lapic, flags) == 4, "madt lapic");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "madt lapic");

struct acpi_madt_ioapic {
	u8 type, length;
	u8 id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __packed;
_Static_assert(offsetof(struct acpi_madt_ioapic, address) == 4, "madt ioapic");
_Static_assert(offsetof(struct acpi_madt_ioapic, gsi_base) == 8, "madt ioapic");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "madt ioapic");

struct acpi_madt_irq_override {
	u8 type, length;
	u8 bus;
	u8 source;
	u32 gsi;
	u16 flags;
} __packed;
_Static_assert(offsetof(struct acpi_madt_irq_override, gsi) == 4, "madt iso");
_Static_assert(offsetof(struct acpi_madt_irq_override, flags) == 8, "madt iso");
_Static_assert(sizeof(struct acpi_madt_irq_override) == 10, "madt iso");

struct acpi_madt_nmi_source {
	u8 type, length;
	u16 flags;
	u32 gsi;
} __packed;
_Static_assert(offsetof(struct acpi_madt_nmi_source, gsi) == 4, "madt nmi");
_Static_assert(sizeof(struct acpi_madt_nmi_source) == 8, "madt nmi");

struct acpi_madt_lapic_nmi {
	u8 type, length;
	u8 uid; /* 0xff: all processors */
	u16 flags;
	u8 lint;
} __packed;
_Static_assert(offsetof(struct acpi_madt_lapic_nmi, flags) == 3, "madt lapic nmi");
_Static_assert(offsetof(struct acpi_madt_lapic_nmi, lint) == 5, "madt lapic nmi");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "madt lapic nmi");

struct acpi_madt_lapic_override {
	u8 type, length;
	u16 reserved;
	u64 address;
} __packed;
_Static_assert(offsetof(struct acpi_madt_lapic_override, address) == 4, "madt lapic ovr");
_Static_assert(sizeof(struct acpi_madt_lapic_override) == 12, "madt lapic ovr");

struct acpi_madt_x2apic {
	u8 type, length;
	u16 reserved;
	u32 x2apic_id;
	u32 flags; /* as for Local APIC entries */
	u32 uid;
} __packed;
_Static_assert(offsetof(struct acpi_madt_x2apic, x2apic_id) == 4, "madt x2apic");
_Static_assert(offsetof(struct acpi_madt_x2apic, flags) == 8, "madt x2apic");
_Static_assert(offsetof(struct acpi_madt_x2apic, uid) == 12, "madt x2apic");
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "madt x2apic");

struct acpi_madt_x2apic_nmi {
	u8 type, length;
	u16 flags;
	u32 uid; /* 0xffffffff: all processors */
	u8 lint;
	u8 reserved[3];
} __packed;
_Static_assert(offsetof(struct acpi_madt_x2apic_nmi, uid) == 4, "madt x2apic nmi");
_Static_assert(offsetof(struct acpi_madt_x2apic_nmi, lint) == 8, "madt x2apic nmi");
_Static_assert(sizeof(struct acpi_madt_x2apic_nmi) == 12, "madt x2apic nmi");

/*
 * FADT (§5.2.9, table 5.9), all revisions: revision 1 (ACPI 1.0) ends at flags (116 bytes),
 * revision 3 at x_gpe1_blk (244), revision 5+ adds the sleep registers, 6+ the hypervisor ID.
 * Read through a zero-filled copy so fields past the table's length read as absent.
 */
struct acpi_fadt {
	struct acpi_sdt_header hdr;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 reserved0;
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas_raw reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas_raw x_pm1a_evt_blk;
	struct acpi_gas_raw x_pm1b_evt_blk;
	struct acpi_gas_raw x_pm1a_cnt_blk;
	struct acpi_gas_raw x_pm1b_cnt_blk;
	struct acpi_gas_raw x_pm2_cnt_blk;
	struct acpi_gas_raw x_pm_tmr_blk;
	struct acpi_gas_raw x_gpe0_blk;
	struct acpi_gas_raw x_gpe1_blk;
	struct acpi_gas_raw sleep_control_reg;
	struct acpi_gas_raw sleep_status_reg;
	u64 hypervisor_vendor_id;
} __packed;
_Static_assert(offsetof(struct acpi_fadt, firmware_ctrl) == 36, "fadt");
_Static_assert(offsetof(struct acpi_fadt, dsdt) == 40, "fadt");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "fadt");
_Static_assert(offsetof(struct acpi_fadt, smi_cmd) == 48, "fadt");
_Static_assert(offsetof(struct acpi_fadt, acpi_enable) == 52, "fadt");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "fadt");
_Static_assert(offsetof(struct acpi_fadt, pm1a_cnt_blk) == 64, "fadt");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "fadt");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "fadt");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_len) == 91, "fadt");
_Static_assert(offsetof(struct acpi_fadt, century) == 108, "fadt");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "fadt");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "fadt");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "fadt");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == 128, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "fadt");
_Static_assert(offsetof(struct acpi_fadt, x_gpe1_blk) == 232, "fadt");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "fadt");
_Static_assert(offsetof(struct acpi_fadt, sleep_status_reg) == 256, "fadt");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "fadt");
_Static_assert(sizeof(struct acpi_fadt) == 276, "fadt");

#define ACPI_FADT_V1_LEN offsetof(struct acpi_fadt, reset_reg) /* 116 */

/* HPET description table (IA-PC HPET 1.0a §3.2.4, table 3). */
struct acpi_hpet {
	struct acpi_sdt_header hdr;
	u32 event_timer_block_id;
	struct acpi_gas_raw base_address;
	u8 hpet_number;
	u16 min_tick;
	u8 page_protection;
} __packed;
_Static_assert(offsetof(struct acpi_hpet, event_timer_block_id) == 36, "hpet");
_Static_assert(offsetof(struct acpi_hpet, base_address) == 40, "hpet");
_Static_assert(offsetof(struct acpi_hpet, hpet_number) == 52, "hpet");
_Static_assert(offsetof(struct acpi_hpet, min_tick) == 53, "hpet");
_Static_assert(sizeof(struct acpi_hpet) == 56, "hpet");

/* Helpers shared by the files of this driver (tables.c). */
u8 acpi_checksum(const void *p, size_t len);
void acpi_gas_decode(struct acpi_gas *out, const struct acpi_gas_raw *in);
/*
 * Maps the table at pa and validates it (signature `sig` unless NULL, length, checksum). On any
 * failure warns, naming the table and the reason, and returns NULL.
 */
const struct acpi_sdt_header *acpi_map_sdt(hpa_t pa, const char *sig, u32 *len);
/* Adds a table to acpi.tables (for the summary and acpi_get_table()); h may be NULL. */
void acpi_record_table(hpa_t pa, const struct acpi_sdt_header *h, bool valid);

/* Per-table parsers: h has been validated and is len bytes long. */
void acpi_parse_madt(const struct acpi_sdt_header *h, u32 len);
void acpi_parse_fadt(const struct acpi_sdt_header *h, u32 len);
void acpi_parse_hpet(const struct acpi_sdt_header *h, u32 len);

/*
 * Finds the \_S5_ package in a DSDT's AML (the bytes after its header) and decodes SLP_TYPa and
 * SLP_TYPb. Returns 0, -ENOENT if there is none, or -EINVAL/-ERANGE (with a warning) if it is
 * malformed.
 */
int acpi_aml_find_s5(const u8 *aml, size_t len, u8 *slp_typa, u8 *slp_typb);

#endif
