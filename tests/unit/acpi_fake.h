/* SPDX-License-Identifier: MIT */
/*
 * Fake physical memory for the ACPI tests: each captured table sits at the physical address it
 * had in QEMU, in its own heap block of exactly its length (so ASan sees any read past it), and
 * acpi_map() returns NULL for every address no block covers.
 */
#ifndef KEEL_TEST_ACPI_FAKE_H
#define KEEL_TEST_ACPI_FAKE_H

#include "drivers/acpi/acpi_hw.h"

struct fake_region {
	hpa_t pa;
	size_t len;
	u8 *buf;
	char sig[5];
};

/* The capture loaded last: its RSDP copy (as a loader would pass it) and where it was. */
struct capture {
	u8 rsdp[36];
	u32 rsdp_len;
	hpa_t rsdp_pa;
};
extern struct capture cap;

/* Loads tests/unit/data/acpi/<name>/ into fake memory (the RSDP only into `cap`). */
void fake_load(const char *name);
/* Drops every region and resets the log. */
void fake_clear(void);
/* Maps len bytes of data at pa (copied); returns the copy for the test to modify. */
struct fake_region *fake_add(hpa_t pa, const void *data, size_t len, const char *sig);
/* The first region holding the table with this signature ("RSDT", "APIC", ...). */
struct fake_region *fake_find(const char *sig);
/* Makes the table's bytes (over the region's length) sum to 0 again. */
void fake_fix_checksum(struct fake_region *r);
/* Recomputes the checksums of cap.rsdp after an edit. */
void fake_fix_rsdp(void);
/*
 * Moves the table `sig` to a new region of new_len bytes at a fresh address, copying what fits
 * (the header length field is set to new_len), and repoints whatever referred to it (RSDT/XSDT
 * entries; the RSDP for a root table; the FADT for the DSDT), fixing their checksums. Returns
 * the new region; the caller fixes its checksum after editing it.
 */
struct fake_region *fake_relocate(const char *sig, size_t new_len);
/* Saves every region's bytes and the RSDP; fake_restore() puts them back (for mutation runs). */
void fake_snapshot(void);
void fake_restore(void);
/* Region i (in load order), or NULL past the last. */
struct fake_region *fake_region(unsigned int i);
/* acpi_init() on the loaded capture's RSDP. */
int fake_init(void);
/* Test helpers: unaligned little-endian stores, "a warning was logged and the log has text". */
void fake_put32(u8 *p, u32 v);
void fake_put64(u8 *p, u64 v);
bool fake_warned(const char *text);
/* cmocka teardown: fake_clear(). */
int fake_teardown(void **state);

#define UNMAPPED_PA 0x7fff0000 /* an address no region covers */

#endif
