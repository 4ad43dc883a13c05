/* SPDX-License-Identifier: MIT */
/*
 * Emulated PCI functions: configuration image, BARs, MSI-X (see vpci_dev.h). Every offset, size
 * and value comes from the guest: configuration offsets are < 256 and naturally aligned (the bus
 * guarantees it), BAR offsets are checked against the BAR's size by the bus, and table and PBA
 * accesses are checked here against the entries that exist.
 */
#include "vmm/dev/vpci_dev.h"

#include "kernel/lib/string.h"

#define CFG_HEADER_END	  0x40 /* capabilities live after the type 0 header */
#define BAR_IO_FLAGS	  0x3u
#define BAR_MEM_FLAGS	  0xfu
#define MSIX_BIR_MASK	  0x7u
#define MSIX_PBA_BYTES(n) (ALIGN_UP((u32)(n), 64u) / 8)

static void put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 v)
{
	put16(p, (u16)v);
	put16(p + 2, (u16)(v >> 16));
}

static u16 get16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static u32 get32(const u8 *p)
{
	return get16(p) | (u32)get16(p + 2) << 16;
}

void vpci_dev_init(struct vpci_dev *d, u16 vendor, u16 device, u32 class_code, u8 revision, u16 subsys_vendor,
		   u16 subsys_id)
{
	memset(d, 0, sizeof(*d));
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION] = revision;
	d->cfg[PCI_CLASS_PROG] = (u8)class_code;
	d->cfg[PCI_CLASS_PROG + 1] = (u8)(class_code >> 8);
	d->cfg[PCI_CLASS_PROG + 2] = (u8)(class_code >> 16);
	put16(d->cfg + PCI_SUBSYS_VENDOR, subsys_vendor);
	put16(d->cfg + PCI_SUBSYS_ID, subsys_id);
	put16(d->wmask + PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
	d->wmask[PCI_INT_LINE] = 0xff; /* scratch for the OS (PCI 3.0 §6.2.4) */
}

static bool pow2(u64 v)
{
	return v && !(v & (v - 1));
}

int vpci_dev_add_bar(struct vpci_dev *d, unsigned n, enum vpci_bar_type type, bool prefetch, u64 size)
{
	bool io = type == VPCI_BAR_IO;

	if (n >= VPCI_NR_BARS || d->bar[n].type != VPCI_BAR_NONE || !pow2(size))
		return -EINVAL;
	if (io ? size < VPCI_BAR_MIN_IO || size > VPCI_BAR_MAX_IO || prefetch : size < VPCI_BAR_MIN_MEM)
		return -EINVAL;
	if (type == VPCI_BAR_MEM32 && size > GiB(2))
		return -EINVAL;
	if (type == VPCI_BAR_MEM64 && (n + 1 >= VPCI_NR_BARS || d->bar[n + 1].type != VPCI_BAR_NONE))
		return -EINVAL;
	if (type != VPCI_BAR_IO && type != VPCI_BAR_MEM32 && type != VPCI_BAR_MEM64)
		return -EINVAL;
	d->bar[n] = (struct vpci_bar){ .type = (u8)type, .prefetch = prefetch, .size = size };
	if (type == VPCI_BAR_MEM64)
		d->bar[n + 1] = (struct vpci_bar){ .type = VPCI_BAR_MEM64_HI };
	return 0;
}

/* The capability list: a new capability goes at its head. */
static void link_cap(struct vpci_dev *d, u8 cap, u8 id)
{
	d->cfg[cap] = id;
	d->cfg[cap + 1] = d->cfg[PCI_CAP_PTR];
	d->cfg[PCI_CAP_PTR] = cap;
	put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
}

/* Whether [cap, cap + len) is free for a capability (after the header, unused so far). */
static bool cap_free(const struct vpci_dev *d, u8 cap, unsigned len)
{
	if (cap < CFG_HEADER_END || cap & 3 || cap + len > VPCI_CFG_SIZE)
		return false;
	if (d->msix.cap && cap < d->msix.cap + PCI_MSIX_CAP_LEN && d->msix.cap < cap + len)
		return false;
	return !(d->msi.cap && cap < d->msi.cap + PCI_MSI_CAP_LEN && d->msi.cap < cap + len);
}

int vpci_dev_add_msi(struct vpci_dev *d, u8 cap, unsigned log2_nr)
{
	u32 mask;

	if (d->msi.cap || log2_nr > 5 || !cap_free(d, cap, PCI_MSI_CAP_LEN))
		return -EINVAL;
	mask = (u32)((1ull << (1u << log2_nr)) - 1);
	d->msi = (struct vpci_msi){ .cap = cap, .log2_nr = (u8)log2_nr };
	link_cap(d, cap, PCI_CAP_ID_MSI);
	put16(d->cfg + cap + PCI_MSI_CTRL, (u16)(PCI_MSI_CTRL_MMC(log2_nr) | PCI_MSI_CTRL_64BIT | PCI_MSI_CTRL_PVM));
	d->wmask[cap + PCI_MSI_CTRL] = (u8)(PCI_MSI_CTRL_ENABLE | 7u << PCI_MSI_CTRL_MME_SHIFT);
	put32(d->wmask + cap + PCI_MSI_ADDR, ~3u); /* dword aligned */
	put32(d->wmask + cap + PCI_MSI_UADDR, ~0u);
	put16(d->wmask + cap + PCI_MSI_DATA, 0xffff);
	put32(d->wmask + cap + PCI_MSI_MASK, mask);
	return 0;
}

int vpci_dev_add_msix(struct vpci_dev *d, u8 cap, unsigned bar, u16 nr, u32 table, u32 pba)
{
	const struct vpci_bar *b = bar < VPCI_NR_BARS ? &d->bar[bar] : NULL;
	u64 tlen = (u64)nr * VPCI_MSIX_ENTRY, plen = MSIX_PBA_BYTES(nr);

	if (!b || (b->type != VPCI_BAR_MEM32 && b->type != VPCI_BAR_MEM64) || d->msix.cap)
		return -EINVAL;
	if (!cap_free(d, cap, PCI_MSIX_CAP_LEN) || !nr || nr > VPCI_MSIX_MAX)
		return -EINVAL;
	if (!IS_ALIGNED(table | pba, 8u) || table + tlen > b->size || pba + plen > b->size ||
	    (table < pba + plen && pba < table + tlen))
		return -EINVAL;
	d->msix = (struct vpci_msix){ .cap = cap, .bar = (u8)bar, .nr = nr, .table = table, .pba = pba };
	for (unsigned i = 0; i < nr; i++)
		d->msix.entry[i][PCI_MSIX_ENTRY_CTRL / 4] = PCI_MSIX_ENTRY_MASKED;
	link_cap(d, cap, PCI_CAP_ID_MSIX);
	put16(d->cfg + cap + PCI_MSIX_CTRL, (u16)(nr - 1));
	put32(d->cfg + cap + PCI_MSIX_TABLE, table | bar);
	put32(d->cfg + cap + PCI_MSIX_PBA, pba | bar);
	d->wmask[cap + PCI_MSIX_CTRL + 1] = (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL) >> 8;
	return 0;
}

/* The BAR register's value (PCI 3.0 §6.2.5.1): address bits above the size, then the flags. */
static u32 bar_reg(const struct vpci_dev *d, unsigned n)
{
	const struct vpci_bar *b = &d->bar[n];
	u32 mask = (u32) ~(b->size - 1);

	switch (b->type) {
	case VPCI_BAR_IO:
		return ((u32)b->addr & mask) | PCI_BAR_IO;
	case VPCI_BAR_MEM32:
	case VPCI_BAR_MEM64:
		return ((u32)b->addr & mask) | (b->type == VPCI_BAR_MEM64 ? PCI_BAR_MEM64 : 0) |
		       (b->prefetch ? PCI_BAR_PREFETCH : 0);
	case VPCI_BAR_MEM64_HI:
		return (u32)((d->bar[n - 1].addr & ~(d->bar[n - 1].size - 1)) >> 32);
	}
	return 0;
}

static void bar_set(struct vpci_dev *d, unsigned n, u32 v)
{
	struct vpci_bar *b = &d->bar[n];

	switch (b->type) {
	case VPCI_BAR_IO:
		b->addr = v & ~BAR_IO_FLAGS & (u32) ~(b->size - 1);
		break;
	case VPCI_BAR_MEM32:
		b->addr = v & ~BAR_MEM_FLAGS & (u32) ~(b->size - 1);
		break;
	case VPCI_BAR_MEM64:
		b->addr = (b->addr & ~0xffffffffull) | (v & ~BAR_MEM_FLAGS & (u32) ~(b->size - 1));
		break;
	case VPCI_BAR_MEM64_HI:
		b = &d->bar[n - 1];
		b->addr = (b->addr & 0xffffffffull) | ((u64)v << 32 & ~(b->size - 1));
		break;
	}
}

static u32 cfg_dword(const struct vpci_dev *d, u32 reg)
{
	if (reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * VPCI_NR_BARS)
		return bar_reg(d, (reg - PCI_BAR0) / 4);
	if (d->msi.cap && reg == d->msi.cap + PCI_MSI_PENDING + 0u)
		return d->msi.pending;
	return get32(d->cfg + reg);
}

u32 vpci_dev_cfg_read(void *opaque, u32 offset, unsigned size)
{
	const struct vpci_dev *d = opaque;

	if (offset >= VPCI_CFG_SIZE || size > 4 || offset % size)
		return ~0u;
	return cfg_dword(d, offset & ~3u) >> (8 * (offset & 3));
}

static void queue_msg(struct vpci_dev *d, u64 addr, u32 data)
{
	if (d->out.n >= VPCI_MSIX_MAX)
		return; /* the caller did not drain: never happens with one access per drain */
	d->out.msg[d->out.n].addr = addr;
	d->out.msg[d->out.n].data = data;
	d->out.n++;
}

static void msix_send(struct vpci_dev *d, unsigned vec)
{
	const u32 *e = d->msix.entry[vec];

	queue_msg(d, (u64)e[PCI_MSIX_ENTRY_UADDR / 4] << 32 | e[PCI_MSIX_ENTRY_ADDR / 4], e[PCI_MSIX_ENTRY_DATA / 4]);
}

static u16 msix_ctrl(const struct vpci_dev *d)
{
	return get16(d->cfg + d->msix.cap + PCI_MSIX_CTRL);
}

/* Whether vector vec may be sent now: MSI-X on, function and entry unmasked (PCI 3.0 §6.8.2.9). */
static bool msix_open(const struct vpci_dev *d, unsigned vec)
{
	u16 c = msix_ctrl(d);

	return (c & PCI_MSIX_CTRL_ENABLE) && !(c & PCI_MSIX_CTRL_MASKALL) &&
	       !(d->msix.entry[vec][PCI_MSIX_ENTRY_CTRL / 4] & PCI_MSIX_ENTRY_MASKED);
}

/* After an unmask: pending vectors that may now go, go (and leave the PBA). */
static void msix_flush(struct vpci_dev *d)
{
	for (unsigned v = 0; v < d->msix.nr; v++) {
		if ((d->msix.pending & (1u << v)) && msix_open(d, v)) {
			d->msix.pending &= ~(1u << v);
			msix_send(d, v);
		}
	}
}

/* MSI state from the capability: enabled, and the vectors the guest enabled (2^MME, at most
 * what the function is capable of). */
static unsigned msi_enabled_vectors(const struct vpci_dev *d)
{
	u16 c = get16(d->cfg + d->msi.cap + PCI_MSI_CTRL);
	unsigned mme = (c >> PCI_MSI_CTRL_MME_SHIFT) & 7;

	if (!d->msi.cap || !(c & PCI_MSI_CTRL_ENABLE))
		return 0;
	return 1u << (mme < d->msi.log2_nr ? mme : d->msi.log2_nr);
}

static void msi_send(struct vpci_dev *d, unsigned vec, unsigned nvec)
{
	const u8 *c = d->cfg + d->msi.cap;
	u32 data = get16(c + PCI_MSI_DATA);

	data = (data & ~(nvec - 1)) | vec;
	queue_msg(d, (u64)get32(c + PCI_MSI_UADDR) << 32 | get32(c + PCI_MSI_ADDR), data);
}

bool vpci_dev_msi_notify(struct vpci_dev *d, unsigned vec)
{
	unsigned nvec = msi_enabled_vectors(d);

	if (vec >= nvec)
		return false;
	if (get32(d->cfg + d->msi.cap + PCI_MSI_MASK) & (1u << vec))
		d->msi.pending |= 1u << vec;
	else
		msi_send(d, vec, nvec);
	return true;
}

/* After a write to the MSI capability: pending vectors now unmasked (and enabled) go. */
static void msi_flush(struct vpci_dev *d)
{
	unsigned nvec = msi_enabled_vectors(d);
	u32 mask = get32(d->cfg + d->msi.cap + PCI_MSI_MASK);

	for (unsigned v = 0; v < nvec; v++) {
		if ((d->msi.pending & (1u << v)) && !(mask & (1u << v))) {
			d->msi.pending &= ~(1u << v);
			msi_send(d, v, nvec);
		}
	}
}

bool vpci_dev_msix_notify(struct vpci_dev *d, unsigned vec)
{
	if (!d->msix.cap || vec >= d->msix.nr || !(msix_ctrl(d) & PCI_MSIX_CTRL_ENABLE))
		return false;
	if (msix_open(d, vec))
		msix_send(d, vec);
	else
		d->msix.pending |= 1u << vec;
	return true;
}

void vpci_dev_cfg_write(void *opaque, u32 offset, unsigned size, u32 val)
{
	struct vpci_dev *d = opaque;
	u32 reg = offset & ~3u;

	if (offset >= VPCI_CFG_SIZE || size > 4 || offset % size)
		return;
	if (reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * VPCI_NR_BARS) {
		unsigned shift = 8 * (offset & 3);
		u32 m = (size == 4 ? ~0u : ((1u << (8 * size)) - 1)) << shift;
		u32 cur = bar_reg(d, (reg - PCI_BAR0) / 4);

		bar_set(d, (reg - PCI_BAR0) / 4, (cur & ~m) | ((val << shift) & m));
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		u32 at = offset + i;
		u8 b = (u8)(val >> (8 * i));

		d->cfg[at] = (u8)((d->cfg[at] & ~d->wmask[at]) | (b & d->wmask[at]));
	}
	/* Enabling MSI-X or clearing its function mask may release pending vectors. */
	if (d->msix.cap && offset <= d->msix.cap + PCI_MSIX_CTRL + 1u &&
	    offset + size > d->msix.cap + PCI_MSIX_CTRL + 0u)
		msix_flush(d);
	/* Enabling MSI or clearing a mask bit may too. */
	if (d->msi.cap && offset < d->msi.cap + PCI_MSI_CAP_LEN + 0u && offset + size > d->msi.cap)
		msi_flush(d);
}

bool vpci_dev_bar_live(const struct vpci_dev *d, unsigned n, u64 *base)
{
	u16 cmd = get16(d->cfg + PCI_COMMAND);
	const struct vpci_bar *b = n < VPCI_NR_BARS ? &d->bar[n] : NULL;

	if (!b || b->type == VPCI_BAR_NONE || b->type == VPCI_BAR_MEM64_HI)
		return false;
	if (!(cmd & (b->type == VPCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEMORY)))
		return false;
	*base = b->addr;
	return true;
}

/* The MSI-X table dword at byte t of the table, or NULL past the entries. */
static u32 *table_dword(struct vpci_dev *d, u64 t)
{
	if (t >= (u64)d->msix.nr * VPCI_MSIX_ENTRY)
		return NULL;
	return &d->msix.entry[t / VPCI_MSIX_ENTRY][(t % VPCI_MSIX_ENTRY) / 4];
}

/* Table and PBA take aligned dword and qword accesses (PCI 3.0 §6.8.2); others read all-ones. */
static bool msix_region(const struct vpci_dev *d, unsigned n, u64 off, u64 *rel, bool *pba)
{
	const struct vpci_msix *m = &d->msix;

	if (!m->cap || n != m->bar)
		return false;
	if (off >= m->table && off - m->table < (u64)m->nr * VPCI_MSIX_ENTRY) {
		*rel = off - m->table;
		*pba = false;
		return true;
	}
	if (off >= m->pba && off - m->pba < MSIX_PBA_BYTES(m->nr)) {
		*rel = off - m->pba;
		*pba = true;
		return true;
	}
	return false;
}

static u64 msix_read(struct vpci_dev *d, u64 rel, bool pba, unsigned size)
{
	u64 v = 0;

	if ((size != 4 && size != 8) || rel % size)
		return ~0ull;
	for (unsigned i = 0; i < size / 4; i++) {
		u64 at = rel + 4 * i;
		u32 dw;

		if (pba) {
			dw = at < 4 ? d->msix.pending : 0; /* at most 32 vectors: the first dword */
		} else {
			const u32 *p = table_dword(d, at);

			dw = p ? *p : ~0u;
		}
		v |= (u64)dw << (32 * i);
	}
	return v;
}

static void msix_write(struct vpci_dev *d, u64 rel, unsigned size, u64 val)
{
	if ((size != 4 && size != 8) || rel % size)
		return;
	for (unsigned i = 0; i < size / 4; i++) {
		u64 at = rel + 4 * i;
		u32 *p = table_dword(d, at), dw = (u32)(val >> (32 * i));

		if (!p)
			continue;
		if (at % VPCI_MSIX_ENTRY == PCI_MSIX_ENTRY_CTRL)
			*p = dw & PCI_MSIX_ENTRY_MASKED; /* the rest of Vector Control is reserved */
		else if (at % VPCI_MSIX_ENTRY == PCI_MSIX_ENTRY_ADDR)
			*p = dw & ~3u; /* Message Address is dword aligned: bits 1:0 read 0 */
		else
			*p = dw;
	}
	msix_flush(d);
}

u64 vpci_dev_bar_read(struct vpci_dev *d, unsigned n, u64 off, unsigned size)
{
	u64 rel;
	bool pba;

	if (msix_region(d, n, off, &rel, &pba))
		return msix_read(d, rel, pba, size);
	if (d->ops && d->ops->bar_read)
		return d->ops->bar_read(d, n, off, size);
	return ~0ull;
}

void vpci_dev_bar_write(struct vpci_dev *d, unsigned n, u64 off, unsigned size, u64 val)
{
	u64 rel;
	bool pba;

	if (msix_region(d, n, off, &rel, &pba)) {
		if (!pba)
			msix_write(d, rel, size, val);
		return;
	}
	if (d->ops && d->ops->bar_write)
		d->ops->bar_write(d, n, off, size, val);
}
