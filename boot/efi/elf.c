/* SPDX-License-Identifier: MIT */
/*
 * Checks a kernel ELF file before anything is copied anywhere. keel.elf is an ELF32 (i386)
 * copy of an ELF64 image (QEMU's -kernel wants that), so both classes are accepted; segments
 * are placed at their physical addresses (p_paddr). Layouts: System V gABI, "ELF header" and
 * "Program header" (the 32- and 64-bit variants differ in field order, not only in width).
 */
#include "boot/efi/loader.h"

#define EI_NIDENT   16
#define ELFCLASS32  1
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define ET_EXEC	    2
#define EM_386	    3
#define EM_X86_64   62
#define PT_LOAD	    1
#define PN_XNUM	    0xffff

struct elf32_ehdr {
	u8 ident[EI_NIDENT];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_ehdr {
	u8 ident[EI_NIDENT];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header layout");
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header layout");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header layout");

/* The kernel is entered on the firmware's identity map, which the contract only promises for
 * the low 4 GiB (kernel/bootinfo.h). */
#define LOAD_LIMIT GiB(4)

/* Reads the common header fields into the 64-bit layout. */
static int read_ehdr(const u8 *f, size_t size, struct elf64_ehdr *eh, const struct diag *d)
{
	if (size < sizeof(struct elf32_ehdr) || f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F') {
		diagf(d, DIAG_ERROR, "not an ELF file (bad magic or shorter than an ELF header)");
		return -EINVAL;
	}
	if (f[4] == ELFCLASS32) {
		struct elf32_ehdr e;

		memcpy(&e, f, sizeof(e));
		memcpy(eh->ident, e.ident, EI_NIDENT);
		eh->type = e.type;
		eh->machine = e.machine;
		eh->version = e.version;
		eh->entry = e.entry;
		eh->phoff = e.phoff;
		eh->ehsize = e.ehsize;
		eh->phentsize = e.phentsize;
		eh->phnum = e.phnum;
	} else if (f[4] == ELFCLASS64) {
		if (size < sizeof(struct elf64_ehdr)) {
			diagf(d, DIAG_ERROR, "ELF64 file shorter than its header (%zu bytes)", size);
			return -EINVAL;
		}
		memcpy(eh, f, sizeof(*eh));
	} else {
		diagf(d, DIAG_ERROR, "unknown ELF class %u", f[4]);
		return -EINVAL;
	}
	return 0;
}

static int check_ehdr(const struct elf64_ehdr *eh, size_t size, const struct diag *d)
{
	bool is64 = eh->ident[4] == ELFCLASS64;
	size_t ehsize = is64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr);
	size_t phsize = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

	if (eh->ident[5] != ELFDATA2LSB || eh->ident[6] != EV_CURRENT || eh->version != EV_CURRENT) {
		diagf(d, DIAG_ERROR, "not a little-endian ELF version 1 file");
		return -EINVAL;
	}
	if (eh->type != ET_EXEC) {
		diagf(d, DIAG_ERROR, "ELF type %u is not an executable (ET_EXEC)", eh->type);
		return -EINVAL;
	}
	/* ELF32 copies of x86-64 kernels say EM_386; an ELF64 can only be x86-64. */
	if (eh->machine != EM_X86_64 && (is64 || eh->machine != EM_386)) {
		diagf(d, DIAG_ERROR, "ELF machine %u is not x86 (EM_386 or EM_X86_64)", eh->machine);
		return -EINVAL;
	}
	if (eh->ehsize < ehsize || eh->phentsize < phsize) {
		diagf(d, DIAG_ERROR, "ELF header or program-header size too small (%u, %u)", eh->ehsize, eh->phentsize);
		return -EINVAL;
	}
	if (eh->phnum == 0 || eh->phnum == PN_XNUM) {
		diagf(d, DIAG_ERROR, "ELF file has %s program headers", eh->phnum ? "extended" : "no");
		return -EINVAL;
	}
	if (eh->phoff > size || (size - eh->phoff) / eh->phentsize < eh->phnum) {
		diagf(d, DIAG_ERROR,
		      "program headers (offset %#llx, %u x %u bytes) run past the end of the %zu-byte file",
		      (unsigned long long)eh->phoff, eh->phnum, eh->phentsize, size);
		return -EINVAL;
	}
	return 0;
}

static void read_phdr(const u8 *f, const struct elf64_ehdr *eh, unsigned i, struct elf64_phdr *ph)
{
	const u8 *p = f + eh->phoff + (size_t)i * eh->phentsize;

	if (eh->ident[4] == ELFCLASS64) {
		memcpy(ph, p, sizeof(*ph));
	} else {
		struct elf32_phdr p32;

		memcpy(&p32, p, sizeof(p32));
		*ph = (struct elf64_phdr){ .type = p32.type,
					   .flags = p32.flags,
					   .offset = p32.offset,
					   .vaddr = p32.vaddr,
					   .paddr = p32.paddr,
					   .filesz = p32.filesz,
					   .memsz = p32.memsz,
					   .align = p32.align };
	}
}

static int add_segment(struct elf_image *img, const struct elf64_phdr *ph, unsigned i, size_t size,
		       const struct diag *d)
{
	struct elf_segment *s;
	u32 at;

	if (ph->filesz > ph->memsz) {
		diagf(d, DIAG_ERROR, "segment %u: file size %#llx exceeds memory size %#llx", i,
		      (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
		return -EINVAL;
	}
	if (ph->offset > size || size - ph->offset < ph->filesz) {
		diagf(d, DIAG_ERROR, "segment %u: bytes %#llx-%#llx lie outside the %zu-byte file", i,
		      (unsigned long long)ph->offset, (unsigned long long)(ph->offset + ph->filesz), size);
		return -EINVAL;
	}
	if (ph->paddr >= LOAD_LIMIT || LOAD_LIMIT - ph->paddr < ph->memsz) {
		diagf(d, DIAG_ERROR, "segment %u: physical range %#llx+%#llx is not below 4 GiB", i,
		      (unsigned long long)ph->paddr, (unsigned long long)ph->memsz);
		return -EINVAL;
	}
	if (img->nr_segments == ELF_MAX_SEGMENTS) {
		diagf(d, DIAG_ERROR, "more than %d loadable segments", ELF_MAX_SEGMENTS);
		return -EINVAL;
	}
	/* Insert sorted by physical address, refusing overlaps. */
	for (at = 0; at < img->nr_segments && img->seg[at].paddr < ph->paddr; at++)
		;
	if ((at > 0 && img->seg[at - 1].paddr + img->seg[at - 1].memsz > ph->paddr) ||
	    (at < img->nr_segments && ph->paddr + ph->memsz > img->seg[at].paddr)) {
		diagf(d, DIAG_ERROR, "segment %u at %#llx+%#llx overlaps another segment", i,
		      (unsigned long long)ph->paddr, (unsigned long long)ph->memsz);
		return -EINVAL;
	}
	for (u32 j = img->nr_segments; j > at; j--)
		img->seg[j] = img->seg[j - 1];
	s = &img->seg[at];
	*s = (struct elf_segment){
		.offset = ph->offset, .paddr = ph->paddr, .filesz = ph->filesz, .memsz = ph->memsz, .flags = ph->flags
	};
	img->nr_segments++;
	return 0;
}

/* Looks for the Keel image header on 8-byte boundaries in the first 32 KiB of the file. */
static int find_header(const u8 *f, size_t size, struct keel_image_header *hdr, const struct diag *d)
{
	size_t limit = MIN(size, (size_t)KEEL_HEADER_SCAN);

	for (size_t off = 0; off + sizeof(*hdr) <= limit; off += 8) {
		u64 magic;

		memcpy(&magic, f + off, sizeof(magic));
		if (magic != KEEL_IMAGE_MAGIC)
			continue;
		memcpy(hdr, f + off, sizeof(*hdr));
		if (hdr->version < 1 || hdr->header_size < sizeof(*hdr)) {
			diagf(d, DIAG_ERROR, "Keel image header at file offset %#zx: version %u, size %u not supported",
			      off, hdr->version, hdr->header_size);
			return -EINVAL;
		}
		return 0;
	}
	diagf(d, DIAG_ERROR, "no Keel image header (magic KEELIMG1) in the first %d KiB: not a Keel kernel",
	      KEEL_HEADER_SCAN / 1024);
	return -EINVAL;
}

static int check_header(const struct elf_image *img, const struct diag *d)
{
	const struct keel_image_header *h = &img->hdr;
	const struct elf_segment *lo = &img->seg[0], *hi = &img->seg[img->nr_segments - 1];

	/* load_start/load_end are informational; when given, they must agree with the segments. */
	if ((h->load_start || h->load_end) && (h->load_start > lo->paddr || h->load_end < hi->paddr + hi->memsz)) {
		diagf(d, DIAG_ERROR, "image header range %#llx-%#llx does not cover the segments %#llx-%#llx",
		      (unsigned long long)h->load_start, (unsigned long long)h->load_end, (unsigned long long)lo->paddr,
		      (unsigned long long)(hi->paddr + hi->memsz));
		return -EINVAL;
	}
	for (u32 i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (h->efi_entry >= s->paddr && h->efi_entry < s->paddr + s->filesz && (s->flags & ELF_PF_X))
			return 0;
	}
	diagf(d, DIAG_ERROR, "entry point %#llx is not inside an executable segment's code",
	      (unsigned long long)h->efi_entry);
	return -EINVAL;
}

int elf_load_info(const void *file, size_t size, struct elf_image *img, const struct diag *d)
{
	const u8 *f = file;
	struct elf64_ehdr eh;
	int err;

	memset(img, 0, sizeof(*img));
	err = read_ehdr(f, size, &eh, d);
	if (!err)
		err = check_ehdr(&eh, size, d);
	if (err)
		return err;
	img->class_bits = eh.ident[4] == ELFCLASS64 ? 64 : 32;
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;

		read_phdr(f, &eh, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		err = add_segment(img, &ph, i, size, d);
		if (err)
			return err;
	}
	if (!img->nr_segments) {
		diagf(d, DIAG_ERROR, "ELF file has no loadable segment");
		return -EINVAL;
	}
	err = find_header(f, size, &img->hdr, d);
	if (!err)
		err = check_header(img, d);
	return err;
}

u32 elf_page_ranges(const struct elf_image *img, struct phys_range *out, u32 max)
{
	u32 n = 0;

	for (u32 i = 0; i < img->nr_segments; i++) {
		u64 start = ALIGN_DOWN(img->seg[i].paddr, PAGE_SIZE);
		u64 end = ALIGN_UP(img->seg[i].paddr + img->seg[i].memsz, PAGE_SIZE);

		/* Sorted and disjoint, so only the previous range can touch this one. */
		if (n && out[n - 1].base + out[n - 1].pages * PAGE_SIZE >= start) {
			u64 prev_end = out[n - 1].base + out[n - 1].pages * PAGE_SIZE;

			if (end > prev_end)
				out[n - 1].pages = (end - out[n - 1].base) / PAGE_SIZE;
			continue;
		}
		if (n == max)
			break;
		out[n++] = (struct phys_range){ start, (end - start) / PAGE_SIZE };
	}
	return n;
}
