/* SPDX-License-Identifier: MIT */
/* Virtual machines: memory map, vCPUs, lifecycle and how each one ended. Vendor-neutral. */
#ifndef KEEL_VMM_VM_H
#define KEEL_VMM_VM_H

#include "arch/x86/memlayout.h"
#include "kernel/spinlock.h"
#include "kernel/types.h"
#include "vmm/dev/keelctl.h"
#include "vmm/dev/vacpi.h"
#include "vmm/dev/vioapic.h"
#include "vmm/dev/vpci.h"
#include "vmm/dev/vpic.h"
#include "vmm/dev/vpit.h"
#include "vmm/dev/vrtc.h"
#include "vmm/dev/vuart.h"
#include "vmm/vcpu.h"
#include "vmm/vm_config.h"
#include "vmm/public/keel_hypercall.h"

typedef u64 gpa_t;
#define INVALID_GPA (~(gpa_t)0)

#define VM_NAME_MAX	     32
#define VM_MAX_REGIONS	     8
#define VM_MAX_VCPUS	     VM_CONFIG_MAX_VCPUS
#define VM_MAX_IO_HANDLERS   24
#define VM_MAX_MMIO_HANDLERS 16
#define VM_CRASH_MAX	     128
#define VM_CONLOG_SIZE	     8192 /* a power of two */
/* A VM's RAM runs from 0 up to the hole below 4 GiB, which holds the local APIC, the I/O APIC
 * and room for device BARs; the rest continues at 4 GiB, as on a PC. */
#define VM_RAM_HOLE GiB(3)
#define VM_HIGH_RAM GiB(4)

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_DEAD };
enum vm_end { VM_END_STATUS, VM_END_POWEROFF, VM_END_RESET };
enum vm_region_type { VM_REGION_RAM, VM_REGION_MMIO, VM_REGION_RESERVED };

struct vm_region {
	gpa_t base;
	u64 size;
	enum vm_region_type type;
	hpa_t hpa; /* RAM: host-physical base (contiguous in 2 MiB chunks, see vm.c) */
};

struct vm;
/* Port I/O handler, called on the exiting vCPU: in=true reads into *val (size 1, 2 or 4 bytes). */
typedef void (*vm_io_fn)(struct vcpu *v, u16 port, unsigned size, bool in, u32 *val);

#define VM_IO_PORTS 65536

struct vm_io_handler {
	u16 base, count;
	vm_io_fn fn;
};

/* MMIO handler: write=true passes *val (size 1, 2, 4 or 8 bytes), else fills it. */
typedef void (*vm_mmio_fn)(struct vcpu *v, u64 gpa, unsigned size, bool write, u64 *val);

struct vm_mmio_handler {
	u64 base, size;
	vm_mmio_fn fn;
};

/*
 * I/O requests (vmm/ioreq.c): the device model that serves this VM through a page of the
 * management VM's RAM, and what it claimed. `lock` guards it all (taken before the management
 * VM's vm->lock, never under a vm->lock); the exit path reads io_map and the counters unlocked.
 */
struct vm_ioreq_claim {
	struct vm_mmio_handler h; /* MMIO: what the emulator calls (h.fn is ioreq's) */
	struct keel_claim c;
	u8 io_prev; /* PIO: the io_map value the claimed ports had (the PCI I/O window's, or 0) */
};
struct vm_ioreq {
	spinlock_t lock;
	struct keel_ioreq_page *page; /* the management VM's page, mapped; NULL: not served */
	struct vm *dm;		      /* the management VM, while page is set */
	u64 used;		      /* bit n: claims[n] in use */
	u32 nr_mmio;		      /* MMIO claims in use: mmio_find skips them all when 0 */
	u8 io_slot;		      /* 1 + the index in io[] of the claimed ports' handler, 0: none yet */
	u8 pci_fns[32];		      /* bit f of [d]: function 00:d.f is claimed */
	struct vm_ioreq_claim claims[KEEL_CLAIMS_MAX];
};

struct vm {
	char name[VM_NAME_MAX];
	u32 id;
	volatile enum vm_state state;
	u64 ram_size; /* all of it: low_ram from 0, ram_size - low_ram from VM_HIGH_RAM */
	u64 low_ram;
	u64 tsc_offset; /* guest TSC = host TSC + tsc_offset, the same on every vCPU and CPU */
	struct vm_region regions[VM_MAX_REGIONS];
	u32 nr_regions;
	hpa_t *ram_chunks; /* host pages backing RAM, one per 2 MiB chunk (low bits: vm.c) */
	u64 nr_ram_chunks;
	u32 nr_huge_blocks; /* GiBs backed by one 1 GiB host block */
	struct vcpu *vcpus[VM_MAX_VCPUS];
	u32 nr_vcpus;
	struct vm_io_handler io[VM_MAX_IO_HANDLERS];
	u32 nr_io;
	u8 *io_map; /* 65536 ports: 0, or 1 + the index in io[] of the handler that claims it */
	struct vm_mmio_handler mmio[VM_MAX_MMIO_HANDLERS]; /* never backed by RAM: every access exits */
	u32 nr_mmio;
	u32 live_vcpus;	      /* vCPUs still under the scheduler */
	bool mgmt;	      /* the management VM: allowed the management hypercalls */
	u64 tlb_gen;	      /* bumped by vm_tlb_flush_sync: each vCPU flushes before it enters again */
	struct sched_cap cap; /* shared by its vCPUs (cap=) */
	/* How it ended: a status from the guest, or a crash reason from Keel. */
	bool ending; /* set once, by whoever ends it first */
	bool crashed;
	enum vm_end end; /* when not crashed: a status, or the guest's poweroff or reset */
	u32 exit_status;
	char crash_reason[VM_CRASH_MAX];
	/* COM1 output is gathered into lines and printed with the VM's name (vmm/dev/vuart.c), by
	 * one CPU at a time: whoever holds con_lock (taken before uart.lock, never under it). */
	spinlock_t con_lock;
	char con_line[160];
	u32 con_len;
	u8 con_seq[4]; /* the start of a UTF-8 sequence, held until it is complete and checked */
	u8 con_seq_len;
	/* The same lines kept for the management VM (HC_CONSOLE_READ takes them), each ending in
	 * '\n'; a full ring drops its oldest bytes. Under conlog_lock (taken under con_lock). */
	spinlock_t conlog_lock;
	u32 conlog_head, conlog_count;
	char conlog[VM_CONLOG_SIZE];
	spinlock_t lock;
	/* Platform devices every VM has (reset and given their ports by platform_init()), under `lock`. */
	struct vpic pic;
	struct vpit pit;
	struct guest_uart uart; /* COM1 (vmm/dev/vuart.c) */
	struct vioapic ioapic;
	struct vrtc rtc;
	struct vacpi acpi; /* PM timer, PM1 blocks, 0xcf9 and the 8042's reset line */
	struct vpci_bus pci;
	bool has_ctl; /* the Keel control function at 00:02.0 (vm=...,ctl=on) */
	/* I/O requests to the management VM's device model (vmm/ioreq.c). */
	struct vm_ioreq ioreq;
	struct keelctl ctl;
	union {
		struct svm_vm svm;
		struct vmx_vm vmx;
	} arch;
};

struct vm *vm_create(const char *name, u64 ram_size);
/* Returns every page to the allocator; the VM must not be running. */
void vm_destroy(struct vm *vm);
int vm_io_register(struct vm *vm, u16 base, u16 count, vm_io_fn fn);
/* An MMIO region outside RAM, page aligned; accesses to it go to fn. */
int vm_mmio_register(struct vm *vm, u64 base, u64 size, vm_mmio_fn fn);

/* Where gpa falls in the VM's RAM counted without the hole (*off), and how many bytes of RAM
 * follow it without a gap (*room); false outside RAM. */
static inline bool vm_ram_offset(const struct vm *vm, gpa_t gpa, u64 *off, u64 *room)
{
	if (gpa < vm->low_ram) {
		*off = gpa;
		*room = vm->low_ram - gpa;
		return true;
	}
	if (gpa >= VM_HIGH_RAM && gpa - VM_HIGH_RAM < vm->ram_size - vm->low_ram) {
		*off = vm->low_ram + (gpa - VM_HIGH_RAM);
		*room = vm->ram_size - *off;
		return true;
	}
	return false;
}

/* RAM is backed by host blocks of VM_RAM_CHUNK bytes (ram_chunks[]; the low bits are vm.c's flags),
 * and each RAM range starts and ends on a chunk boundary. */
#define VM_RAM_CHUNK	   MiB(2)
#define VM_RAM_CHUNK_FLAGS 3ull

/* The host's address of RAM byte gpa, valid to the end of its 2 MiB chunk (so for the rest of its
 * page, or an aligned load of up to 8 bytes); NULL outside RAM. The exit path's page walk uses it. */
static inline void *vm_ram_ptr(const struct vm *vm, gpa_t gpa)
{
	u64 off = gpa;

	if (gpa >= vm->low_ram) {
		if (gpa < VM_HIGH_RAM || gpa - VM_HIGH_RAM >= vm->ram_size - vm->low_ram)
			return NULL;
		off = vm->low_ram + (gpa - VM_HIGH_RAM);
	}
	return phys_to_virt((vm->ram_chunks[off / VM_RAM_CHUNK] & ~VM_RAM_CHUNK_FLAGS) + off % VM_RAM_CHUNK);
}

/* The guest-physical address of RAM offset off (off < ram_size). */
static inline gpa_t vm_ram_gpa(const struct vm *vm, u64 off)
{
	return off < vm->low_ram ? off : VM_HIGH_RAM + (off - vm->low_ram);
}

/* Guest-physical RAM access, bounds-checked; -EFAULT outside RAM. */
int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len);
int gpa_write(struct vm *vm, gpa_t gpa, const void *buf, u64 len);
/* Host-physical page behind a RAM gpa, or INVALID_HPA. */
hpa_t gpa_to_hpa(struct vm *vm, gpa_t gpa);
/*
 * The host's view of RAM [gpa, gpa + len), when the range lies in one host block (a 2 MiB chunk),
 * else NULL. For building a VM's memory before it runs (its firmware tables, a zero page), so that
 * each build writes straight into its own VM and builds on several CPUs share no buffer; and for
 * single reads of what a running guest controls (a page-table entry, an instruction byte), each
 * loaded once. Anything larger that a running guest controls is copied once with gpa_read.
 */
void *gpa_map(struct vm *vm, gpa_t gpa, u64 len);
/* One naturally aligned load of 4 or 8 bytes from guest RAM (a page-table entry), read once;
 * -EFAULT outside RAM. */
int gpa_load(struct vm *vm, gpa_t gpa, unsigned size, u64 *val);

/* Ends the VM because of something the guest did; logged once with the reason. */
void vm_crash(struct vm *vm, const char *fmt, ...) __printf(2, 3);
/* Ends the VM with a status the guest chose (debug-exit port, HC_EXIT). */
void vm_exit_status(struct vm *vm, u32 status);
/* Ends the VM because the guest powered it off (ACPI S5) or reset it (0xCF9, 8042, ACPI reset
 * register); after a reset vmm_vm_finished builds it again unless its declaration says
 * on_reset=end. */
void vm_power_event(struct vm *vm, enum vm_end how);

#endif
