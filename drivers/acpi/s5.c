/* SPDX-License-Identifier: MIT */
/*
 * \_S5_ from the DSDT without an AML interpreter. The object is almost always defined as
 *   NameOp [RootChar] '_S5_' PackageOp PkgLength NumElements SLP_TYPa SLP_TYPb ...
 * (ACPI 6.4 §20.2.5.1 DefName, §20.2.5.4 DefPackage, §20.2.4 PkgLength), so a byte search
 * for the name followed by a PackageOp finds it. Everything read is bounded by the DSDT's
 * length and by the package's own length: the DSDT is firmware bytes and may be wrong.
 */
#include "drivers/acpi/acpi_hw.h"
#include "drivers/acpi/aml_opcodes.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define S5_NAME	    "_S5_"
#define SLP_TYP_MAX 7 /* a 3-bit field of PM1x_CNT (ACPI 6.4 table 4.13) */

/*
 * PkgLength (§20.2.4): bits 7:6 of the lead byte count the bytes that follow (0-3). With none,
 * bits 5:0 are the length; otherwise bits 3:0 are its low nibble (bits 5:4 must be 0) and each
 * following byte adds 8 more bits. The length counts the PkgLength bytes themselves.
 */
static int decode_pkglength(const u8 *p, size_t avail, size_t *pkglen, size_t *nbytes)
{
	size_t n, i, v;

	if (avail < 1)
		return -EINVAL;
	n = p[0] >> 6;
	if (n == 0) {
		*pkglen = p[0] & 0x3f;
		*nbytes = 1;
		return 0;
	}
	if ((p[0] & 0x30) || avail < 1 + n)
		return -EINVAL;
	v = p[0] & 0x0f;
	for (i = 1; i <= n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*pkglen = v;
	*nbytes = 1 + n;
	return 0;
}

/* One integer package element at p[*pos], not reading at or past p[end]. */
static int decode_integer(const u8 *p, size_t end, size_t *pos, u64 *val)
{
	size_t size, i;
	u8 op;

	if (*pos >= end)
		return -EINVAL;
	op = p[(*pos)++];
	switch (op) {
	case AML_ZERO_OP:
		*val = 0;
		return 0;
	case AML_ONE_OP:
		*val = 1;
		return 0;
	case AML_BYTE_PREFIX:
		size = 1;
		break;
	case AML_WORD_PREFIX:
		size = 2;
		break;
	case AML_DWORD_PREFIX:
		size = 4;
		break;
	case AML_QWORD_PREFIX:
		size = 8;
		break;
	case AML_ONES_OP:
		return -EINVAL;
	default:
		/* Not valid AML, but some firmware stores the value as a bare byte. */
		*val = op;
		return 0;
	}
	if (end - *pos < size)
		return -EINVAL;
	*val = 0;
	for (i = 0; i < size; i++)
		*val |= (u64)p[*pos + i] << (8 * i);
	*pos += size;
	return 0;
}

/* p points just past the PackageOp, avail bytes remain in the DSDT. */
static int decode_s5_package(const u8 *p, size_t avail, size_t where, u8 *slp_typa, u8 *slp_typb)
{
	size_t pkglen, nbytes, pos;
	u64 a, b;
	u8 count;

	if (decode_pkglength(p, avail, &pkglen, &nbytes)) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: bad package length encoding\n", where);
		return -EINVAL;
	}
	if (pkglen > avail) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: package of %zu bytes runs past the end of "
			"the DSDT (%zu bytes left)\n",
			where, pkglen, avail);
		return -EINVAL;
	}
	if (pkglen < nbytes + 1) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: package length %zu too short\n", where, pkglen);
		return -EINVAL;
	}
	pos = nbytes;
	count = p[pos++];
	if (count < 2) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: %u elements, need 2\n", where, count);
		return -EINVAL;
	}
	if (decode_integer(p, pkglen, &pos, &a) || decode_integer(p, pkglen, &pos, &b)) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: SLP_TYP values truncated or not integers\n", where);
		return -EINVAL;
	}
	if (a > SLP_TYP_MAX || b > SLP_TYP_MAX) {
		pr_warn("ACPI: \\_S5_ at DSDT offset %zu: SLP_TYP %#llx/%#llx out of range\n", where,
			(unsigned long long)a, (unsigned long long)b);
		return -ERANGE;
	}
	*slp_typa = (u8)a;
	*slp_typb = (u8)b;
	return 0;
}

int acpi_aml_find_s5(const u8 *aml, size_t len, u8 *slp_typa, u8 *slp_typb)
{
	size_t i;

	for (i = 0; i + sizeof(S5_NAME) <= len; i++) {
		/* sizeof counts the NUL: room for the name and the PackageOp after it. */
		if (memcmp(aml + i, S5_NAME, sizeof(S5_NAME) - 1) != 0 ||
		    aml[i + sizeof(S5_NAME) - 1] != AML_PACKAGE_OP)
			continue;
		/* A definition (NameOp before the name), not a reference to it. */
		if (!(i >= 1 && aml[i - 1] == AML_NAME_OP) &&
		    !(i >= 2 && aml[i - 1] == AML_ROOT_CHAR && aml[i - 2] == AML_NAME_OP))
			continue;
		return decode_s5_package(aml + i + sizeof(S5_NAME), len - i - sizeof(S5_NAME), i, slp_typa, slp_typb);
	}
	return -ENOENT;
}
