/* SPDX-License-Identifier: MIT */
/*
 * The memory window (vmm/mgmt_window.c) with the real TLB shootdown (vmm/tlb_sync.c) and the
 * real control function (vmm/dev/keelctl.c): a fake vcpu_ops records every change to the
 * management VM's nested page tables, every flush and every free, and fake vCPUs of the
 * management VM acknowledge a kick the way the run loop does. QEMU's TCG keeps no stale nested
 * TLB entries, so the destroy order is checked here: the window's entries go, every management
 * vCPU flushed or is out of guest mode, and only then do the table pages and the VM's RAM go.
 */
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include "kernel/sched.h"
#include "vmm/mgmt.h"
#include "vmm/platform.h"
#include "vmm/public/keel_hypercall.h"
#include "vmm/tlb_sync.h"
#include "vmm/vmm.h"

#define MEM64_FIRST GiB(4)
#define BAR2	    GiB(16) /* where the management VM placed BAR2 */
#define NR_MGMT	    3

static struct vm mgmt, guest, other, big;
static struct vcpu mv[NR_MGMT];
static hpa_t guest_chunks[515], other_chunks[2], big_chunks[1024];

/* What happened, in order, one line each. */
static char events[64][96];
static int nr_events;
static int map_fail_at = -1; /* the map() call (0, 1, ...) that returns -ENOMEM */
static int map_calls;
static u32 tables_freed;
static bool ack_by_entry = true; /* a kicked vCPU enters again (flushes) rather than just exits */

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	va_list ap;

	assert_true(nr_events < 64);
	va_start(ap, fmt);
	vsnprintf(events[nr_events++], sizeof(events[0]), fmt, ap);
	va_end(ap);
}

static const char *vm_name(const struct vm *vm)
{
	return vm->name;
}

static int fake_map(struct vm *vm, u64 gpa, hpa_t hpa, u64 size)
{
	if (map_calls++ == map_fail_at)
		return -ENOMEM;
	event("map %s %#llx %#llx %#llx", vm_name(vm), (unsigned long long)gpa, (unsigned long long)hpa,
	      (unsigned long long)size);
	return 0;
}

static int fake_unmap(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale)
{
	event("unmap %s %#llx %#llx", vm_name(vm), (unsigned long long)gpa, (unsigned long long)size);
	/* One page directory per GiB, as the real tables would have. */
	stale->nr = (u32)(size / GiB(1));
	for (u32 i = 0; i < stale->nr; i++)
		stale->t[i].table = 0x1000 * (i + 1), stale->t[i].level = 2;
	return 0;
}

/* The tables go only when no management vCPU can still use a translation through them. */
static void fake_free_tables(struct nested_stale *stale)
{
	for (u32 i = 0; i < mgmt.nr_vcpus; i++) {
		const struct vcpu *v = mgmt.vcpus[i];

		assert_true(!v->in_guest || v->tlb_gen_seen == mgmt.tlb_gen);
	}
	event("free_tables %u", stale->nr);
	tables_freed += stale->nr;
	stale->nr = 0;
}

static void fake_flush_tlb(struct vcpu *v)
{
	event("flush_tlb %s/%u", vm_name(v->vm), v->id);
}

u64 page_free_count(void)
{
	return 1000 + tables_freed; /* what free_tables gave back */
}

static const struct vcpu_ops fake_ops = {
	.name = "fake",
	.map = fake_map,
	.unmap = fake_unmap,
	.free_tables = fake_free_tables,
	.flush_tlb = fake_flush_tlb,
};
const struct vcpu_ops *vcpu_ops = &fake_ops;

/* A kicked vCPU in guest mode: the IPI ends its run (vcpu_tlb_exit); with ack_by_entry it also
 * enters again at once (vcpu_tlb_enter flushes first). */
void sched_kick(struct sched_entity *e)
{
	struct vcpu *v = container_of(e, struct vcpu, se);

	event("kick %s/%u", vm_name(v->vm), v->id);
	vcpu_tlb_exit(v);
	if (ack_by_entry)
		vcpu_tlb_enter(v);
}

static struct vm *const vms[] = { &mgmt, &guest, &other, &big };
static bool listed[4];

void vmm_for_each_vm(vm_visit_fn fn, void *arg)
{
	for (unsigned i = 0; i < 4; i++)
		if (listed[i])
			fn(vms[i], arg);
}

void platform_pci_windows(const struct vm *vm, struct vpci_windows *w)
{
	*w = (struct vpci_windows){ .mem64_first = MEM64_FIRST, .mem64_last = MEM64_FIRST + GiB(32) - 1 };
}

static void make_vm(struct vm *vm, const char *name, u32 id, hpa_t *chunks, u64 n)
{
	memset(vm, 0, sizeof(*vm));
	strcpy(vm->name, name);
	vm->id = id;
	vm->ram_size = n * VM_RAM_CHUNK;
	vm->ram_chunks = chunks;
	vm->nr_ram_chunks = n;
}

static void bar2_at(u64 addr)
{
	vpci_dev_cfg_write(&mgmt.ctl.pci, PCI_BAR0 + 8, 4, (u32)addr);
	vpci_dev_cfg_write(&mgmt.ctl.pci, PCI_BAR0 + 12, 4, (u32)(addr >> 32));
}

static void decode(bool on)
{
	vpci_dev_cfg_write(&mgmt.ctl.pci, PCI_COMMAND, 2, on ? PCI_CMD_MEMORY : 0);
}

static int setup(void **state)
{
	make_vm(&mgmt, "mgmt", 1, NULL, 0);
	mgmt.mgmt = mgmt.has_ctl = true;
	keelctl_init(&mgmt.ctl);
	bar2_at(BAR2);
	decode(true);
	for (u32 i = 0; i < NR_MGMT; i++) {
		mv[i] = (struct vcpu){ .vm = &mgmt, .id = i };
		mgmt.vcpus[i] = &mv[i];
	}
	mgmt.nr_vcpus = NR_MGMT;
	/* guest: 1 GiB in one host block, then 6 MiB: two contiguous chunks and a lone one. */
	make_vm(&guest, "guest", 2, guest_chunks, 515);
	for (u32 i = 0; i < 512; i++)
		guest_chunks[i] = (GiB(2) + i * VM_RAM_CHUNK) | (i ? 2 : 1);
	guest_chunks[512] = GiB(5);
	guest_chunks[513] = GiB(5) + VM_RAM_CHUNK;
	guest_chunks[514] = GiB(7);
	make_vm(&other, "other", 3, other_chunks, 2);
	other_chunks[0] = GiB(9), other_chunks[1] = GiB(9) + MiB(8);
	make_vm(&big, "big", 4, big_chunks, 1024);
	for (u32 i = 0; i < 1024; i++)
		big_chunks[i] = GiB(10) + i * VM_RAM_CHUNK;
	for (unsigned i = 0; i < 4; i++)
		listed[i] = true;
	nr_events = map_calls = 0;
	map_fail_at = -1;
	tables_freed = 0;
	ack_by_entry = true;
	/* vCPU 0 is the caller (in the hypercall: not in guest mode), 1 and 2 run the guest. */
	mv[1].in_guest = mv[2].in_guest = 1;
	shim_log_reset();
	return 0;
}

/* Leaves no window behind for the next test (the module's table is static). */
static int teardown(void **state)
{
	window_vm_freeing(&mgmt);
	return 0;
}

static s64 hc(u64 nr, u64 a0, u64 a1)
{
	return window_hypercall(&mv[0], nr, a0, a1, 0);
}

static void expect_events(const char *const *want, int n)
{
	for (int i = 0; i < n && i < nr_events; i++)
		assert_string_equal(events[i], want[i]);
	assert_int_equal(nr_events, n);
	nr_events = 0;
}

static void test_map_whole_ram_large_pages(void **state)
{
	static const char *const want[] = {
		"map mgmt 0x400000000 0x80000000 0x40000000", /* the 1 GiB block: one run */
		"map mgmt 0x440000000 0x140000000 0x400000",  /* two contiguous 2 MiB chunks */
		"map mgmt 0x440400000 0x1c0000000 0x200000",
	};

	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0);
	expect_events(want, 3);
	/* A second VM at the next GiB after the first one's two. */
	assert_int_equal(hc(HC_WINDOW_MAP, 3, BAR2 + GiB(2)), 0);
	assert_int_equal(nr_events, 2);
	assert_string_equal(events[0], "map mgmt 0x480000000 0x240000000 0x200000");
}

static void test_map_validation(void **state)
{
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 + MiB(2)), -EINVAL);	 /* not 1 GiB aligned */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 - GiB(1)), -EINVAL);	 /* below BAR2 */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 + GiB(15)), -EINVAL); /* 2 GiB from the last one */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 + GiB(16)), -EINVAL); /* past BAR2 */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, ~0ull << 30), -EINVAL);	 /* wraps */
	assert_int_equal(hc(HC_WINDOW_MAP, 9, BAR2), -ENOENT);		 /* no such VM */
	assert_int_equal(hc(HC_WINDOW_MAP, (1ull << 32) | 2, BAR2), -EINVAL);
	assert_int_equal(hc(HC_WINDOW_MAP, 1, BAR2), -EINVAL); /* the management VM itself */
	listed[1] = false;				       /* left the list: being freed */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), -ENOENT);
	listed[1] = true;
	assert_int_equal(nr_events, 0);

	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 + GiB(14)), 0); /* the last 2 GiB fit */
	nr_events = 0;
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), -EEXIST);		/* one window per VM */
	assert_int_equal(hc(HC_WINDOW_MAP, 3, BAR2 + GiB(15)), -EBUSY); /* overlaps guest's */
	assert_int_equal(hc(HC_WINDOW_MAP, 4, BAR2 + GiB(13)), -EBUSY); /* big's 2 GiB reach it */
	assert_int_equal(nr_events, 0);
	assert_int_equal(hc(HC_WINDOW_MAP, 4, BAR2 + GiB(12)), 0);
	assert_int_equal(hc(0x122, 2, 0), -ENOSYS);
	assert_int_equal(hc(HC_MGMT_LAST, 2, 0), -ENOSYS);
}

static void test_bar2_must_decode(void **state)
{
	decode(false);
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), -ENODEV);
	decode(true);
	bar2_at(0); /* not placed: BAR2 at 0, outside the 64-bit window (over RAM) */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, 0), -EINVAL);
	bar2_at(MEM64_FIRST + GiB(32)); /* past the root bridge's 64-bit window */
	assert_int_equal(hc(HC_WINDOW_MAP, 2, MEM64_FIRST + GiB(32)), -EINVAL);
	bar2_at(BAR2);
	mgmt.has_ctl = false;
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), -ENODEV);
	mgmt.has_ctl = true;
	assert_int_equal(nr_events, 0);
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0);
}

/* HC_WINDOW_UNMAP: the entries go, vCPUs in guest mode are kicked and flush, then the tables go;
 * the caller (vCPU 0) is not waited for and flushes at its next entry. */
static void test_unmap_order(void **state)
{
	static const char *const want[] = {
		"unmap mgmt 0x400000000 0x80000000",
		"kick mgmt/1",
		"flush_tlb mgmt/1",
		"kick mgmt/2",
		"flush_tlb mgmt/2",
		"free_tables 2",
	};

	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0);
	nr_events = 0;
	assert_int_equal(hc(HC_WINDOW_UNMAP, 2, 0), 0);
	expect_events(want, 6);
	assert_int_equal(tables_freed, 2);
	assert_true(shim_log_contains("vm mgmt: window onto VM 2 unmapped, TLBs flushed; 2 of its 0 page-table pages"));
	assert_int_not_equal(mv[0].tlb_gen_seen, mgmt.tlb_gen);
	vcpu_tlb_enter(&mv[0]); /* the caller goes back to its guest: flushes first */
	assert_string_equal(events[0], "flush_tlb mgmt/0");
	vcpu_tlb_exit(&mv[0]);
	nr_events = 0;
	assert_int_equal(hc(HC_WINDOW_UNMAP, 2, 0), -ENOENT); /* gone */
	assert_int_equal(hc(HC_WINDOW_UNMAP, 3, 0), -ENOENT); /* never had one */
	assert_int_equal(nr_events, 0);
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0); /* the place is free again */
}

/* A kicked vCPU that only leaves guest mode (and has not entered again) is not waited for: it
 * flushes before its next entry. One already flushed for this generation is not kicked. */
static void test_flush_waits_only_for_guest_mode(void **state)
{
	ack_by_entry = false;
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0);
	nr_events = 0;
	assert_int_equal(hc(HC_WINDOW_UNMAP, 2, 0), 0);
	assert_int_equal(nr_events, 4);
	assert_string_equal(events[1], "kick mgmt/1");
	assert_string_equal(events[2], "kick mgmt/2");
	assert_string_equal(events[3], "free_tables 2");
	assert_false(mv[1].in_guest || mv[2].in_guest);
	nr_events = 0;
	for (u32 i = 0; i < NR_MGMT; i++)
		vcpu_tlb_enter(&mv[i]);
	assert_int_equal(nr_events, 3); /* each flushes on its way in */
	nr_events = 0;
	vcpu_tlb_exit(&mv[0]);
	/* 1 and 2 in guest mode with the current generation: a flush kicks them both... */
	vm_tlb_flush_sync(&mgmt);
	assert_int_equal(nr_events, 2);
	nr_events = 0;
	/* ...and nobody when nobody runs the guest. */
	vcpu_tlb_exit(&mv[1]);
	vcpu_tlb_exit(&mv[2]);
	vm_tlb_flush_sync(&mgmt);
	assert_int_equal(nr_events, 0);
}

/* The VM goes (vmm_vm_finished): window_vm_freeing returns only after the unmap and the flush,
 * and its RAM is freed after that. */
static void test_destroy_order(void **state)
{
	static const char *const want[] = {
		"unmap mgmt 0x480000000 0x80000000",
		"kick mgmt/1",
		"flush_tlb mgmt/1",
		"kick mgmt/2",
		"flush_tlb mgmt/2",
		"free_tables 2",
		"free guest's RAM",
	};

	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2 + GiB(2)), 0);
	assert_int_equal(hc(HC_WINDOW_MAP, 3, BAR2), 0);
	nr_events = 0;
	listed[1] = false; /* vmm_vm_finished: out of the list, then the hook, then vm_destroy */
	window_vm_freeing(&guest);
	event("free guest's RAM");
	expect_events(want, 7);
	/* A VM without a window goes with no unmap and no flush. */
	listed[3] = false;
	window_vm_freeing(&big);
	assert_int_equal(nr_events, 0);
	/* other's window is untouched: still there to unmap. */
	assert_int_equal(hc(HC_WINDOW_UNMAP, 3, 0), 0);
}

/* A mapping that fails half way (no memory for a table) is taken back the same way. */
static void test_map_failure_undone(void **state)
{
	map_fail_at = 1;
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), -ENOMEM);
	assert_int_equal(nr_events, 7);
	assert_string_equal(events[1], "unmap mgmt 0x400000000 0x80000000");
	assert_string_equal(events[6], "free_tables 2");
	map_fail_at = -1;
	nr_events = 0;
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0); /* nothing of it remained */
}

/* The management VM itself goes: its windows' bookkeeping goes with it (its nested tables are
 * freed whole by vm_destroy), nothing is unmapped or flushed, and a later VM's end finds none. */
static void test_mgmt_freeing_drops_windows(void **state)
{
	assert_int_equal(hc(HC_WINDOW_MAP, 2, BAR2), 0);
	nr_events = 0;
	listed[0] = false;
	window_vm_freeing(&mgmt);
	assert_int_equal(nr_events, 0);
	window_vm_freeing(&guest);
	assert_int_equal(nr_events, 0);
	assert_int_equal(hc(HC_WINDOW_UNMAP, 2, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_whole_ram_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar2_must_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_waits_only_for_guest_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_failure_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mgmt_freeing_drops_windows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
