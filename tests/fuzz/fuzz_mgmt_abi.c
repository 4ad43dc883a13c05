/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the management interface's argument checks, both sides of it:
 *  - keel.ko's checks of what user space hands /dev/keel (guests/mgmt/keel/keel_abi*.c, the
 *    module's own source files), and
 *  - Keel's checks of what the management VM's kernel passes to the management hypercalls
 *    (vmm/mgmt_abi.c and vmm/ioreq_check.c, the hypervisor's own sources).
 * Input: byte 0 picks the check, the rest fills that structure (zero-padded). Besides ASan and
 * UBSan, each accepted input must satisfy what its caller relies on (CHECK): an accepted image
 * request is cut by keel.ko into pieces Keel accepts and that cover it exactly once; an accepted
 * window slot lies inside BAR2 and over no used slot; accepted ranges lie inside their bounds;
 * an accepted claim overlaps no claim of the VM but as a doorbell inside a wider one; an accepted
 * interrupt batch holds only MSIs to the local APICs' window and GSIs the I/O APIC has.
 */
#include <stdint.h>
#include <string.h>

#include "keel_abi.h"
#include "vmm/ioreq.h"
#include "vmm/mgmt_abi.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

/* Copies what the input has into *dst (size bytes), the rest zero. */
static void fill(void *dst, size_t size, const uint8_t *data, size_t len)
{
	memset(dst, 0, size);
	memcpy(dst, data, len < size ? len : size);
}

static void fz_vm_image(const uint8_t *data, size_t len)
{
	struct keel_ioc_vm_image req;
	uint64_t covered = 0, off;
	uint32_t n;

	fill(&req, sizeof(req), data, len);
	if (keel_check_vm_image(&req))
		return;
	CHECK(req.image < KEEL_IMAGE_MAX && req.size && req.size <= KEEL_IMAGE_SIZE_MAX);
	/* keel.ko's loop (keel_vm.c): every piece it sends passes Keel's check, in order, once. */
	for (uint64_t i = 0;; i++) {
		struct keel_vm_image piece;

		n = keel_image_piece(req.size, i, &off);
		if (!n)
			break;
		CHECK(off == covered && n <= KEEL_IMAGE_PIECE);
		piece = (struct keel_vm_image){
			.image = req.image, .len = n, .total = req.size, .offset = off, .src_gpa = 0x1000
		};
		CHECK(mgmt_check_image(&piece) == 0);
		covered += n;
	}
	CHECK(covered == req.size && off == req.size);
}

static void fz_vm_create(const uint8_t *data, size_t len)
{
	struct keel_ioc_vm_create req;

	fill(&req, sizeof(req), data, len);
	if (keel_check_vm_create(&req) == 0)
		CHECK(memchr(req.req.name, 0, sizeof(req.req.name)) && req.req.name[0] && !req.req.flags);
	if (mgmt_check_create(&req.req) == 0) {
		size_t n = strnlen(req.req.name, sizeof(req.req.name));

		CHECK(n >= 1 && n < sizeof(req.req.name));
		CHECK(req.req.vcpus >= 1 && req.req.vcpus <= KEEL_VM_MAX_VCPUS);
		CHECK(req.req.mem_bytes >= VM_MEM_MIN && req.req.mem_bytes <= VM_MEM_MAX);
		CHECK(req.req.cap_pct <= 100 * req.req.vcpus && req.req.weight <= 65535);
		for (uint32_t i = req.req.vcpus; i < KEEL_VM_MAX_VCPUS; i++)
			CHECK(!req.req.affinity[i]);
		for (size_t i = 0; i < n; i++)
			CHECK(req.req.name[i] != '/' && req.req.name[i] != ' ' &&
			      (unsigned char)req.req.name[i] < 0x7f);
	}
}

static void fz_vm_load(const uint8_t *data, size_t len)
{
	struct keel_ioc_vm_load req;

	fill(&req, sizeof(req), data, len);
	if (keel_check_vm_load(&req) == 0)
		CHECK(req.load.images >= 1 && req.load.images <= KEEL_IMAGE_MAX);
	if (mgmt_check_load(&req.load) == 0) {
		CHECK(req.load.kind == KEEL_BOOT_MULTIBOOT || req.load.kind == KEEL_BOOT_LINUX);
		CHECK(req.load.images >= 1 &&
		      req.load.images <= (req.load.kind == KEEL_BOOT_LINUX ? 2 : KEEL_IMAGE_MAX));
		for (uint32_t i = 0; i < KEEL_IMAGE_MAX; i++)
			CHECK(strnlen(req.load.cmdline[i], KEEL_CMDLINE_MAX) < KEEL_CMDLINE_MAX);
	}
}

static void keel_image(const uint8_t *data, size_t len)
{
	struct keel_vm_image img;

	fill(&img, sizeof(img), data, len);
	if (mgmt_check_image(&img) == 0) {
		CHECK(img.image < KEEL_IMAGE_MAX && img.len >= 1 && img.len <= KEEL_IMAGE_PIECE);
		CHECK(img.total <= IMAGE_TOTAL_MAX && img.offset + img.len <= img.total);
	}
}

static void small_requests(const uint8_t *data, size_t len)
{
	struct keel_vm_list list;
	struct keel_ioc_vm_id id;
	struct keel_ioc_vm_info info;
	struct keel_ioc_events ev;
	struct keel_ioc_console con;
	struct keel_win_map map;
	struct keel_win_unmap unmap;

	fill(&list, sizeof(list), data, len);
	if (keel_check_vm_list(&list) == 0) {
		CHECK(list.max <= KEEL_VM_LIST_MAX);
		CHECK(keel_vm_list_bytes(&list, (uint32_t)list.entries) <= list.max * sizeof(struct keel_vm_info));
	}
	fill(&id, sizeof(id), data, len);
	if (keel_check_vm_id(&id) == 0)
		CHECK(id.id && !id.pad);
	fill(&info, sizeof(info), data, len);
	if (keel_check_vm_info(&info) == 0)
		CHECK(info.id);
	fill(&ev, sizeof(ev), data, len);
	if (keel_check_events(&ev) == 0)
		CHECK(ev.max <= KEEL_EVENTS_MAX && !ev.count);
	fill(&con, sizeof(con), data, len);
	if (keel_check_console(&con) == 0)
		CHECK(con.len <= HC_CONSOLE_MAX && (!con.len || con.buf));
	fill(&map, sizeof(map), data, len);
	if (keel_check_win_map(&map) == 0)
		CHECK(!map.flags && !map.size && !map.mmap_offset);
	fill(&unmap, sizeof(unmap), data, len);
	(void)keel_check_win_unmap(&unmap);
}

static void window(const uint8_t *data, size_t len)
{
	struct {
		uint64_t used, size, off, len;
		uint32_t bar_gib;
	} in;
	int first;

	fill(&in, sizeof(in), data, len);
	first = keel_win_pick_slot(in.used, in.bar_gib, in.size);
	if (first >= 0) {
		uint64_t mask = keel_win_slot_mask(first, in.size);
		uint64_t n = in.size / (1ull << 30) + (in.size % (1ull << 30) != 0);

		CHECK(mask && !(mask & in.used) && (uint64_t)first + n <= in.bar_gib && in.bar_gib <= 64);
		CHECK((uint64_t)__builtin_popcountll(mask) == n);
	}
	if (keel_check_win_mmap(in.off, in.len, in.size) == 0)
		CHECK(in.len && in.off < in.size && in.len <= in.size - in.off && !(in.off % 4096) && !(in.len % 4096));
}

static bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

static void io_claim(const uint8_t *data, size_t len)
{
	static struct vm_ioreq_claim claims[KEEL_CLAIMS_MAX];
	struct {
		struct keel_claim c;
		uint64_t used;
		struct keel_claim others[4]; /* the VM's existing claims, in slots 0-3 */
	} in;
	bool bell;
	int ret;

	fill(&in, sizeof(in), data, len);
	in.used &= 0xf;
	for (unsigned i = 0; i < 4; i++)
		claims[i].c = in.others[i];
	ret = ioreq_claim_check(&in.c, claims, in.used);
	CHECK(ret == 0 || ret == -EINVAL || ret == -EBUSY);
	if (ret)
		return;
	bell = in.c.flags & KEEL_CLAIM_DOORBELL;
	CHECK(in.c.size);
	if (in.c.type == KEEL_IOREQ_PIO)
		CHECK(in.c.base + in.c.size <= 0x10000);
	else if (in.c.type == KEEL_IOREQ_MMIO)
		CHECK(in.c.base + in.c.size <= IOREQ_MMIO_LIMIT && (bell || !((in.c.base | in.c.size) & 4095)));
	else
		CHECK(in.c.type == KEEL_IOREQ_PCI_CFG && in.c.base < 256 && in.c.size == 1 && !bell);
	for (unsigned i = 0; i < 4; i++) {
		const struct keel_claim *o = &in.others[i];

		if (!(in.used >> i & 1) || o->type != in.c.type || !overlap(in.c.base, in.c.size, o->base, o->size))
			continue;
		/* Only a doorbell and a wider claim around it may share addresses. */
		CHECK(bell != !!(o->flags & KEEL_CLAIM_DOORBELL));
	}
	/* A doorbell claim matches exactly its own write, and (with DATAMATCH) its own value. */
	if (bell)
		CHECK(ioreq_doorbell_match(&in.c, in.c.type, in.c.base, (unsigned)in.c.size, in.c.data));
}

static void io_irqs(const uint8_t *data, size_t len)
{
	struct keel_irq irqs[KEEL_IRQ_BATCH_MAX + 1];
	uint32_t n = len ? data[0] % (KEEL_IRQ_BATCH_MAX + 2) : 0;

	fill(irqs, sizeof(irqs), len ? data + 1 : data, len ? len - 1 : 0);
	if (ioreq_irq_check(irqs, n))
		return;
	CHECK(n <= KEEL_IRQ_BATCH_MAX);
	for (uint32_t i = 0; i < n; i++) {
		if (irqs[i].kind == KEEL_IRQ_MSI)
			CHECK(irqs[i].addr >= 0xfee00000ull && irqs[i].addr <= 0xfeefffffull);
		else
			CHECK((irqs[i].kind == KEEL_IRQ_GSI_LEVEL || irqs[i].kind == KEEL_IRQ_GSI_PULSE) &&
			      irqs[i].gsi < 24);
	}
}

static void io_answer(const uint8_t *data, size_t len)
{
	struct {
		struct keel_ioreq got;
		struct vcpu_ioreq_entry req;
		uint64_t seq;
	} in;

	fill(&in, sizeof(in), data, len);
	if (ioreq_answer_check(&in.got, &in.req, in.seq) == 0)
		CHECK(in.got.state == KEEL_IOREQ_DONE && in.got.addr == in.req.addr && in.got.size == in.req.size &&
		      in.got.seq == in.seq && in.got.dir == in.req.dir && in.got.type == in.req.type);
}

static void io_ioctls(const uint8_t *data, size_t len)
{
	struct keel_io_attach at;
	struct keel_io_claim cl;
	struct keel_io_ref ref;
	struct keel_io_irqs irqs;
	struct {
		uint64_t off, len;
	} mm;

	fill(&at, sizeof(at), data, len);
	if (keel_check_io_attach(&at) == 0)
		CHECK(!at.reserved && !at.mmap_offset);
	fill(&cl, sizeof(cl), data, len);
	(void)keel_check_io_claim(&cl);
	fill(&ref, sizeof(ref), data, len);
	(void)keel_check_io_ref(KEEL_IOC_IO_UNCLAIM, &ref);
	(void)keel_check_io_ref(KEEL_IOC_IO_NOTIFY, &ref);
	(void)keel_check_io_ref(KEEL_IOC_IO_DETACH, &ref);
	fill(&irqs, sizeof(irqs), data, len);
	if (keel_check_io_irqs(&irqs) == 0)
		CHECK(irqs.count >= 1 && irqs.count <= KEEL_IRQ_BATCH_MAX && irqs.entries);
	fill(&mm, sizeof(mm), data, len);
	if (keel_io_mmap_index(mm.off, mm.len, 4096) >= 0)
		CHECK(mm.len == 4096 && !(mm.off % 4096) && mm.off / 4096 < KEEL_IO_SERVERS_MAX);
}

/* HC_MOD_READ's check against a module size, and HC_MOD_INFO's name of any command line: the
 * copy stays inside the module and the request, the name is a usable file name. */
static void module(const uint8_t *data, size_t len)
{
	struct {
		struct keel_module_read r;
		uint64_t size;
		char cmdline[200];
	} in;
	char name[KEEL_MODULE_NAME_MAX];
	uint32_t n = ~0u;
	size_t nl;

	fill(&in, sizeof(in), data, len);
	if (mgmt_check_mod_read(&in.r, in.size, &n) == 0)
		CHECK(n <= in.r.len && n <= KEEL_MODULE_READ_MAX && in.r.offset <= in.size &&
		      n <= in.size - in.r.offset && (n || in.r.offset == in.size || !in.r.len));
	in.cmdline[sizeof(in.cmdline) - 1] = '\0';
	memset(name, 0x5a, sizeof(name));
	mgmt_module_name(in.cmdline, in.r.index, name);
	nl = strnlen(name, sizeof(name));
	CHECK(nl >= 1 && nl < sizeof(name) && strcmp(name, ".") && strcmp(name, ".."));
	for (size_t i = 0; i < nl; i++)
		CHECK(name[i] != '/' && name[i] > ' ' && (unsigned char)name[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 11) {
	case 0:
		fz_vm_image(data + 1, size - 1);
		break;
	case 1:
		fz_vm_create(data + 1, size - 1);
		break;
	case 2:
		fz_vm_load(data + 1, size - 1);
		break;
	case 3:
		keel_image(data + 1, size - 1);
		break;
	case 4:
		small_requests(data + 1, size - 1);
		break;
	case 5:
		window(data + 1, size - 1);
		break;
	case 6:
		io_claim(data + 1, size - 1);
		break;
	case 7:
		io_irqs(data + 1, size - 1);
		break;
	case 8:
		io_answer(data + 1, size - 1);
		break;
	case 9:
		io_ioctls(data + 1, size - 1);
		break;
	case 10:
		module(data + 1, size - 1);
		break;
	}
	return 0;
}
