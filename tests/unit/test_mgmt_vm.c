/* SPDX-License-Identifier: MIT */
/*
 * VMs created at run time (vmm/mgmt_vm.c, vmm/mgmt_events.c and the VM list, vmm/vmm.c, compiled
 * as they are): the management VM's arguments, each bad field refused with nothing changed; the
 * event queue (drop-oldest with a count, an upcall per event); the lifecycle of a run-time VM
 * (held dead after it ends, destroyed while running or while an operation holds it); and 200
 * create/destroy cycles reusing slots, with every VM and staged image freed.
 * Around them: fake RAM for the management VM, a fake allocator that counts what is live, and
 * the VM builders (vm_create, the loaders, the platform) as fakes that record their calls.
 */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/string.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "vmm/console.h"
#include "vmm/dev/vuart.h"
#include "vmm/loader.h"
#include "vmm/mgmt.h"
#include "vmm/mgmt_vm.h"
#include "vmm/platform.h"
#include "vmm/platform_internal.h"
#include "vmm/vcpu_run.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

/* --- the management VM: 1 MiB of RAM at 0 ---------------------------------------------- */
#define MG_RAM (1u << 20)
static u8 mg_ram[MG_RAM];
static struct vm mgmt;
static struct vcpu mgmt_vcpu;

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	u64 off, room;

	assert_ptr_equal(vm, &mgmt);
	if (!vm_ram_offset(vm, gpa, &off, &room) || len > room)
		return -EFAULT;
	memcpy(buf, mg_ram + gpa, len);
	return 0;
}

int gpa_write(struct vm *vm, gpa_t gpa, const void *buf, u64 len)
{
	u64 off, room;

	assert_ptr_equal(vm, &mgmt);
	if (!vm_ram_offset(vm, gpa, &off, &room) || len > room)
		return -EFAULT;
	memcpy(mg_ram + gpa, buf, len);
	return 0;
}

/* --- allocator: live blocks counted, free pages a settable number ---------------------- */
static long live_allocs;
static u64 free_pages = 1u << 18; /* 1 GiB */
static int fail_kmalloc;

void *kmalloc(size_t size)
{
	if (fail_kmalloc)
		return NULL;
	live_allocs++;
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (p)
		live_allocs--;
	free(p);
}

u64 page_free_count(void)
{
	return free_pages;
}

u64 page_total_count(void)
{
	return 1u << 19;
}

hpa_t page_alloc_zeroed(unsigned order)
{
	return INVALID_HPA; /* build_vm's vCPUs: not reached (vmm_load is not exercised here) */
}

void page_free(hpa_t pa, unsigned order)
{
}

/* --- the VM builders and the rest of Keel vmm.c calls ----------------------------------- */
static u32 next_id = 100;
static long live_vms;
static int calls_ioreq_ending, calls_window_freeing, upcalls;

struct vm *vm_create(const char *name, u64 ram_size)
{
	struct vm *vm = kzalloc(sizeof(*vm));

	kstrlcpy(vm->name, name, sizeof(vm->name));
	vm->id = next_id++;
	vm->ram_size = ram_size;
	vm->low_ram = ram_size;
	live_vms++;
	free_pages -= ram_size / PAGE_SIZE;
	return vm;
}

void vm_destroy(struct vm *vm)
{
	free_pages += vm->ram_size / PAGE_SIZE;
	live_vms--;
	kfree(vm);
}

int platform_write_tables(struct vm *vm, u32 nr_vcpus, u64 *rsdp)
{
	*rsdp = 0xe0000;
	return 0;
}

int load_multiboot_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *mods, u32 nr_mods,
			 struct vcpu_boot_state *boot, const char **why)
{
	*why = "fake";
	return -EINVAL;
}

int load_linux_guest(struct vm *vm, const struct guest_image *kernel, const struct guest_image *initrd, u64 rsdp_gpa,
		     struct vcpu_boot_state *boot, const char **why)
{
	*why = "fake";
	return -EINVAL;
}

int load_realmode_guest(struct vm *vm, const u8 *data, u64 size, struct vcpu_boot_state *boot, const char **why)
{
	return -EINVAL;
}

void ioreq_vm_ending(struct vm *vm)
{
	assert_int_equal(vm->state, VM_DEAD);
	calls_ioreq_ending++;
}

void window_vm_freeing(struct vm *vm)
{
	calls_window_freeing++;
}

bool vpci_dev_msix_notify(struct vpci_dev *d, unsigned vec)
{
	assert_int_equal(vec, KEEL_UPCALL_EVENT);
	upcalls++;
	return true;
}

void platform_pci_take(struct vm *vm, struct vpci_dev *d, struct vpci_msi_out *out)
{
	out->n = 0;
}

void platform_msi(struct vm *vm, u64 addr, u32 data, const struct vcpu *self)
{
}

void guest_console_flush(struct vm *vm)
{
}

void guest_console_input(struct vm *vm, const u8 *buf, size_t len)
{
}

u32 guest_console_take(struct vm *vm, void *buf, u32 len)
{
	return 0;
}

int guest_devices_init(struct vm *vm)
{
	return 0;
}

int platform_init(struct vm *vm)
{
	return 0;
}

void fpu_guest_init(void *area)
{
}

void dregs_guest_init(struct guest_dregs *d)
{
}

static int sched_adds;
int vcpu_sched_add(struct vcpu *v)
{
	sched_adds++;
	return 0;
}

void sched_kick(struct sched_entity *e)
{
}

void sched_entity_stats(const struct sched_entity *e, struct sched_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->run_ns = 1000;
}

const char *exit_reason_name(enum exit_reason r)
{
	return "x";
}

size_t hvcon_format_cpulist(char *buf, size_t size, u64 mask, u32 all_cpus)
{
	buf[0] = '\0';
	return 0;
}

/* Never reached: vmm_run_all is not run here. */
static struct percpu cpu0 = { .online = true };
struct percpu *cpus[MAX_CPUS] = { &cpu0 };
u32 nr_cpus_online = 1;
u64 tsc_khz;
const struct vcpu_ops *vcpu_ops;
const struct sched_ops vcpu_sched_ops;
void sched_setup(const struct sched_ops *o)
{
}
void sched_cpu_loop(void)
{
}
void hvcon_init(void)
{
}
const struct vcpu_ops *arch_virt_probe(void)
{
	return NULL;
}
u32 smp_call_all(void (*fn)(void *), void *arg)
{
	return 0;
}
int smp_post(u32 cpu, void (*fn)(void *), void *arg)
{
	return 0;
}
u64 time_ns(void)
{
	return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */
#define REQ_GPA 0x1000
#define SRC_GPA 0x10000
#define OUT_GPA 0x80000

static s64 hc(u64 nr, u64 a0, u64 a1, u64 a2)
{
	return mgmt_vm_hypercall(&mgmt_vcpu, nr, a0, a1, a2);
}

static struct keel_vm_create good_create(const char *name)
{
	struct keel_vm_create c = { .mem_bytes = 4u << 20, .vcpus = 1 };

	strcpy(c.name, name);
	return c;
}

static s64 create(const struct keel_vm_create *c)
{
	memcpy(mg_ram + REQ_GPA, c, sizeof(*c));
	return hc(HC_VM_CREATE, REQ_GPA, 0, 0);
}

static int count_vms(void)
{
	int n = 0;

	for (u32 i = 0; i < nr_vm_configs; i++)
		n += vm_configs[i].vm != NULL;
	return n;
}

static struct vm_config *slot_of(u32 id)
{
	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm && vm_configs[i].vm->id == id)
			return &vm_configs[i];
	return NULL;
}

static u32 take_events(struct keel_event *ev, u32 max)
{
	s64 n = hc(HC_EVENTS, OUT_GPA, max, 0);

	assert_true(n >= 0);
	memcpy(ev, mg_ram + OUT_GPA, (size_t)n * sizeof(*ev));
	return (u32)n;
}

static int setup(void **state)
{
	memset(&mgmt, 0, sizeof(mgmt));
	strcpy(mgmt.name, "mgmt");
	mgmt.mgmt = true;
	mgmt.ram_size = mgmt.low_ram = MG_RAM;
	mgmt_vcpu.vm = &mgmt;
	memset(vm_configs, 0, sizeof(vm_configs));
	nr_vm_configs = 0;
	while (mgmt_events_count()) {
		struct keel_event e;

		mgmt_events_take(&e, 1);
	}
	shim_log_reset();
	calls_ioreq_ending = calls_window_freeing = upcalls = sched_adds = 0;
	free_pages = 1u << 18;
	fail_kmalloc = 0;
	return 0;
}

/* Nothing the test made is still allocated: VMs, their staged images, Keel's memory. */
static int teardown(void **state)
{
	for (u32 i = 0; i < nr_vm_configs; i++)
		if (vm_configs[i].vm)
			assert_int_equal(hc(HC_VM_DESTROY, vm_configs[i].vm->id, 0, 0), 0);
	assert_int_equal(live_vms, 0);
	assert_int_equal(live_allocs, 0);
	assert_int_equal(free_pages, 1u << 18);
	return 0;
}

/* --- create ------------------------------------------------------------------------------ */
static void test_create_rejects_each_bad_field(void **state)
{
	static const char *const bad_names[] = { "", "a b", "a/b", "ü", "x\n", "a;b" };
	struct keel_vm_create c;
	u32 before = nr_vm_configs;

	for (unsigned i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		c = good_create("ok");
		memset(c.name, 0, sizeof(c.name));
		memcpy(c.name, bad_names[i], strlen(bad_names[i]));
		assert_int_equal(create(&c), -EINVAL);
	}
	c = good_create("ok");
	memset(c.name, 'a', sizeof(c.name)); /* no NUL within 32 bytes */
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.mem_bytes = (4u << 20) - 1;
	assert_int_equal(create(&c), -EINVAL);
	c.mem_bytes = 0;
	assert_int_equal(create(&c), -EINVAL);
	c.mem_bytes = ~0ull;
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.vcpus = 0;
	assert_int_equal(create(&c), -EINVAL);
	c.vcpus = KEEL_VM_MAX_VCPUS + 1;
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.weight = 65536;
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.vcpus = 2;
	c.cap_pct = 201;
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.flags = 1;
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.affinity[1] = 1; /* vCPU 1 of a 1-vCPU VM */
	assert_int_equal(create(&c), -EINVAL);
	c = good_create("ok");
	c.affinity[0] = 2; /* CPU 1 is not online */
	assert_int_equal(create(&c), -EINVAL);
	/* Outside the management VM's RAM. */
	assert_int_equal(hc(HC_VM_CREATE, MG_RAM - 8, 0, 0), -EFAULT);
	assert_int_equal(nr_vm_configs, before);
	assert_int_equal(count_vms(), 0);
	assert_int_equal(live_vms, 0);

	/* The limits themselves are fine. */
	c = good_create("A-z_0.9");
	c.vcpus = KEEL_VM_MAX_VCPUS;
	c.cap_pct = 100 * KEEL_VM_MAX_VCPUS;
	c.weight = 65535;
	c.affinity[7] = 1;
	assert_true(create(&c) > 0);
	assert_int_equal(count_vms(), 1);
}

static void test_create_memory_bound_and_names(void **state)
{
	struct keel_vm_create c = good_create("big");
	s64 id;

	c.mem_bytes = (u64)free_pages * PAGE_SIZE; /* all of it: Keel's own share does not fit */
	assert_int_equal(create(&c), -ENOMEM);
	assert_true(shim_log_contains("vm big: not created: 1024 MiB asked for, 1024 MiB free"));
	assert_int_equal(count_vms(), 0);
	c.mem_bytes = (3u << 20) + (1u << 22); /* rounded up to 2 MiB */
	id = create(&c);
	assert_true(id > 0);
	assert_int_equal(slot_of((u32)id)->vm->ram_size, 8u << 20);
	assert_int_equal(create(&c), -EEXIST); /* names are unique among live VMs */
	c = good_create("other");
	assert_true(create(&c) > id);
}

static void test_slots_full(void **state)
{
	char name[16];

	for (int i = 0; i < MAX_VMS; i++) {
		struct keel_vm_create c;

		snprintf(name, sizeof(name), "v%d", i);
		c = good_create(name);
		assert_true(create(&c) > 0);
	}
	struct keel_vm_create c = good_create("one-more");
	assert_int_equal(create(&c), -ENOSPC);
	assert_true(shim_log_contains("Keel holds 32 VMs"));
}

/* --- images and load --------------------------------------------------------------------- */
static s64 image(u64 id, struct keel_vm_image img)
{
	memcpy(mg_ram + REQ_GPA, &img, sizeof(img));
	return hc(HC_VM_IMAGE, id, REQ_GPA, 0);
}

static void test_image_rejects_each_bad_field(void **state)
{
	struct keel_vm_create c = good_create("img");
	s64 id = create(&c);
	struct keel_vm_image ok = { .image = 0, .len = 4096, .total = 8192, .offset = 0, .src_gpa = SRC_GPA }, b;
	struct vm_config *s = slot_of((u32)id);

	for (int i = 0; i < 8192; i++)
		mg_ram[SRC_GPA + i] = (u8)i;
	b = ok, b.image = KEEL_IMAGE_MAX;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.len = 0;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.len = KEEL_IMAGE_PIECE + 1, b.total = 1u << 20;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.total = 0;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.total = (256u << 20) + 1;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.offset = 8192 - 4095; /* runs past total */
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.offset = ~0ull - 100; /* wraps */
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.offset = 4096; /* not the next piece: none started */
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.src_gpa = MG_RAM - 100; /* outside the management VM's RAM */
	assert_int_equal(image(id, b), -EFAULT);
	assert_int_equal(image(0, ok), -ENOENT);
	assert_int_equal(image(1ull << 32 | (u32)id, ok), -ENOENT);
	assert_int_equal(image(id + 1000, ok), -ENOENT);
	assert_null(s->stage[0].data); /* nothing kept */
	fail_kmalloc = 1;
	assert_int_equal(image(id, ok), -ENOMEM);
	fail_kmalloc = 0;
	assert_null(s->stage[0].data);

	/* In order: piece 0, then 4096. A repeat of 0 restarts; a gap is refused, state kept. */
	assert_int_equal(image(id, ok), 0);
	assert_int_equal(s->stage[0].filled, 4096);
	b = ok, b.offset = 4096, b.len = 100, b.total = 4096 * 3;
	assert_int_equal(image(id, b), -EINVAL); /* another total */
	b = ok, b.offset = 6000, b.len = 100;
	assert_int_equal(image(id, b), -EINVAL);
	b = ok, b.offset = 4096, b.src_gpa = MG_RAM - 10;
	assert_int_equal(image(id, b), -EFAULT);
	assert_int_equal(s->stage[0].filled, 4096);
	b = ok, b.offset = 4096, b.src_gpa = SRC_GPA + 4096;
	assert_int_equal(image(id, b), 0);
	assert_int_equal(s->stage[0].filled, 8192);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(s->stage[0].data[i], (u8)i);
	/* A VM that is loaded, or not run-time, takes no image. */
	assert_int_equal(image(slot_of((u32)id)->vm->id, ok), 0);
	s->loaded = true;
	assert_int_equal(image(id, ok), -EINVAL);
	s->loaded = false;
	/* Destroy frees the staged image (teardown checks no allocation is left). */
}

static s64 load(u64 id, const struct keel_vm_load *l)
{
	memcpy(mg_ram + REQ_GPA, l, sizeof(*l));
	return hc(HC_VM_LOAD, id, REQ_GPA, 0);
}

static void test_load_rejects_each_bad_field(void **state)
{
	struct keel_vm_create c = good_create("ld");
	s64 id = create(&c);
	struct keel_vm_load l = { .kind = KEEL_BOOT_MULTIBOOT, .images = 1 };
	struct keel_vm_image one = { .len = 16, .total = 16, .src_gpa = SRC_GPA };
	struct vm_config *s = slot_of((u32)id);

	l.kind = 2;
	assert_int_equal(load(id, &l), -EINVAL);
	l.kind = KEEL_BOOT_MULTIBOOT, l.images = 0;
	assert_int_equal(load(id, &l), -EINVAL);
	l.images = KEEL_IMAGE_MAX + 1;
	assert_int_equal(load(id, &l), -EINVAL);
	l.kind = KEEL_BOOT_LINUX, l.images = 3;
	assert_int_equal(load(id, &l), -EINVAL);
	l.kind = KEEL_BOOT_MULTIBOOT, l.images = 1;
	memset(l.cmdline[3], 'x', KEEL_CMDLINE_MAX); /* no NUL */
	assert_int_equal(load(id, &l), -EINVAL);
	memset(l.cmdline[3], 0, KEEL_CMDLINE_MAX);
	assert_int_equal(hc(HC_VM_LOAD, id, MG_RAM - 16, 0), -EFAULT);
	/* Image 0 missing, then incomplete. */
	assert_int_equal(load(id, &l), -EINVAL);
	assert_true(shim_log_contains("boot image 0 is missing"));
	one.total = 32;
	assert_int_equal(image(id, one), 0);
	assert_int_equal(load(id, &l), -EINVAL);
	assert_true(shim_log_contains("boot image 0 is not complete"));
	one.offset = 16;
	assert_int_equal(image(id, one), 0);
	/* Complete: the loader runs, and its refusal (the fake refuses) changes nothing. */
	assert_int_equal(load(id, &l), -EINVAL);
	assert_true(shim_log_contains("load refused: fake"));
	assert_false(s->loaded);
	assert_non_null(s->stage[0].data);
	/* Not loaded: it cannot start. */
	assert_int_equal(hc(HC_VM_START, id, 0, 0), -EINVAL);
	assert_int_equal(sched_adds, 0);
}

/* --- events ------------------------------------------------------------------------------ */
static void test_event_ring(void **state)
{
	struct keel_event ev[KEEL_EVENTS_MAX];
	struct keel_event e = { .type = KEEL_EV_EXITED };

	assert_int_equal(hc(HC_EVENTS, OUT_GPA, KEEL_EVENTS_MAX + 1, 0), -EINVAL);
	assert_int_equal(take_events(ev, KEEL_EVENTS_MAX), 0);
	for (u32 i = 0; i < KEEL_EVENTS_MAX + 5; i++) {
		e.vm_id = i;
		mgmt_events_push(&e);
	}
	assert_int_equal(upcalls, 0); /* no management VM in the list: nobody to tell */
	/* A buffer outside RAM: refused before anything is taken. */
	assert_int_equal(hc(HC_EVENTS, MG_RAM - sizeof(e), 2, 0), -EFAULT);
	assert_int_equal(mgmt_events_count(), KEEL_EVENTS_MAX);
	assert_int_equal(take_events(ev, 2), 2);
	/* The 5 oldest went; the first one after them says so. */
	assert_int_equal(ev[0].vm_id, 5);
	assert_int_equal(ev[0].dropped, 5);
	assert_int_equal(ev[1].vm_id, 6);
	assert_int_equal(ev[1].dropped, 0);
	assert_int_equal(take_events(ev, KEEL_EVENTS_MAX), KEEL_EVENTS_MAX - 2);
	assert_int_equal(ev[KEEL_EVENTS_MAX - 3].vm_id, KEEL_EVENTS_MAX + 4);
	assert_int_equal(take_events(ev, KEEL_EVENTS_MAX), 0);
	/* Drops after a take count from zero again. */
	for (u32 i = 0; i < KEEL_EVENTS_MAX + 1; i++)
		mgmt_events_push(&e);
	assert_int_equal(take_events(ev, 1), 1);
	assert_int_equal(ev[0].dropped, 1);
	mgmt_events_take(ev, KEEL_EVENTS_MAX);
}

/* The management VM in the list, with its control function: each event raises its upcall. */
static void test_events_raise_upcall(void **state)
{
	struct keel_event e = { .type = KEEL_EV_EXITED };
	struct keel_event ev[2];

	vm_configs[0] = (struct vm_config){ .vm = &mgmt, .mgmt = true };
	strcpy(vm_configs[0].name, "mgmt");
	nr_vm_configs = 1;
	mgmt.has_ctl = true;
	mgmt.state = VM_RUNNING;
	mgmt_events_push(&e);
	assert_int_equal(upcalls, 1);
	mgmt.state = VM_DEAD; /* ended: no interrupt into it */
	mgmt_events_push(&e);
	assert_int_equal(upcalls, 1);
	assert_int_equal(take_events(ev, 2), 2);
	/* The management VM does not pause or destroy itself. */
	mgmt.state = VM_RUNNING;
	mgmt.id = 1;
	assert_int_equal(hc(HC_VM_PAUSE, 1, 0, 0), -EINVAL);
	assert_int_equal(hc(HC_VM_DESTROY, 1, 0, 0), -EINVAL);
	vm_configs[0].vm = NULL;
}

/* --- the management VM's boot modules (HC_MOD_INFO, HC_MOD_READ) ------------------------- */
static u8 mod_disk[100000];
static u8 mod_tiny[3] = { 'a', 'b', 'c' };
static struct boot_info mod_bi;

static void mods_setup(void)
{
	for (u32 i = 0; i < sizeof(mod_disk); i++)
		mod_disk[i] = (u8)(i * 7 + i / 251);
	mod_bi = (struct boot_info){ .nr_modules = 4 };
	/* Module 0 is a guest's, module 2 was rejected at boot (size 0). */
	mod_bi.modules[1] = (struct boot_module){ .base = virt_to_phys(mod_disk), .size = sizeof(mod_disk) };
	strcpy(mod_bi.modules[1].cmdline, "/boot/images/disk-ext4.img ro");
	mod_bi.modules[3] = (struct boot_module){ .base = virt_to_phys(mod_tiny), .size = sizeof(mod_tiny) };
	strcpy(mod_bi.modules[3].cmdline, "/x/\xc3\xa4 .");
	vmm_set_boot_info(&mod_bi);
	vm_configs[0] = (struct vm_config){ .vm = &mgmt, .mgmt = true, .nr_mods = 3, .mods = { 1, 3, 2 } };
	strcpy(vm_configs[0].name, "mgmt");
	nr_vm_configs = 1;
}

static s64 mod_read(u32 index, u64 offset, u32 len, u64 buf)
{
	struct keel_module_read r = { .index = index, .len = len, .offset = offset, .buf = buf };

	memcpy(mg_ram + 0x1000, &r, sizeof(r));
	return hc(HC_MOD_READ, 0x1000, 0, 0);
}

static void test_boot_modules_read_only_copies(void **state)
{
	struct keel_module_info info;
	u64 got = 0;
	s64 n;

	mods_setup();
	/* Info: size and name (the first word's last component), "module-N" when nothing usable. */
	assert_int_equal(hc(HC_MOD_INFO, 0, 0x2000, 0), 0);
	memcpy(&info, mg_ram + 0x2000, sizeof(info));
	assert_int_equal(info.size, sizeof(mod_disk));
	assert_string_equal(info.name, "disk-ext4.img");
	assert_int_equal(hc(HC_MOD_INFO, 1, 0x2000, 0), 0);
	memcpy(&info, mg_ram + 0x2000, sizeof(info));
	assert_int_equal(info.size, 3);
	assert_string_equal(info.name, "module-1");
	/* A rejected module, one past the list, a wide index: none. */
	assert_int_equal(hc(HC_MOD_INFO, 2, 0x2000, 0), -ENOENT);
	assert_int_equal(hc(HC_MOD_INFO, 3, 0x2000, 0), -ENOENT);
	assert_int_equal(hc(HC_MOD_INFO, 1ull << 32, 0x2000, 0), -ENOENT);
	assert_int_equal(hc(HC_MOD_INFO, 0, MG_RAM - 8, 0), -EFAULT);
	/* The whole disk module in 4 KiB pieces, byte for byte. */
	while ((n = mod_read(0, got, 4096, 0x10000)) > 0) {
		assert_memory_equal(mg_ram + 0x10000, mod_disk + got, (size_t)n);
		got += (u64)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(got, sizeof(mod_disk));
	/* The last piece is short; the end reads 0; past the end, too long, outside RAM: refused,
	 * and nothing written. */
	assert_int_equal(mod_read(0, sizeof(mod_disk) - 10, 4096, 0x10000), 10);
	memset(mg_ram + 0x10000, 0xee, 16);
	assert_int_equal(mod_read(0, sizeof(mod_disk) + 1, 1, 0x10000), -EINVAL);
	assert_int_equal(mod_read(0, 0, KEEL_MODULE_READ_MAX + 1, 0x10000), -EINVAL);
	assert_int_equal(mod_read(0, 0, 4096, MG_RAM - 100), -EFAULT);
	assert_int_equal(mod_read(0, 0, 16, 1ull << 40), -EFAULT);
	assert_int_equal(mod_read(2, 0, 16, 0x10000), -ENOENT);
	assert_int_equal(mg_ram[0x10000], 0xee);
	assert_int_equal(hc(HC_MOD_READ, MG_RAM - 8, 0, 0), -EFAULT);
	assert_int_equal(mod_read(1, 1, 16, 0x10000), 2);
	assert_memory_equal(mg_ram + 0x10000, "bc", 2);
	/* Only the management VM's config lists them: without it, nothing. */
	vm_configs[0].mgmt = false;
	assert_int_equal(hc(HC_MOD_INFO, 0, 0x2000, 0), -ENOENT);
	vm_configs[0] = (struct vm_config){ 0 };
	nr_vm_configs = 0;
	vmm_set_boot_info(NULL);
}

/* --- lifecycle --------------------------------------------------------------------------- */
/* A created VM as if loaded with n vCPUs (the loaders and vCPU setup are not faked deeply). */
static struct vm_config *fake_loaded(s64 id, u32 n)
{
	struct vm_config *s = slot_of((u32)id);

	for (u32 i = 0; i < n; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));

		v->vm = s->vm;
		v->id = i;
		s->vm->vcpus[s->vm->nr_vcpus++] = v;
	}
	s->vcpus = n;
	s->loaded = true;
	return s;
}

/* vm_destroy in the fake frees what fake_loaded allocated. */
static void free_vcpus(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		kfree(vm->vcpus[i]);
	vm->nr_vcpus = 0;
}

static void retire_all(struct vm *vm)
{
	free_vcpus(vm); /* what vm_destroy would */
	vmm_vm_finished(vm);
}

static void test_runtime_vm_held_dead_until_destroyed(void **state)
{
	struct keel_vm_create c = good_create("guest");
	s64 id = create(&c);
	struct keel_event ev[4];
	struct keel_vm_detail *d = (struct keel_vm_detail *)(mg_ram + OUT_GPA);
	struct vm_config *s = fake_loaded(id, 2);
	struct vm *vm = s->vm;

	assert_int_equal(hc(HC_VM_PAUSE, id, 0, 0), -EINVAL); /* not running */
	assert_int_equal(hc(HC_VM_START, id, 0, 0), 0);
	assert_int_equal(sched_adds, 2);
	assert_int_equal(vm->state, VM_RUNNING);
	assert_int_equal(hc(HC_VM_START, id, 0, 0), -EINVAL);
	assert_int_equal(hc(HC_VM_PAUSE, id, 0, 0), 0);
	assert_int_equal(vm->state, VM_PAUSED);
	assert_int_equal(hc(HC_VM_RESUME, id, 0, 0), 0);
	assert_int_equal(hc(HC_VM_RESUME, id, 0, 0), -EINVAL);
	/* It resets itself: no rebuild, it stays, dead, with the reset as its end. */
	vm_power_event(vm, VM_END_RESET);
	vm->live_vcpus = 0;
	free_vcpus(vm);
	vmm_vm_finished(vm);
	assert_ptr_equal(s->vm, vm);
	assert_int_equal(live_vms, 1);
	assert_int_equal(calls_ioreq_ending, 1);
	assert_int_equal(calls_window_freeing, 0);
	assert_true(shim_log_contains("it stays ended until destroyed"));
	assert_int_equal(take_events(ev, 4), 1);
	assert_int_equal(ev[0].type, KEEL_EV_RESET);
	assert_int_equal(ev[0].vm_id, id);
	assert_string_equal(ev[0].name, "guest");
	memset(d, 0xa5, sizeof(*d));
	assert_int_equal(hc(HC_VM_INFO, id, OUT_GPA, 0), 0);
	assert_int_equal(d->info.state, KEEL_VM_DEAD);
	assert_int_equal(d->end, KEEL_EV_RESET);
	assert_string_equal(d->info.name, "guest");
	assert_int_equal(hc(HC_VM_INFO, id, MG_RAM - 8, 0), -EFAULT);
	assert_int_equal(hc(HC_VM_INFO, id + 1, OUT_GPA, 0), -ENOENT);
	/* Its console is still readable; its memory counted. */
	assert_int_equal(hc(HC_CONSOLE_READ, id, OUT_GPA, 100), 0);
	assert_int_equal(hc(HC_CONSOLE_READ, id, OUT_GPA, HC_CONSOLE_MAX + 1), -EINVAL);
	assert_int_equal(hc(HC_MEM_INFO, OUT_GPA, 0, 0), 0);
	assert_int_equal(((struct keel_mem_info *)(mg_ram + OUT_GPA))->vm_bytes, 4u << 20);
	assert_int_equal(hc(HC_VM_RESUME, id, 0, 0), -EINVAL);
	assert_int_equal(hc(HC_VM_DESTROY, id, 0, 0), 0);
	assert_int_equal(live_vms, 0);
	assert_int_equal(calls_window_freeing, 1);
	assert_null(s->vm);
	assert_false(s->in_use);
	assert_int_equal(take_events(ev, 4), 1);
	assert_int_equal(ev[0].type, KEEL_EV_DESTROYED);
	assert_int_equal(hc(HC_VM_DESTROY, id, 0, 0), -ENOENT);
	assert_int_equal(hc(HC_VM_INFO, id, OUT_GPA, 0), -ENOENT);
}

static void test_destroy_running_vm_frees_after_last_vcpu(void **state)
{
	struct keel_vm_create c = good_create("run");
	s64 id = create(&c);
	struct vm_config *s = fake_loaded(id, 1);
	struct vm *vm = s->vm;
	struct keel_event ev[4];

	assert_int_equal(hc(HC_VM_START, id, 0, 0), 0);
	assert_int_equal(hc(HC_VM_DESTROY, id, 0, 0), 0);
	/* Still in use by its vCPU: ended, not freed. */
	assert_int_equal(live_vms, 1);
	assert_int_equal(vm->state, VM_DEAD);
	assert_true(vm->crashed);
	assert_int_equal(hc(HC_VM_DESTROY, id, 0, 0), -EINVAL);
	/* Its name stays taken until it is gone. */
	assert_int_equal(create(&c), -EEXIST);
	retire_all(vm);
	assert_int_equal(live_vms, 0);
	assert_null(s->vm);
	assert_int_equal(take_events(ev, 4), 2);
	assert_int_equal(ev[0].type, KEEL_EV_CRASHED);
	assert_string_equal(ev[0].reason, "destroyed by the management VM");
	assert_int_equal(ev[1].type, KEEL_EV_DESTROYED);
	/* The name and the slot are free again. */
	assert_true(create(&c) > id);
}

static void test_destroy_waits_for_an_operation(void **state)
{
	struct keel_vm_create c = good_create("held");
	s64 id = create(&c);
	struct vm_config *s;
	int err;

	s = vmm_hold((u32)id, &err);
	assert_non_null(s);
	assert_null(vmm_hold((u32)id, &err));
	assert_int_equal(err, -EBUSY);
	assert_int_equal(hc(HC_VM_START, id, 0, 0), -EBUSY);
	/* From the console, by name, while an image copy holds it: done when it lets go. */
	assert_int_equal(vmm_destroy("held"), 0);
	assert_int_equal(live_vms, 1);
	vmm_release(s);
	assert_int_equal(live_vms, 0);
	assert_int_equal(calls_ioreq_ending, 1); /* never ran: its device model told here */
	assert_int_equal(vmm_destroy("held"), -ENOENT);
}

/* 200 VMs created and destroyed (some after their end, some never started, some with a staged
 * image): slots are reused, the list never grows, everything comes back. */
static void test_200_cycles_reuse_slots(void **state)
{
	struct keel_vm_image img = { .len = 64, .total = 128, .src_gpa = SRC_GPA };
	struct keel_event ev[KEEL_EVENTS_MAX];
	u64 free_before = free_pages;

	for (int i = 0; i < 200; i++) {
		struct keel_vm_create c = good_create(i % 2 ? "odd" : "even");
		s64 id = create(&c);

		assert_true(id > 0);
		if (i % 3 == 0) {
			assert_int_equal(image(id, img), 0);
		} else if (i % 3 == 1) {
			struct vm_config *s = fake_loaded(id, 1);

			assert_int_equal(hc(HC_VM_START, id, 0, 0), 0);
			vm_exit_status(s->vm, (u32)i);
			retire_all(s->vm);
			assert_int_equal(take_events(ev, 1), 1);
			assert_int_equal(ev[0].type, KEEL_EV_EXITED);
			assert_int_equal(ev[0].status, (u32)i);
		}
		assert_int_equal(hc(HC_VM_DESTROY, id, 0, 0), 0);
		mgmt_events_take(ev, KEEL_EVENTS_MAX);
		assert_int_equal(nr_vm_configs, 1);
	}
	assert_int_equal(free_pages, free_before);
	assert_int_equal(live_vms, 0);
	assert_int_equal(live_allocs, 0);
	/* And when two live at once, the second takes a second slot. */
	struct keel_vm_create a = good_create("a"), b = good_create("b");
	assert_true(create(&a) > 0);
	assert_true(create(&b) > 0);
	assert_int_equal(nr_vm_configs, 2);
}

static void test_console_input_and_bad_ids(void **state)
{
	struct keel_vm_create c = good_create("con");
	s64 id = create(&c);

	assert_int_equal(hc(HC_CONSOLE_INPUT, id, SRC_GPA, 10), 10);
	assert_int_equal(hc(HC_CONSOLE_INPUT, id, SRC_GPA, HC_CONSOLE_MAX + 1), -EINVAL);
	assert_int_equal(hc(HC_CONSOLE_INPUT, id, MG_RAM - 4, 10), -EFAULT);
	assert_int_equal(hc(HC_CONSOLE_INPUT, id + 7, SRC_GPA, 10), -ENOENT);
	assert_int_equal(hc(HC_VM_START, 0, 0, 0), -ENOENT);
	assert_int_equal(hc(HC_VM_PAUSE, 1ull << 40, 0, 0), -ENOENT);
	assert_int_equal(hc(0x10f, 0, 0, 0), -ENOSYS); /* the family's first unused number */
	assert_int_equal(hc(HC_MEM_INFO, MG_RAM - 8, 0, 0), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_rejects_each_bad_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_memory_bound_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_rejects_each_bad_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_rejects_each_bad_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_raise_upcall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_vm_held_dead_until_destroyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_running_vm_frees_after_last_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_waits_for_an_operation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_200_cycles_reuse_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_input_and_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_modules_read_only_copies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
