/* SPDX-License-Identifier: MIT */
/*
 * A small AML emitter (ACPI 6.4 chapter 20, §6.4 for resource descriptors): enough to write the
 * DSDT of a VM's platform. Objects that carry a PkgLength (scopes, devices, packages, buffers)
 * are opened and closed: aml_open() reserves the longest PkgLength, aml_close() writes the
 * shortest encoding that fits and moves the body down. A pure writer into a caller buffer;
 * running out of room sets `err` once and later calls do nothing, so a caller checks once at
 * the end (tests/unit/test_aml.c decodes what it writes).
 */
#ifndef KEEL_VMM_AML_H
#define KEEL_VMM_AML_H

#include "drivers/acpi/aml_opcodes.h"
#include "kernel/types.h"

#define AML_MAX_DEPTH 8

struct aml {
	u8 *buf;
	u32 cap, len;
	int err; /* 0, -ENOSPC (out of room) or -EINVAL (bad name, nesting) */
	u32 depth;
	u32 open[AML_MAX_DEPTH]; /* where each open object's PkgLength goes */
};

/* buf NULL: nothing is written, len counts what would be (to size a table first). */
void aml_init(struct aml *a, u8 *buf, u32 cap);
/* Returns the length written, or a negative error. */
int aml_finish(const struct aml *a);

/* NameString: "\_SB_.PCI0" style, segments of 1-4 characters padded with '_', optional leading
 * '\' (root) or '^' (parent). */
void aml_namestring(struct aml *a, const char *path);
/* The shortest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, u64 v);
/* Name (path, <what follows>): the caller emits the object next. */
void aml_name(struct aml *a, const char *path);
void aml_name_int(struct aml *a, const char *path, u64 v);
/* A compressed EISA ID ("PNP0A08") as a DWordConst (§6.1.5, the EISAID macro). */
void aml_eisaid(struct aml *a, const char *id);
/* Scope (path) {, Device (path) {, Package (n) { and Buffer () { ... }: close with aml_close(). */
void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *path);
void aml_package(struct aml *a, u8 nr_elements);
void aml_buffer(struct aml *a); /* BufferSize is set by aml_close() */
void aml_close(struct aml *a);
void aml_bytes(struct aml *a, const void *p, u32 n);

/* Resource descriptors (ACPI 6.4 §6.4), written into an open Buffer. Producer windows (a bridge's
 * _CRS), minimum and maximum fixed, positive decode. */
enum aml_mem_kind { AML_MEM_UNCACHED, AML_MEM_CACHEABLE };
void aml_res_io(struct aml *a, u16 base, u8 len);				 /* IO (Decode16) */
void aml_res_word_bus(struct aml *a, u16 first, u16 last);			 /* WordBusNumber */
void aml_res_word_io(struct aml *a, u16 first, u16 last);			 /* WordIO, entire range */
void aml_res_dword_mem(struct aml *a, u32 first, u32 last, enum aml_mem_kind k); /* DWordMemory, RW */
void aml_res_qword_mem(struct aml *a, u64 first, u64 last, enum aml_mem_kind k); /* QWordMemory, RW */
/* The End Tag, with the checksum that makes the template (from `start`, an offset in buf) sum to 0. */
void aml_res_end(struct aml *a, u32 start);

/* Resource descriptor tags and flags (ACPI 6.4 §6.4). */
#define AML_RES_IO	       0x47 /* small item 08h, length 7 */
#define AML_RES_END	       0x79 /* small item 0Fh, length 1 */
#define AML_RES_DWORD_ADDR     0x87
#define AML_RES_WORD_ADDR      0x88
#define AML_RES_QWORD_ADDR     0x8a
#define AML_RES_TYPE_MEM       0
#define AML_RES_TYPE_IO	       1
#define AML_RES_TYPE_BUS       2
#define AML_RES_FLAG_MIN_FIXED (1u << 2)
#define AML_RES_FLAG_MAX_FIXED (1u << 3)

#endif
