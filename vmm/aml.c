/* SPDX-License-Identifier: MIT */
/*
 * The AML emitter (see aml.h). Encodings: PkgLength §20.2.4, NameString §20.2.2, integer
 * constants §20.2.3, DefScope/DefDevice/DefPackage/DefBuffer §20.2.5; resource descriptors and
 * their End Tag checksum ACPI 6.4 §6.4.2.9, §6.4.3.5.
 */
#include "vmm/aml.h"

#include "kernel/lib/string.h"

#define PKGLEN_MAX_BYTES 4
#define PKGLEN_LIMIT	 (1u << 28) /* 4 bytes: 4 + 8 + 8 + 8 bits */
#define NAMESEG_LEN	 4
#define MAX_SEGS	 255
#define BUFSIZE_LEN	 3 /* the WordConst holding a Buffer's size */

/* Each open object: where its PkgLength goes and whether it is a Buffer (a size follows). */
#define OPEN_BUFFER (1u << 31)

void aml_init(struct aml *a, u8 *buf, u32 cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

int aml_finish(const struct aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : (int)a->len;
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_bytes(struct aml *a, const void *p, u32 n)
{
	if (a->err)
		return;
	if (!a->buf) {
		a->len += n; /* measuring */
		return;
	}
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, u8 v)
{
	aml_bytes(a, &v, 1);
}

static void put_le(struct aml *a, u64 v, unsigned n)
{
	u8 b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (u8)(v >> (8 * i));
	aml_bytes(a, b, n);
}

static bool seg_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
	u8 segs[MAX_SEGS][NAMESEG_LEN];
	unsigned n = 0;
	const char *p = path;

	if (*p == AML_ROOT_CHAR) {
		put8(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_CHAR) {
			put8(a, AML_PARENT_CHAR);
			p++;
		}
	}
	while (*p) {
		unsigned i = 0;

		if (n == MAX_SEGS) {
			fail(a, -EINVAL);
			return;
		}
		for (; *p && *p != '.'; p++, i++) {
			if (i == NAMESEG_LEN || !seg_char(*p, i == 0)) {
				fail(a, -EINVAL);
				return;
			}
			segs[n][i] = (u8)*p;
		}
		if (!i) {
			fail(a, -EINVAL); /* empty segment: "..", a trailing '.' */
			return;
		}
		for (; i < NAMESEG_LEN; i++)
			segs[n][i] = '_';
		n++;
		if (*p == '.' && !*++p) {
			fail(a, -EINVAL);
			return;
		}
	}
	if (n == 0) {
		put8(a, 0); /* NullName */
		return;
	}
	if (n == 2) {
		put8(a, AML_DUAL_NAME_PREFIX);
	} else if (n > 2) {
		put8(a, AML_MULTI_NAME_PREFIX);
		put8(a, (u8)n);
	}
	aml_bytes(a, segs, n * NAMESEG_LEN);
}

void aml_integer(struct aml *a, u64 v)
{
	if (v == 0) {
		put8(a, AML_ZERO_OP);
	} else if (v == 1) {
		put8(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		put8(a, AML_BYTE_PREFIX);
		put8(a, (u8)v);
	} else if (v <= 0xffff) {
		put8(a, AML_WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		put8(a, AML_DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		put8(a, AML_QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_name(struct aml *a, const char *path)
{
	put8(a, AML_NAME_OP);
	aml_namestring(a, path);
}

void aml_name_int(struct aml *a, const char *path, u64 v)
{
	aml_name(a, path);
	aml_integer(a, v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	u32 v = 0;

	/* Three upper-case letters, 5 bits each ('A' = 1), then four hex digits. */
	for (unsigned i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v = v << 5 | (u32)(id[i] - 'A' + 1);
	}
	for (unsigned i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0) {
			fail(a, -EINVAL);
			return;
		}
		v = v << 4 | (u32)h;
	}
	if (id[7]) {
		fail(a, -EINVAL);
		return;
	}
	/* 31 bits, most significant first in memory: the DWordConst holds them byte-swapped. */
	aml_integer(a, __builtin_bswap32(v));
}

static void open_obj(struct aml *a, u32 flags)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL);
		return;
	}
	a->open[a->depth++] = a->len | flags;
	aml_bytes(a, (const u8[PKGLEN_MAX_BYTES]){ 0 }, PKGLEN_MAX_BYTES);
}

void aml_scope(struct aml *a, const char *path)
{
	put8(a, AML_SCOPE_OP);
	open_obj(a, 0);
	aml_namestring(a, path);
}

void aml_device(struct aml *a, const char *path)
{
	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_DEVICE_OP);
	open_obj(a, 0);
	aml_namestring(a, path);
}

void aml_package(struct aml *a, u8 nr_elements)
{
	put8(a, AML_PACKAGE_OP);
	open_obj(a, 0);
	put8(a, nr_elements);
}

void aml_buffer(struct aml *a)
{
	put8(a, AML_BUFFER_OP);
	open_obj(a, OPEN_BUFFER);
	put8(a, AML_WORD_PREFIX); /* BufferSize, patched by aml_close() */
	put_le(a, 0, 2);
}

void aml_close(struct aml *a)
{
	u32 at, body, total, n;

	if (a->err)
		return;
	if (!a->depth) {
		fail(a, -EINVAL);
		return;
	}
	at = a->open[--a->depth];
	if (at & OPEN_BUFFER) {
		u32 data = a->len - ((at & ~OPEN_BUFFER) + PKGLEN_MAX_BYTES + BUFSIZE_LEN);

		at &= ~OPEN_BUFFER;
		if (data > 0xffff) {
			fail(a, -EINVAL);
			return;
		}
		if (a->buf)
			a->buf[at + PKGLEN_MAX_BYTES + 1] = (u8)data;
		if (a->buf)
			a->buf[at + PKGLEN_MAX_BYTES + 2] = (u8)(data >> 8);
	}
	body = a->len - (at + PKGLEN_MAX_BYTES);
	/* The shortest PkgLength: one byte up to 63, else 1-3 more bytes after a lead byte holding
	 * the low nibble; the length counts the PkgLength itself. */
	for (n = 1; n <= PKGLEN_MAX_BYTES; n++) {
		total = body + n;
		if (n == 1 ? total <= 0x3f : total < (1u << (4 + 8 * (n - 1))))
			break;
	}
	if (n > PKGLEN_MAX_BYTES || total >= PKGLEN_LIMIT) {
		fail(a, -EINVAL);
		return;
	}
	a->len -= PKGLEN_MAX_BYTES - n;
	if (!a->buf)
		return;
	memmove(a->buf + at + n, a->buf + at + PKGLEN_MAX_BYTES, body);
	if (n == 1) {
		a->buf[at] = (u8)total;
		return;
	}
	a->buf[at] = (u8)((n - 1) << 6 | (total & 0xf));
	for (u32 i = 1; i < n; i++)
		a->buf[at + i] = (u8)(total >> (4 + 8 * (i - 1)));
}

void aml_res_io(struct aml *a, u16 base, u8 len)
{
	const u8 d[] = { AML_RES_IO, 1 /* Decode16 */, (u8)base,	  (u8)(base >> 8),
			 (u8)base,   (u8)(base >> 8),  1 /* alignment */, len };

	aml_bytes(a, d, sizeof(d));
}

/* Address space descriptors (§6.4.3.5.1-3): tag, length, type, general flags, type-specific
 * flags, then granularity, minimum, maximum, translation offset and length, each `w` bytes. */
static void res_addr(struct aml *a, u8 tag, unsigned w, u8 type, u8 tflags, u64 first, u64 last)
{
	u16 len = (u16)(3 + 5 * w);

	put8(a, tag);
	put_le(a, len, 2);
	put8(a, type);
	put8(a, AML_RES_FLAG_MIN_FIXED | AML_RES_FLAG_MAX_FIXED); /* producer, positive decode */
	put8(a, tflags);
	put_le(a, 0, w); /* granularity */
	put_le(a, first, w);
	put_le(a, last, w);
	put_le(a, 0, w); /* translation */
	put_le(a, last - first + 1, w);
}

void aml_res_word_bus(struct aml *a, u16 first, u16 last)
{
	res_addr(a, AML_RES_WORD_ADDR, 2, AML_RES_TYPE_BUS, 0, first, last);
}

void aml_res_word_io(struct aml *a, u16 first, u16 last)
{
	res_addr(a, AML_RES_WORD_ADDR, 2, AML_RES_TYPE_IO, 3 /* ISA and non-ISA ranges */, first, last);
}

/* Memory type-specific flags: bit 0 read-write, bits 2:1 00 non-cacheable, 01 cacheable. */
static u8 mem_flags(enum aml_mem_kind k)
{
	return (u8)(1u | (k == AML_MEM_CACHEABLE ? 1u << 1 : 0));
}

void aml_res_dword_mem(struct aml *a, u32 first, u32 last, enum aml_mem_kind k)
{
	res_addr(a, AML_RES_DWORD_ADDR, 4, AML_RES_TYPE_MEM, mem_flags(k), first, last);
}

void aml_res_qword_mem(struct aml *a, u64 first, u64 last, enum aml_mem_kind k)
{
	res_addr(a, AML_RES_QWORD_ADDR, 8, AML_RES_TYPE_MEM, mem_flags(k), first, last);
}

void aml_res_end(struct aml *a, u32 start)
{
	u8 sum = AML_RES_END;

	if (a->err)
		return;
	if (start > a->len) {
		fail(a, -EINVAL);
		return;
	}
	for (u32 i = start; a->buf && i < a->len; i++)
		sum = (u8)(sum + a->buf[i]);
	put8(a, AML_RES_END);
	put8(a, (u8)-sum);
}
