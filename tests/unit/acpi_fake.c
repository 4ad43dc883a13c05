/* SPDX-License-Identifier: MIT */
#include "shim.h"

#include "acpi_fake.h"
#include "kernel/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ACPI_DATA_DIR
#define ACPI_DATA_DIR "tests/unit/data/acpi"
#endif

#define MAX_REGIONS 64
#define RELOC_BASE  0x40000000 /* above every captured table */

struct capture cap;
static struct fake_region regions[MAX_REGIONS];
static unsigned int nr_regions;
static u8 *saved[MAX_REGIONS];
static struct capture saved_cap;
static hpa_t next_pa = RELOC_BASE;

const void *acpi_map(hpa_t pa, size_t len)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++) {
		const struct fake_region *r = &regions[i];

		if (pa >= r->pa && pa - r->pa <= r->len && len <= r->len - (pa - r->pa))
			return r->buf + (pa - r->pa);
	}
	return NULL;
}

void *acpi_map_mmio(hpa_t pa, size_t len)
{
	return NULL;
}

void fake_clear(void)
{
	while (nr_regions) {
		nr_regions--;
		free(regions[nr_regions].buf);
		free(saved[nr_regions]);
		saved[nr_regions] = NULL;
	}
	next_pa = RELOC_BASE;
	memset(&cap, 0, sizeof(cap));
	shim_log_reset();
}

struct fake_region *fake_add(hpa_t pa, const void *data, size_t len, const char *sig)
{
	struct fake_region *r;

	assert_true(nr_regions < MAX_REGIONS);
	r = &regions[nr_regions++];
	r->pa = pa;
	r->len = len;
	r->buf = malloc(len ? len : 1);
	assert_non_null(r->buf);
	if (data)
		memcpy(r->buf, data, len);
	else
		memset(r->buf, 0, len);
	snprintf(r->sig, sizeof(r->sig), "%s", sig);
	return r;
}

struct fake_region *fake_find(const char *sig)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++)
		if (strcmp(regions[i].sig, sig) == 0)
			return &regions[i];
	return NULL;
}

struct fake_region *fake_region(unsigned int i)
{
	return i < nr_regions ? &regions[i] : NULL;
}

void fake_snapshot(void)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++) {
		free(saved[i]);
		saved[i] = malloc(regions[i].len ? regions[i].len : 1);
		assert_non_null(saved[i]);
		memcpy(saved[i], regions[i].buf, regions[i].len);
	}
	saved_cap = cap;
}

void fake_restore(void)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++)
		if (saved[i])
			memcpy(regions[i].buf, saved[i], regions[i].len);
	cap = saved_cap;
}

void fake_fix_checksum(struct fake_region *r)
{
	r->buf[9] = 0;
	r->buf[9] = (u8)-acpi_checksum(r->buf, r->len);
}

void fake_fix_rsdp(void)
{
	cap.rsdp[offsetof(struct acpi_rsdp, checksum)] = 0;
	cap.rsdp[offsetof(struct acpi_rsdp, checksum)] = (u8)-acpi_checksum(cap.rsdp, ACPI_RSDP_V1_LEN);
	if (cap.rsdp_len >= ACPI_RSDP_V2_LEN) {
		cap.rsdp[offsetof(struct acpi_rsdp, ext_checksum)] = 0;
		cap.rsdp[offsetof(struct acpi_rsdp, ext_checksum)] = (u8)-acpi_checksum(cap.rsdp, ACPI_RSDP_V2_LEN);
	}
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

void fake_load(const char *name)
{
	char path[512], line[256], sig[8], file[64];
	unsigned long long pa;
	unsigned int len;
	FILE *f;

	fake_clear();
	snprintf(path, sizeof(path), "%s/%s/tables.txt", ACPI_DATA_DIR, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		size_t n;
		void *data;

		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%7s %llx %u %63s", sig, &pa, &len, file), 4);
		snprintf(path, sizeof(path), "%s/%s/%s", ACPI_DATA_DIR, name, file);
		data = read_file(path, &n);
		assert_int_equal(n, len);
		if (strcmp(sig, "RSDP") == 0) {
			assert_true(n <= sizeof(cap.rsdp));
			memcpy(cap.rsdp, data, n);
			cap.rsdp_len = (u32)n;
			cap.rsdp_pa = pa;
		} else {
			fake_add(pa, data, n, sig);
		}
		free(data);
	}
	fclose(f);
	assert_int_not_equal(cap.rsdp_len, 0);
}

static void repoint(struct fake_region *root, size_t width, hpa_t from, hpa_t to)
{
	size_t off;

	for (off = sizeof(struct acpi_sdt_header); off + width <= root->len; off += width) {
		u64 v = 0;

		memcpy(&v, root->buf + off, width);
		if (v == from)
			memcpy(root->buf + off, &to, width);
	}
	fake_fix_checksum(root);
}

struct fake_region *fake_relocate(const char *sig, size_t new_len)
{
	struct fake_region *old = fake_find(sig), *r, *t;
	hpa_t old_pa;
	u32 len32 = (u32)new_len;

	assert_non_null(old);
	old_pa = old->pa;
	r = fake_add(next_pa, NULL, new_len, "");
	memcpy(r->buf, old->buf, MIN(old->len, new_len));
	if (new_len >= 8)
		memcpy(r->buf + 4, &len32, sizeof(len32));
	next_pa += ALIGN_UP(new_len, 0x1000) + 0x1000;
	/* The old copy keeps its signature name; the new one takes over lookups. */
	snprintf(old->sig, sizeof(old->sig), "old");
	snprintf(r->sig, sizeof(r->sig), "%s", sig);

	if (strcmp(sig, "RSDT") == 0) {
		u32 v = (u32)r->pa;

		memcpy(cap.rsdp + offsetof(struct acpi_rsdp, rsdt_address), &v, sizeof(v));
		fake_fix_rsdp();
	}
	if (strcmp(sig, "XSDT") == 0) {
		memcpy(cap.rsdp + offsetof(struct acpi_rsdp, xsdt_address), &r->pa, sizeof(r->pa));
		fake_fix_rsdp();
	}
	if ((t = fake_find("RSDT")) != NULL && t != r)
		repoint(t, 4, old_pa, r->pa);
	if ((t = fake_find("XSDT")) != NULL && t != r)
		repoint(t, 8, old_pa, r->pa);
	if (strcmp(sig, "DSDT") == 0 && (t = fake_find("FACP")) != NULL) {
		u32 d32 = (u32)r->pa;
		u64 d64 = r->pa;

		memcpy(t->buf + offsetof(struct acpi_fadt, dsdt), &d32, sizeof(d32));
		if (t->len >= offsetof(struct acpi_fadt, x_dsdt) + sizeof(d64))
			memcpy(t->buf + offsetof(struct acpi_fadt, x_dsdt), &d64, sizeof(d64));
		fake_fix_checksum(t);
	}
	return r;
}

int fake_init(void)
{
	return acpi_init(cap.rsdp, cap.rsdp_len);
}

void fake_put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

void fake_put64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

bool fake_warned(const char *text)
{
	return shim_log_count[LOG_WARN] > 0 && shim_log_contains(text);
}

int fake_teardown(void **state)
{
	fake_clear();
	return 0;
}
