/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for a VM. The layouts are those the host parser reads (drivers/acpi/acpi_hw.h:
 * RSDP, SDT header, GAS, MADT entries, FADT); the FACS and the root tables are defined here.
 * Every multi-byte value goes through memcpy or a packed struct: tables sit on 8-byte boundaries
 * but their fields (XSDT entries, FADT X_ fields) do not.
 *
 * Revisions follow ACPI 6.4: FADT 6.4 (revision 6, minor 4, 276 bytes), MADT revision 5,
 * FACS version 2, DSDT revision 2 (64-bit AML integers), XSDT/RSDT revision 1, RSDP revision 2.
 */
#include "vmm/acpi_gen.h"

#include "drivers/acpi/acpi_hw.h"
#include "kernel/lib/string.h"
#include "vmm/aml.h"

/* Header strings (ACPI 6.4 table 5.4): OEM ID 6 bytes, OEM table ID 8, creator ID 4. */
#define OEM_ID		 "KEEL  "
#define OEM_TABLE_ID	 "KEELVM  "
#define OEM_REVISION	 1
#define CREATOR_ID	 "KEEL"
#define CREATOR_REVISION 1

#define RSDP_REVISION	2 /* ACPI 2.0+: 36 bytes, XSDT address and extended checksum */
#define XSDT_REVISION	1
#define RSDT_REVISION	1
#define MADT_REVISION	5 /* ACPI 6.3+ (ONLINE_CAPABLE defined; we never set it) */
#define FADT_REVISION	6 /* ACPI 6.0+ layout, with the hypervisor vendor identity */
#define FADT_MINOR	4 /* ACPI 6.4 (table 5.9, "FADT Minor Version") */
#define FACS_VERSION	2
#define DSDT_REVISION	2  /* 2+: AML integers are 64 bits (ACPI 6.4 §19.6.28 DefinitionBlock) */
#define FACS_ALIGN	64 /* ACPI 6.4 §5.2.10: the FACS is 64-byte aligned */
#define RSDP_ALIGN	16 /* the BIOS-area scan looks on 16-byte boundaries (§5.2.5.1) */
#define TABLE_ALIGN	8
#define GPA_32BIT_LIMIT GiB(4)

/* FADT Fixed Feature Flags (ACPI 6.4 table 5.10) not already in drivers/acpi/acpi.h. */
#define FADT_WBINVD	(1u << 0) /* WBINVD flushes caches: must be set on IA-PC */
#define FADT_PROC_C1	(1u << 2) /* C1 (HLT) on every processor */
#define FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */

/* P_LVL2_LAT > 100 and P_LVL3_LAT > 1000: C2 and C3 unsupported (table 5.9). */
#define FADT_C2_NONE 101
#define FADT_C3_NONE 1001

/* Register block lengths (ACPI 6.4 §4.8.3): in bytes for the legacy fields, bits for the GAS. */
#define PM1_EVT_LEN 4 /* PM1 status + PM1 enable, 2 bytes each */
#define PM1_CNT_LEN 2
#define PM_TMR_LEN  4
#define RESET_LEN   1

/* GAS access sizes (table 5.1). */
#define GAS_ACCESS_BYTE	 1
#define GAS_ACCESS_WORD	 2
#define GAS_ACCESS_DWORD 3

/* MADT values (ACPI 6.4 §5.2.12). */
#define MADT_UID_ALL   0xff /* Local APIC NMI entry: every processor */
#define MADT_LINT1     1
#define ISA_BUS	       0
#define ISA_IRQ_PIT    0
#define GSI_PIT	       2 /* the PIT's output is wired to I/O APIC pin 2 (as on PC chipsets) */
#define ISA_IRQ_MAX    15
#define XAPIC_ID_MAX   0xff
#define NR_OVERRIDES   2 /* IRQ 0 and the SCI */
#define INTI_EDGE_HIGH (ACPI_INTI_POLARITY_HIGH | ACPI_INTI_TRIGGER_EDGE)
#define INTI_LEVEL_HI  (ACPI_INTI_POLARITY_HIGH | ACPI_INTI_TRIGGER_LEVEL)
#define INTI_CONFORMS  (ACPI_INTI_POLARITY_CONFORMS | ACPI_INTI_TRIGGER_CONFORMS)

/* FACS (ACPI 6.4 §5.2.10, table 5.14). No checksum; the OS owns everything after `flags`. */
struct acpi_gen_facs {
	char signature[4];
	u32 length;
	u32 hardware_signature;
	u32 firmware_waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_firmware_waking_vector;
	u8 version;
	u8 reserved0[3];
	u32 ospm_flags;
	u8 reserved1[24];
} __packed;
_Static_assert(offsetof(struct acpi_gen_facs, length) == 4, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, hardware_signature) == 8, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, firmware_waking_vector) == 12, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, global_lock) == 16, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, flags) == 20, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, x_firmware_waking_vector) == 24, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, version) == 32, "facs");
_Static_assert(offsetof(struct acpi_gen_facs, ospm_flags) == 36, "facs");
_Static_assert(sizeof(struct acpi_gen_facs) == 64, "facs");

/* XSDT and RSDT (§5.2.8 table 5.7, §5.2.7 table 5.6): the header, then 64- or 32-bit pointers. */
enum { ROOT_FADT, ROOT_MADT, NR_ROOT_ENTRIES };

struct acpi_gen_xsdt {
	struct acpi_sdt_header hdr;
	u64 entry[NR_ROOT_ENTRIES];
} __packed;
_Static_assert(offsetof(struct acpi_gen_xsdt, entry) == 36, "xsdt");
_Static_assert(sizeof(struct acpi_gen_xsdt) == 36 + 8 * NR_ROOT_ENTRIES, "xsdt");

struct acpi_gen_rsdt {
	struct acpi_sdt_header hdr;
	u32 entry[NR_ROOT_ENTRIES];
} __packed;
_Static_assert(offsetof(struct acpi_gen_rsdt, entry) == 36, "rsdt");
_Static_assert(sizeof(struct acpi_gen_rsdt) == 36 + 4 * NR_ROOT_ENTRIES, "rsdt");

/*
 * The DSDT's AML body (ACPI 6.4 chapter 20), written by vmm/aml.c:
 *   Name (_S5, Package () { 5, 5, 0, 0 })
 *   Scope (\_SB) { Device (PCI0) { _HID, _CID, _SEG, _BBN, _UID, _CRS, _PRT } }   (with PCI)
 * The \_S5_ values are SLP_TYPa, SLP_TYPb and two reserved values (§7.4.2). PCI0 is the root
 * bridge of segment 0, bus 0 (PCI Firmware Specification 3.2 §4.1; x86 Linux scans PCI only
 * below a PNP0A03/PNP0A08 device): its _CRS gives the buses, the configuration ports it
 * consumes and the windows it forwards to BARs; its _PRT routes each slot's INTA-D to an I/O
 * APIC GSI (§6.2.13: Address = slot << 16 | 0xffff, Pin 0-3, Source 0, Source Index = GSI, which
 * the OS then programs level-triggered, active low).
 */
#define S5_ELEMENTS	 4
#define PCI_SLOTS	 32
#define PCI_PINS	 4
#define PRT_ANY_FUNCTION 0xffff
#define PCI_CFG_PORTS	 8 /* 0xcf8-0xcff */
#define PCI_CFG_PORT	 0xcf8
#define PCI_MAX_GSIS	 32

static void dsdt_pci(struct aml *a, const struct acpi_gen_config *cfg)
{
	u32 crs;

	aml_scope(a, "\\_SB");
	aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08"); /* PCI Express root bridge: the i440FX's is PCI, but PNP0A03 follows */
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_int(a, "_UID", 0);

	aml_name(a, "_CRS");
	aml_buffer(a);
	crs = a->len;
	aml_res_word_bus(a, 0, 0);
	aml_res_io(a, PCI_CFG_PORT, PCI_CFG_PORTS);
	aml_res_word_io(a, cfg->pci_io_first, cfg->pci_io_last);
	aml_res_dword_mem(a, cfg->pci_mem32_first, cfg->pci_mem32_last, AML_MEM_UNCACHED);
	if (cfg->pci_mem64_last)
		aml_res_qword_mem(a, cfg->pci_mem64_first, cfg->pci_mem64_last, AML_MEM_CACHEABLE);
	aml_res_end(a, crs);
	aml_close(a);

	/* The usual rotation: pin p of slot s on GSI base + (s + p) mod n, so the slots' INTA
	 * lines spread over every GSI. */
	aml_name(a, "_PRT");
	aml_package(a, PCI_SLOTS * PCI_PINS);
	for (u32 slot = 0; slot < PCI_SLOTS; slot++) {
		for (u32 pin = 0; pin < PCI_PINS; pin++) {
			aml_package(a, 4);
			aml_integer(a, (u64)slot << 16 | PRT_ANY_FUNCTION);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, cfg->pci_gsi_base + (slot + pin) % cfg->pci_nr_gsis);
			aml_close(a);
		}
	}
	aml_close(a);
	aml_close(a); /* PCI0 */
	aml_close(a); /* \_SB */
}

/* Writes the AML body to buf (NULL: measures it); returns its length or a negative error. */
static int dsdt_body(u8 *buf, u32 cap, const struct acpi_gen_config *cfg)
{
	struct aml a;

	aml_init(&a, buf, cap);
	aml_name(&a, "_S5");
	aml_package(&a, S5_ELEMENTS);
	aml_integer(&a, ACPI_GEN_S5_SLP_TYP); /* SLP_TYPa */
	aml_integer(&a, ACPI_GEN_S5_SLP_TYP); /* SLP_TYPb */
	aml_integer(&a, 0);		      /* reserved */
	aml_integer(&a, 0);
	aml_close(&a);
	if (cfg->has_pci)
		dsdt_pci(&a, cfg);
	return aml_finish(&a);
}

/* Where each table goes, as offsets into buf. */
struct layout {
	u64 rsdp, facs, dsdt, fadt, madt, xsdt, rsdt, end;
	u32 dsdt_len, madt_len;
};

/* Offset in buf of the next `align`-aligned guest-physical address at or after buf_gpa + off. */
static u64 place(u64 buf_gpa, u64 off, u64 align)
{
	return ALIGN_UP(buf_gpa + off, align) - buf_gpa;
}

static int compute_layout(struct layout *l, const struct acpi_gen_config *cfg, u64 buf_gpa)
{
	int body = dsdt_body(NULL, 0, cfg);

	if (body < 0)
		return body;
	l->dsdt_len = sizeof(struct acpi_sdt_header) + (u32)body;
	l->madt_len = sizeof(struct acpi_madt) + cfg->nr_cpus * sizeof(struct acpi_madt_lapic) +
		      sizeof(struct acpi_madt_ioapic) + NR_OVERRIDES * sizeof(struct acpi_madt_irq_override) +
		      sizeof(struct acpi_madt_lapic_nmi);

	l->rsdp = place(buf_gpa, 0, RSDP_ALIGN);
	l->facs = place(buf_gpa, l->rsdp + sizeof(struct acpi_rsdp), FACS_ALIGN);
	l->dsdt = place(buf_gpa, l->facs + sizeof(struct acpi_gen_facs), TABLE_ALIGN);
	l->fadt = place(buf_gpa, l->dsdt + l->dsdt_len, TABLE_ALIGN);
	l->madt = place(buf_gpa, l->fadt + sizeof(struct acpi_fadt), TABLE_ALIGN);
	l->xsdt = place(buf_gpa, l->madt + l->madt_len, TABLE_ALIGN);
	l->rsdt = place(buf_gpa, l->xsdt + sizeof(struct acpi_gen_xsdt), TABLE_ALIGN);
	l->end = l->rsdt + sizeof(struct acpi_gen_rsdt);
	return 0;
}

static bool pci_valid(const struct acpi_gen_config *cfg)
{
	if (!cfg->has_pci)
		return true;
	return cfg->pci_io_first <= cfg->pci_io_last && cfg->pci_mem32_first <= cfg->pci_mem32_last &&
	       (!cfg->pci_mem64_last || cfg->pci_mem64_first <= cfg->pci_mem64_last) && cfg->pci_nr_gsis >= 1 &&
	       cfg->pci_nr_gsis <= PCI_MAX_GSIS;
}

static bool config_valid(const struct acpi_gen_config *cfg)
{
	return cfg->nr_cpus >= 1 && cfg->nr_cpus <= ACPI_GEN_MAX_CPUS && cfg->ioapic_id <= XAPIC_ID_MAX &&
	       cfg->ioapic_addr && cfg->ioapic_addr < GPA_32BIT_LIMIT && cfg->lapic_addr &&
	       cfg->lapic_addr < GPA_32BIT_LIMIT && cfg->pm1a_evt_port && cfg->pm1a_cnt_port && cfg->sci_irq &&
	       cfg->sci_irq <= ISA_IRQ_MAX && cfg->sci_irq != GSI_PIT && pci_valid(cfg);
}

static void put_header(u8 *table, const char *sig, u32 len, u8 revision)
{
	struct acpi_sdt_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.signature, sig, sizeof(h.signature));
	h.length = len;
	h.revision = revision;
	memcpy(h.oem_id, OEM_ID, sizeof(h.oem_id));
	memcpy(h.oem_table_id, OEM_TABLE_ID, sizeof(h.oem_table_id));
	h.oem_revision = OEM_REVISION;
	memcpy(&h.creator_id, CREATOR_ID, sizeof(h.creator_id));
	h.creator_revision = CREATOR_REVISION;
	memcpy(table, &h, sizeof(h));
}

/* Last, once the table's body is written: the whole table sums to 0 (§5.2.6). */
static void finish_checksum(u8 *table, u32 len)
{
	table[offsetof(struct acpi_sdt_header, checksum)] = 0;
	table[offsetof(struct acpi_sdt_header, checksum)] = (u8)-acpi_checksum(table, len);
}

static struct acpi_gas_raw io_gas(u16 port, u8 len_bytes, u8 access)
{
	struct acpi_gas_raw g;

	memset(&g, 0, sizeof(g));
	if (!port)
		return g;
	g.space_id = ACPI_GAS_IO;
	g.bit_width = (u8)(len_bytes * 8);
	g.access_size = access;
	g.address = port;
	return g;
}

static void build_facs(u8 *p)
{
	struct acpi_gen_facs f;

	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "FACS", sizeof(f.signature));
	f.length = sizeof(f);
	f.version = FACS_VERSION;
	memcpy(p, &f, sizeof(f));
}

/*
 * The same calls as when the body was measured, so exactly len - header bytes; room is what the
 * tables after it will use, as the emitter needs a few more bytes while a PkgLength is open (the
 * FADT and MADT that follow are written afterwards).
 */
static void build_dsdt(u8 *p, u32 len, u32 room, const struct acpi_gen_config *cfg)
{
	put_header(p, "DSDT", len, DSDT_REVISION);
	dsdt_body(p + sizeof(struct acpi_sdt_header), room - (u32)sizeof(struct acpi_sdt_header), cfg);
	finish_checksum(p, len);
}

/*
 * IA-PC boot architecture flags (ACPI 6.4 table 5.11), from what the platform emulates. Linux
 * acts on each: without 8042 it skips probing ports 0x60/0x64 (an absent controller reads 0xff
 * and costs a timeout); VGA Not Present keeps vgacon and VGA probing off absent ports; CMOS RTC
 * Not Present stops it registering an RTC it would read garbage from; MSI Not Supported makes
 * it fall back to INTx. LEGACY_DEVICES says ISA devices needing a driver exist (a 16550 UART).
 */
static u16 boot_arch_flags(const struct acpi_gen_config *cfg)
{
	u16 f = 0;

	if (cfg->legacy_devices)
		f |= ACPI_BOOT_ARCH_LEGACY_DEVICES;
	if (cfg->has_i8042)
		f |= ACPI_BOOT_ARCH_8042;
	if (!cfg->has_vga)
		f |= ACPI_BOOT_ARCH_VGA_NOT_PRESENT;
	if (!cfg->has_msi)
		f |= ACPI_BOOT_ARCH_MSI_NOT_SUPPORTED;
	if (!cfg->has_cmos_rtc)
		f |= ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT;
	return f;
}

static void build_fadt(u8 *p, const struct acpi_gen_config *cfg, u64 facs_gpa, u64 dsdt_gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	put_header((u8 *)&f, "FACP", sizeof(f), FADT_REVISION);
	/*
	 * FIRMWARE_CTRL and X_FIRMWARE_CTRL are exclusive (table 5.9): the FACS is below 4 GiB, so
	 * the 32-bit one. DSDT and X_DSDT may both be given; they hold the same address.
	 */
	f.firmware_ctrl = (u32)facs_gpa;
	f.dsdt = (u32)dsdt_gpa;
	f.x_dsdt = dsdt_gpa;
	f.sci_int = cfg->sci_irq;
	/* SMI_CMD 0: no SMM hand-over, the hardware is always in ACPI mode (§4.8.2.1). */
	f.smi_cmd = 0;

	f.pm1a_evt_blk = cfg->pm1a_evt_port;
	f.pm1a_cnt_blk = cfg->pm1a_cnt_port;
	f.pm_tmr_blk = cfg->pm_tmr_port;
	f.pm1_evt_len = PM1_EVT_LEN;
	f.pm1_cnt_len = PM1_CNT_LEN;
	f.pm_tmr_len = cfg->pm_tmr_port ? PM_TMR_LEN : 0;
	/* The 16-bit PM1 status/enable/control registers take word accesses, the timer dword. */
	f.x_pm1a_evt_blk = io_gas(cfg->pm1a_evt_port, PM1_EVT_LEN, GAS_ACCESS_WORD);
	f.x_pm1a_cnt_blk = io_gas(cfg->pm1a_cnt_port, PM1_CNT_LEN, GAS_ACCESS_WORD);
	f.x_pm_tmr_blk = io_gas(cfg->pm_tmr_port, PM_TMR_LEN, GAS_ACCESS_DWORD);

	f.p_lvl2_lat = FADT_C2_NONE;
	f.p_lvl3_lat = FADT_C3_NONE;
	f.century = cfg->has_cmos_rtc ? cfg->rtc_century : 0;
	f.iapc_boot_arch = boot_arch_flags(cfg);
	/* TMR_VAL_EXT clear: the PM timer counts 24 bits. */
	f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	if (cfg->reset_port) {
		f.flags |= ACPI_FADT_RESET_REG_SUP;
		f.reset_reg = io_gas(cfg->reset_port, RESET_LEN, GAS_ACCESS_BYTE);
		f.reset_value = cfg->reset_value;
	}
	f.minor_version = FADT_MINOR;
	memcpy(&f.hypervisor_vendor_id, "Keel\0\0\0\0", sizeof(f.hypervisor_vendor_id));

	memcpy(p, &f, sizeof(f));
	finish_checksum(p, sizeof(f));
}

static u8 *put_lapic(u8 *q, u8 id)
{
	struct acpi_madt_lapic e = {
		.type = ACPI_MADT_LAPIC,
		.length = sizeof(e),
		.uid = id,
		.apic_id = id,
		.flags = ACPI_MADT_ENABLED,
	};

	memcpy(q, &e, sizeof(e));
	return q + sizeof(e);
}

static u8 *put_override(u8 *q, u8 irq, u32 gsi, u16 flags)
{
	struct acpi_madt_irq_override e = {
		.type = ACPI_MADT_IRQ_OVERRIDE,
		.length = sizeof(e),
		.bus = ISA_BUS,
		.source = irq,
		.gsi = gsi,
		.flags = flags,
	};

	memcpy(q, &e, sizeof(e));
	return q + sizeof(e);
}

static void build_madt(u8 *p, u32 len, const struct acpi_gen_config *cfg)
{
	struct acpi_madt m;
	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC,
		.length = sizeof(io),
		.id = (u8)cfg->ioapic_id,
		.address = (u32)cfg->ioapic_addr,
		.gsi_base = cfg->ioapic_gsi_base,
	};
	/* NMI on LINT1 of every processor, flags as the bus defines (edge, active high). */
	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.uid = MADT_UID_ALL,
		.flags = INTI_CONFORMS,
		.lint = MADT_LINT1,
	};
	u8 *q;
	u32 i;

	memset(&m, 0, sizeof(m));
	put_header((u8 *)&m, "APIC", len, MADT_REVISION);
	m.lapic_address = (u32)cfg->lapic_addr;
	/* The VM has the dual 8259s: the OS masks them before using the I/O APIC. */
	m.flags = ACPI_MADT_PCAT_COMPAT;
	memcpy(p, &m, sizeof(m));
	q = p + sizeof(m);

	for (i = 0; i < cfg->nr_cpus; i++)
		q = put_lapic(q, (u8)i);
	memcpy(q, &io, sizeof(io));
	q += sizeof(io);
	/* ISA IRQ 0 (PIT) arrives at GSI 2; the SCI is level-triggered, active high (as QEMU has). */
	q = put_override(q, ISA_IRQ_PIT, GSI_PIT, INTI_EDGE_HIGH);
	q = put_override(q, cfg->sci_irq, cfg->sci_irq, INTI_LEVEL_HI);
	memcpy(q, &nmi, sizeof(nmi));
	finish_checksum(p, len);
}

static void build_roots(u8 *buf, const struct layout *l, u64 buf_gpa)
{
	struct acpi_gen_xsdt x;
	struct acpi_gen_rsdt r;

	memset(&x, 0, sizeof(x));
	put_header((u8 *)&x, "XSDT", sizeof(x), XSDT_REVISION);
	x.entry[ROOT_FADT] = buf_gpa + l->fadt;
	x.entry[ROOT_MADT] = buf_gpa + l->madt;
	memcpy(buf + l->xsdt, &x, sizeof(x));
	finish_checksum(buf + l->xsdt, sizeof(x));

	memset(&r, 0, sizeof(r));
	put_header((u8 *)&r, "RSDT", sizeof(r), RSDT_REVISION);
	r.entry[ROOT_FADT] = (u32)(buf_gpa + l->fadt);
	r.entry[ROOT_MADT] = (u32)(buf_gpa + l->madt);
	memcpy(buf + l->rsdt, &r, sizeof(r));
	finish_checksum(buf + l->rsdt, sizeof(r));
}

/* RSDP (§5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36. */
static void build_rsdp(u8 *p, u64 xsdt_gpa, u64 rsdt_gpa)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, ACPI_RSDP_SIG, sizeof(r.signature));
	memcpy(r.oem_id, OEM_ID, sizeof(r.oem_id));
	r.revision = RSDP_REVISION;
	r.rsdt_address = (u32)rsdt_gpa;
	r.length = sizeof(r);
	r.xsdt_address = xsdt_gpa;
	r.checksum = (u8)-acpi_checksum(&r, ACPI_RSDP_V1_LEN);
	r.ext_checksum = (u8)-acpi_checksum(&r, ACPI_RSDP_V2_LEN);
	memcpy(p, &r, sizeof(r));
}

int acpi_gen_build(const struct acpi_gen_config *cfg, u8 *buf, u64 buf_size, u64 buf_gpa, u64 *rsdp_gpa)
{
	struct layout l;

	if (!cfg || !buf || !rsdp_gpa || !config_valid(cfg))
		return -EINVAL;
	if (compute_layout(&l, cfg, buf_gpa))
		return -EINVAL;
	if (buf_gpa >= GPA_32BIT_LIMIT || l.end > GPA_32BIT_LIMIT - buf_gpa)
		return -EINVAL;
	if (l.end > buf_size)
		return -ENOSPC;

	memset(buf, 0, l.end);
	build_facs(buf + l.facs);
	build_dsdt(buf + l.dsdt, l.dsdt_len, (u32)(l.end - l.dsdt), cfg);
	build_fadt(buf + l.fadt, cfg, buf_gpa + l.facs, buf_gpa + l.dsdt);
	build_madt(buf + l.madt, l.madt_len, cfg);
	build_roots(buf, &l, buf_gpa);
	build_rsdp(buf + l.rsdp, buf_gpa + l.xsdt, buf_gpa + l.rsdt);
	*rsdp_gpa = buf_gpa + l.rsdp;
	return (int)l.end;
}
