/* SPDX-License-Identifier: MIT */
/*
 * RSDP validation, the BIOS-area RSDP scan, and the walk of the XSDT/RSDT that hands each table to
 * its parser (ACPI 6.4 §5.2.5-§5.2.8). The tables are firmware bytes: every one is mapped through
 * acpi_map(), whose NULL is a normal answer, and validated before anything in it is believed.
 */
#include "drivers/acpi/acpi_hw.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

struct acpi_info acpi;

/* Where a BIOS leaves the RSDP (ACPI 6.4 §5.2.5.1). */
#define BDA_EBDA_SEGMENT 0x40e /* real-mode segment of the EBDA, in the BIOS data area */
#define EBDA_SCAN_LEN	 1024
#define EBDA_MIN	 0x500	 /* above the BIOS data area */
#define EBDA_END	 0xa0000 /* below the legacy video window */
#define BIOS_AREA_BASE	 0xe0000
#define BIOS_AREA_LEN	 0x20000
#define RSDP_ALIGN	 16

u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* Table signatures and OEM strings are firmware bytes too: never print them raw. */
static void copy_printable(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[n] = '\0';
}

void acpi_gas_decode(struct acpi_gas *out, const struct acpi_gas_raw *in)
{
	out->space_id = in->space_id;
	out->bit_width = in->bit_width;
	out->bit_offset = in->bit_offset;
	out->access_size = in->access_size;
	out->address = in->address;
}

const struct acpi_sdt_header *acpi_map_sdt(hpa_t pa, const char *sig, u32 *lenp)
{
	const struct acpi_sdt_header *h;
	char name[5], found[5];
	u32 len;
	u8 sum;

	copy_printable(name, sig ? sig : "????", 4);
	if (!pa) {
		pr_warn("ACPI: %s: null address, ignored\n", name);
		return NULL;
	}
	h = acpi_map(pa, sizeof(*h));
	if (!h) {
		pr_warn("ACPI: %s at %#llx: not in mapped memory, ignored\n", name, (unsigned long long)pa);
		return NULL;
	}
	copy_printable(found, h->signature, 4);
	if (!sig) {
		memcpy(name, found, sizeof(name));
	} else if (memcmp(h->signature, sig, 4) != 0) {
		pr_warn("ACPI: %s at %#llx: signature is \"%s\", ignored\n", name, (unsigned long long)pa, found);
		return NULL;
	}
	len = h->length;
	if (len < sizeof(*h)) {
		pr_warn("ACPI: %s at %#llx: length %u is shorter than the header, ignored\n", name,
			(unsigned long long)pa, len);
		return NULL;
	}
	if (len > ACPI_TABLE_MAX_LEN) {
		pr_warn("ACPI: %s at %#llx: length %u is over the %llu-byte limit, ignored\n", name,
			(unsigned long long)pa, len, (unsigned long long)ACPI_TABLE_MAX_LEN);
		return NULL;
	}
	h = pa + len > pa ? acpi_map(pa, len) : NULL;
	if (!h) {
		pr_warn("ACPI: %s at %#llx: length %u runs past mapped memory, ignored\n", name, (unsigned long long)pa,
			len);
		return NULL;
	}
	sum = acpi_checksum(h, len);
	if (sum) {
		pr_warn("ACPI: %s at %#llx: bad checksum (bytes sum to %#x), ignored\n", name, (unsigned long long)pa,
			sum);
		return NULL;
	}
	*lenp = len;
	return h;
}

void acpi_record_table(hpa_t pa, const struct acpi_sdt_header *h, bool valid)
{
	struct acpi_table_info *t;

	if (acpi.nr_tables >= ACPI_MAX_TABLES) {
		acpi.dropped_tables++;
		return;
	}
	t = &acpi.tables[acpi.nr_tables++];
	memset(t, 0, sizeof(*t));
	t->pa = pa;
	t->valid = valid;
	if (!h) {
		copy_printable(t->sig, "????", 4);
		return;
	}
	copy_printable(t->sig, h->signature, 4);
	copy_printable(t->oem_id, h->oem_id, sizeof(h->oem_id));
	copy_printable(t->oem_table_id, h->oem_table_id, sizeof(h->oem_table_id));
	t->revision = h->revision;
	t->length = h->length;
}

const void *acpi_get_table(const char *sig, u32 *len)
{
	u32 i;

	for (i = 0; i < acpi.nr_tables; i++) {
		const struct acpi_table_info *t = &acpi.tables[i];

		if (t->valid && memcmp(t->sig, sig, 4) == 0) {
			const void *p = acpi_map(t->pa, t->length);

			if (p && len)
				*len = t->length;
			return p;
		}
	}
	return NULL;
}

/* One table named by the root table: validate it, remember it, hand it to its parser. */
static void parse_entry(const char *root, u32 index, hpa_t pa)
{
	const struct acpi_sdt_header *h;
	u32 len;

	if (!pa) {
		pr_warn("ACPI: %s entry %u is a null pointer, ignored\n", root, index);
		return;
	}
	h = acpi_map_sdt(pa, NULL, &len);
	if (!h) {
		acpi_record_table(pa, acpi_map(pa, sizeof(*h)), false);
		return;
	}
	acpi_record_table(pa, h, true);

	if (memcmp(h->signature, "APIC", 4) == 0) {
		if (acpi.madt.present)
			pr_warn("ACPI: second MADT at %#llx ignored\n", (unsigned long long)pa);
		else
			acpi_parse_madt(h, len);
	} else if (memcmp(h->signature, "FACP", 4) == 0) {
		if (acpi.fadt.present)
			pr_warn("ACPI: second FADT at %#llx ignored\n", (unsigned long long)pa);
		else
			acpi_parse_fadt(h, len);
	} else if (memcmp(h->signature, "HPET", 4) == 0) {
		/* Machines with several timer blocks list one table each; the first serves. */
		if (!acpi.hpet.present)
			acpi_parse_hpet(h, len);
	}
}

/* The XSDT (64-bit entries) or RSDT (32-bit entries) at pa (ACPI 6.4 §5.2.7, §5.2.8). */
static int parse_root(hpa_t pa, bool xsdt)
{
	const char *name = xsdt ? "XSDT" : "RSDT";
	size_t width = xsdt ? sizeof(u64) : sizeof(u32);
	const struct acpi_sdt_header *h;
	const u8 *entries;
	u32 len, n, i;

	h = acpi_map_sdt(pa, name, &len);
	if (!h)
		return -EIO;
	acpi.root_pa = pa;
	acpi.root_is_xsdt = xsdt;
	acpi_record_table(pa, h, true);

	/* The count comes from the validated length alone, so it can never run past the table. */
	n = (len - sizeof(*h)) / width;
	if ((len - sizeof(*h)) % width)
		pr_warn("ACPI: %s: %u trailing bytes after the last entry ignored\n", name,
			(u32)((len - sizeof(*h)) % width));
	if (n > ACPI_MAX_TABLES) {
		pr_warn("ACPI: %s lists %u tables; only the first %u are examined\n", name, n, ACPI_MAX_TABLES);
		acpi.dropped_tables += n - ACPI_MAX_TABLES;
		n = ACPI_MAX_TABLES;
	}
	entries = (const u8 *)h + sizeof(*h);
	for (i = 0; i < n; i++) {
		u64 entry = 0;

		/* Entries are unaligned in general (the table itself may sit at any byte). */
		memcpy(&entry, entries + (size_t)i * width, width);
		parse_entry(name, i, entry);
	}
	return 0;
}

/*
 * Returns how many bytes of the RSDP can be trusted: 20 (use the RSDT) or 36 (the XSDT address
 * is valid too), or -EINVAL.
 */
static int rsdp_validate(const u8 *p, u32 avail)
{
	const struct acpi_rsdp *r = (const void *)p;

	if (avail < ACPI_RSDP_V1_LEN) {
		pr_warn("ACPI: RSDP copy is only %u bytes long, ignored\n", avail);
		return -EINVAL;
	}
	if (memcmp(r->signature, ACPI_RSDP_SIG, sizeof(r->signature)) != 0) {
		pr_warn("ACPI: RSDP has a bad signature, ignored\n");
		return -EINVAL;
	}
	if (acpi_checksum(p, ACPI_RSDP_V1_LEN)) {
		pr_warn("ACPI: RSDP has a bad checksum, ignored\n");
		return -EINVAL;
	}
	if (r->revision < 2)
		return ACPI_RSDP_V1_LEN;
	if (avail < ACPI_RSDP_V2_LEN) {
		pr_warn("ACPI: revision %u RSDP but only %u bytes given; using the RSDT\n", r->revision, avail);
		return ACPI_RSDP_V1_LEN;
	}
	if (r->length != ACPI_RSDP_V2_LEN) {
		pr_warn("ACPI: RSDP length %u (expected %u); using the RSDT\n", r->length, ACPI_RSDP_V2_LEN);
		return ACPI_RSDP_V1_LEN;
	}
	if (acpi_checksum(p, ACPI_RSDP_V2_LEN)) {
		pr_warn("ACPI: RSDP has a bad extended checksum; using the RSDT\n");
		return ACPI_RSDP_V1_LEN;
	}
	return ACPI_RSDP_V2_LEN;
}

int acpi_init(const u8 *rsdp, u32 rsdp_len)
{
	struct acpi_rsdp r;
	int usable;

	memset(&acpi, 0, sizeof(acpi));
	if (!rsdp || !rsdp_len) {
		pr_warn("ACPI: no RSDP\n");
		return -ENOENT;
	}
	usable = rsdp_validate(rsdp, rsdp_len);
	if (usable < 0)
		return usable;
	memset(&r, 0, sizeof(r));
	memcpy(&r, rsdp, (size_t)usable);
	acpi.rsdp_revision = r.revision;
	copy_printable(acpi.oem_id, r.oem_id, sizeof(r.oem_id));

	if (usable == ACPI_RSDP_V2_LEN && r.xsdt_address) {
		if (parse_root(r.xsdt_address, true) == 0)
			goto done;
		if (!r.rsdt_address)
			return -EIO;
		pr_warn("ACPI: XSDT unusable, falling back to the RSDT\n");
	}
	if (!r.rsdt_address) {
		pr_warn("ACPI: RSDP gives no root table\n");
		return -EIO;
	}
	if (parse_root(r.rsdt_address, false) != 0)
		return -EIO;
done:
	acpi.present = true;
	if (!acpi.madt.present)
		pr_warn("ACPI: no usable MADT: CPUs and IOAPICs unknown\n");
	if (!acpi.fadt.present)
		pr_warn("ACPI: no usable FADT: no ACPI reset, poweroff or PM timer\n");
	return 0;
}

static int scan_rsdp(hpa_t base, size_t size, u8 out[36], u32 *len)
{
	const u8 *p = acpi_map(base, size);
	size_t off;

	if (!p)
		return -ENOENT;
	for (off = 0; off + ACPI_RSDP_V1_LEN <= size; off += RSDP_ALIGN) {
		const struct acpi_rsdp *r = (const void *)(p + off);
		u32 n = ACPI_RSDP_V1_LEN;

		if (memcmp(r->signature, ACPI_RSDP_SIG, sizeof(r->signature)) != 0 ||
		    acpi_checksum(p + off, ACPI_RSDP_V1_LEN) != 0)
			continue;
		if (r->revision >= 2 && size - off >= ACPI_RSDP_V2_LEN)
			n = ACPI_RSDP_V2_LEN;
		memset(out, 0, ACPI_RSDP_V2_LEN);
		memcpy(out, p + off, n);
		*len = n;
		pr_debug("ACPI: RSDP found at %#llx\n", (unsigned long long)(base + off));
		return 0;
	}
	return -ENOENT;
}

int acpi_find_rsdp_bios(u8 out[36], u32 *len)
{
	const u8 *bda = acpi_map(BDA_EBDA_SEGMENT, sizeof(u16));

	if (bda) {
		hpa_t ebda = (hpa_t)(bda[0] | bda[1] << 8) << 4;

		if (ebda >= EBDA_MIN && ebda + EBDA_SCAN_LEN <= EBDA_END &&
		    scan_rsdp(ebda, EBDA_SCAN_LEN, out, len) == 0)
			return 0;
	}
	return scan_rsdp(BIOS_AREA_BASE, BIOS_AREA_LEN, out, len);
}
