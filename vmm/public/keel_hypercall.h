/* SPDX-License-Identifier: MIT */
/*
 * Keel hypercall ABI, shared by the hypervisor and guest-side code (test guests, later the
 * management guest's kernel module). Fixed-width types only.
 *
 * Instruction: VMMCALL on AMD, VMCALL on Intel (CPUID leaf 0x40000000 identifies Keel).
 * 64-bit guests: RAX = number, RDI, RSI, RDX = arguments, result in RAX.
 * 32-bit guests: EAX = number, EBX, ECX, EDX = arguments, result in EAX (sign-extended errno).
 * Every other register is preserved. Results: >= 0 success, or a negative KEEL_E* (below).
 * Guest addresses are guest-physical; the hypervisor copies what it needs once.
 *
 * Freestanding: guest code compiles this header too (the test guests with -Ivmm/public), so it
 * includes nothing but <stdint.h>.
 */
#ifndef KEEL_PUBLIC_HYPERCALL_H
#define KEEL_PUBLIC_HYPERCALL_H

#include <stdint.h>

#define KEEL_CPUID_BASE	     0x40000000u /* EBX,ECX,EDX = "KeelKeelKeel", EAX = max leaf */
#define KEEL_CPUID_SIGNATURE "KeelKeelKeel"

#define KEEL_ABI_VERSION 1

enum keel_hypercall {
	HC_VERSION = 0,	      /* () -> KEEL_ABI_VERSION */
	HC_CONSOLE_WRITE = 1, /* (gpa, len) -> bytes written; len <= HC_CONSOLE_MAX */
	HC_EXIT = 2,	      /* (status) -> does not return: the VM ends with that status */
	/*
	 * Management hypercalls, HC_MGMT_FIRST to HC_MGMT_LAST: only the management VM (vm=...,mgmt
	 * on Keel's command line) may make them; any other VM gets -KEEL_EPERM for every number in
	 * the range, known or not, and nothing changes.
	 */
	HC_MGMT_FIRST = 0x100,
	HC_MGMT_LAST = 0x1ff,
	/* (gpa, max) -> the number of VMs (n); writes min(n, max) struct keel_vm_info at gpa, in id
	 * order. max <= KEEL_VM_LIST_MAX, else -KEEL_EINVAL. */
	HC_VM_LIST = 0x100,

	/* VM lifecycle (docs/mgmt.md). A VM created here is bounded by the memory Keel has free. */
	HC_VM_CREATE = 0x101,	  /* (gpa of struct keel_vm_create) -> the new VM's id (created, not loaded) */
	HC_VM_IMAGE = 0x102,	  /* (id, gpa of struct keel_vm_image) -> 0: one piece of a boot image */
	HC_VM_LOAD = 0x103,	  /* (id, gpa of struct keel_vm_load) -> 0: Keel's loader runs on the images */
	HC_VM_START = 0x104,	  /* (id) -> 0: loaded -> running */
	HC_VM_PAUSE = 0x105,	  /* (id) -> 0: running -> paused */
	HC_VM_RESUME = 0x106,	  /* (id) -> 0: paused -> running */
	HC_VM_DESTROY = 0x107,	  /* (id) -> 0: the VM ends (if it runs) and its memory is freed */
	HC_VM_INFO = 0x108,	  /* (id, gpa of struct keel_vm_detail) -> 0 */
	HC_EVENTS = 0x109,	  /* (gpa, max) -> n: takes up to max struct keel_event, oldest first */
	HC_CONSOLE_READ = 0x10a,  /* (id, gpa, len) -> bytes: takes the VM's console output */
	HC_CONSOLE_INPUT = 0x10b, /* (id, gpa, len) -> bytes queued to the VM's COM1 input */
	HC_MEM_INFO = 0x10c,	  /* (gpa of struct keel_mem_info) -> 0 */
	/* The management VM's own boot modules (mods= in its vm= declaration), read-only. */
	HC_MOD_INFO = 0x10d, /* (index, gpa of struct keel_module_info) -> 0; -ENOENT past the last */
	HC_MOD_READ = 0x10e, /* (gpa of struct keel_module_read) -> bytes copied (0 at the end) */

	/* I/O requests (docs/mgmt.md): a device model serves a VM's claimed ports, MMIO and PCI
	 * functions through one shared page, struct keel_ioreq_page, in the management VM's RAM. */
	HC_IOREQ_ATTACH = 0x110,  /* (id, gpa of the page) -> 0: that page serves the VM from now on */
	HC_IOREQ_CLAIM = 0x111,	  /* (id, gpa of struct keel_claim) -> claim number (>= 0) */
	HC_IOREQ_UNCLAIM = 0x112, /* (id, claim number) -> 0 */
	HC_IOREQ_NOTIFY = 0x113,  /* (id, vCPU) -> 0: that vCPU's slot is KEEL_IOREQ_DONE: wake it */
	HC_IOREQ_DETACH = 0x114,  /* (id, reason gpa or 0) -> 0: the device model is gone; see below */
	HC_IRQ_BATCH = 0x118,	  /* (id, gpa of struct keel_irq[n], n) -> n delivered, or the first error */

	/* The memory window: a VM's RAM mapped into the management VM's address space in the
	 * control function's BAR2 (vmm/dev/keelctl.h; docs/mgmt.md). MAP: the window, rounded up
	 * to whole GiBs, inside BAR2 as placed now and the 64-bit PCI window (else -EINVAL, as for
	 * the management VM itself), one per VM (-EEXIST), no overlap (-EBUSY), -ENOENT for no
	 * such VM, -ENODEV while BAR2 does not decode. Linux errno values, as the others. */
	HC_WINDOW_MAP = 0x120,	 /* (id, gpa in BAR2, 1 GiB aligned) -> 0: maps all its RAM there */
	HC_WINDOW_UNMAP = 0x121, /* (id) -> 0: unmapped and every management vCPU's TLB flushed */
};

#define HC_CONSOLE_MAX 4096u

/* Errors, returned negated: Linux's errno numbers, which the hypervisor uses too. */
#define KEEL_EPERM  1  /* any call made at CPL > 0 (user space): refused, nothing done */
#define KEEL_EFAULT 14 /* a guest address outside the VM's RAM */
#define KEEL_EINVAL 22 /* a bad length or argument */
#define KEEL_ENOSYS 38 /* an unknown hypercall number */
/* The lifecycle's (HC_VM_CREATE..HC_MEM_INFO) besides those. */
#define KEEL_ENOENT 2  /* no VM with that id */
#define KEEL_ENOMEM 12 /* not enough free memory (Keel's log says how much was asked and is free) */
#define KEEL_EBUSY  16 /* another operation on that VM is under way */
#define KEEL_EEXIST 17 /* a live VM has that name */
#define KEEL_ENOSPC 28 /* Keel holds as many VMs as it can (32) */

/* What HC_VM_LIST reports of each VM (72 bytes, no padding). */
#define KEEL_VM_LIST_MAX 64
#define KEEL_VM_NAME_MAX 32
enum keel_vm_state {
	KEEL_VM_CREATED = 0, /* built, not started yet */
	KEEL_VM_RUNNING = 1,
	KEEL_VM_PAUSED = 2,
	KEEL_VM_DEAD = 3, /* ended, its pages not yet returned */
};
#define KEEL_VM_F_MGMT 1u /* the management VM */
struct keel_vm_info {
	uint32_t id;
	uint32_t state; /* enum keel_vm_state */
	uint32_t vcpus;
	uint32_t flags; /* KEEL_VM_F_* */
	uint64_t mem_bytes;
	uint64_t exits;		     /* VM exits of all its vCPUs */
	uint64_t run_ns;	     /* time its vCPUs ran (guest and exit handling) */
	char name[KEEL_VM_NAME_MAX]; /* NUL-terminated */
};
_Static_assert(sizeof(struct keel_vm_info) == 72, "struct keel_vm_info is 72 bytes");

/*
 * VM lifecycle. HC_VM_CREATE takes struct keel_vm_create; names are unique among live VMs, 1-31
 * characters of [A-Za-z0-9_.-]. mem_bytes is rounded up to 2 MiB, at least 4 MiB; vcpus 1-8;
 * weight 1-65535 (0: 256); cap_pct 0 (none) to 100 x vcpus; affinity[i] bit n = CPU n (0: any).
 * The boot image is handed over in pieces (HC_VM_IMAGE, each at most KEEL_IMAGE_PIECE bytes,
 * copied once from the management VM's RAM), then HC_VM_LOAD runs Keel's own loaders on it,
 * the same that load the VMs of Keel's command line: a multiboot kernel (image 0) with modules
 * (images 1..n) or a Linux bzImage (image 0) with an initramfs (image 1). Keel keeps no copy
 * after the load.
 *
 * The pieces of an image come in order: the first has offset 0 (and makes Keel set aside
 * `total` bytes, counted against its free memory: -KEEL_ENOMEM), each next one starts where the
 * previous ended; a piece with offset 0 starts the image again. HC_VM_IMAGE and HC_VM_LOAD take
 * a VM that is created and not yet loaded; HC_VM_START one that is loaded. A failed load
 * (-KEEL_EINVAL: an image Keel's loader refuses, or one not complete) changes nothing; after a
 * -KEEL_ENOMEM from the load the VM can only be destroyed. The management VM cannot pause,
 * resume or destroy itself (-KEEL_EINVAL). A VM created here that ends stays in the list
 * (KEEL_VM_DEAD, HC_VM_INFO says how it ended) with its memory until HC_VM_DESTROY.
 */
#define KEEL_VM_MAX_VCPUS 8
#define KEEL_IMAGE_PIECE  65536u
#define KEEL_IMAGE_MAX	  4 /* images per VM: kernel + 3 modules */
#define KEEL_CMDLINE_MAX  256
struct keel_vm_create {
	char name[KEEL_VM_NAME_MAX];
	uint64_t mem_bytes;
	uint32_t vcpus;
	uint32_t weight;
	uint32_t cap_pct;
	uint32_t flags; /* 0 */
	uint64_t affinity[KEEL_VM_MAX_VCPUS];
};
struct keel_vm_image {
	uint32_t image;	 /* 0 .. KEEL_IMAGE_MAX - 1 */
	uint32_t len;	 /* bytes at src_gpa, 1 .. KEEL_IMAGE_PIECE */
	uint64_t total;	 /* the whole image's size: the same for every piece, at most 256 MiB */
	uint64_t offset; /* where this piece goes in the image; offset + len <= total */
	uint64_t src_gpa;
};
enum keel_boot_kind { KEEL_BOOT_MULTIBOOT = 0, KEEL_BOOT_LINUX = 1 };
struct keel_vm_load {
	uint32_t kind;					/* enum keel_boot_kind */
	uint32_t images;				/* how many of images 0.. are used (every one complete) */
	char cmdline[KEEL_IMAGE_MAX][KEEL_CMDLINE_MAX]; /* per image, NUL-terminated */
};
/* HC_VM_INFO: a struct keel_vm_info and more. */
struct keel_vm_detail {
	struct keel_vm_info info;
	uint64_t exits_by_reason[32]; /* Keel's exit reasons (docs/mgmt.md lists them) */
	uint64_t vcpu_run_ns[KEEL_VM_MAX_VCPUS];
	uint32_t end;	  /* when dead: enum keel_event_type of how it ended */
	uint32_t status;  /* its exit status, when it ended with one */
	char reason[128]; /* a crash's reason */
};
/* HC_MEM_INFO */
struct keel_mem_info {
	uint64_t total_bytes; /* RAM Keel manages */
	uint64_t free_bytes;  /* free now: the most a new VM can have, less Keel's own structures */
	uint64_t vm_bytes;    /* given to VMs */
	uint64_t reserved;
};

/*
 * Boot modules for the management VM: the modules its vm= declaration lists in mods= (GRUB
 * module2 lines, keel.cfg module= lines, qemu -initrd), numbered 0.. in that order, which it reads
 * but cannot change: kernels, initramfs and disk images for the VMs it creates (docs/mgmt.md).
 * HC_MOD_INFO gives a module's size and name: the last path component of the first word of its
 * command line (what GRUB and QEMU put there), with any byte outside [A-Za-z0-9._+-] made '_',
 * and "module-N" when that leaves nothing usable. HC_MOD_READ copies
 * min(len, size - offset) bytes from `offset` to the management VM's RAM at `buf` (one RAM range;
 * else -EFAULT): len at most KEEL_MODULE_READ_MAX, offset at most the size (else -EINVAL).
 */
#define KEEL_MODULE_NAME_MAX 56u
#define KEEL_MODULE_READ_MAX 65536u
struct keel_module_info {
	uint64_t size;
	char name[KEEL_MODULE_NAME_MAX]; /* NUL-terminated */
};
_Static_assert(sizeof(struct keel_module_info) == 64, "struct keel_module_info is 64 bytes");
struct keel_module_read {
	uint32_t index;
	uint32_t len;
	uint64_t offset;
	uint64_t buf; /* guest-physical */
};
_Static_assert(sizeof(struct keel_module_read) == 24, "struct keel_module_read is 24 bytes");

/*
 * Events: Keel queues one when a VM ends (and for a VM created at run time that resets: it stops
 * in the "reset" end and stays until destroyed, since it has no boot modules to be built again
 * from) and raises upcall vector KEEL_UPCALL_EVENT of the control function. A full queue drops
 * the oldest and counts it in the next event's `dropped`.
 */
enum keel_event_type {
	KEEL_EV_EXITED = 1,   /* status: what the guest chose (HC_EXIT, the debug-exit port) */
	KEEL_EV_POWEROFF = 2, /* ACPI S5 */
	KEEL_EV_RESET = 3,    /* the guest reset itself */
	KEEL_EV_CRASHED = 4,  /* reason: why */
	KEEL_EV_DESTROYED = 5 /* its memory is free and its id unused */
};
struct keel_event {
	uint32_t vm_id;
	uint32_t type; /* enum keel_event_type */
	uint32_t status;
	uint32_t dropped; /* events lost before this one */
	char name[KEEL_VM_NAME_MAX];
	char reason[96];
};
#define KEEL_EVENTS_MAX 64

/* Upcalls: MSI-X vectors of the control function. */
#define KEEL_UPCALL_IOREQ 0 /* a request or a doorbell, sent only while the device model sleeps */
#define KEEL_UPCALL_EVENT 1 /* an event is queued */

/*
 * I/O requests. The page given to HC_IOREQ_ATTACH (4 KiB, page aligned, in the management VM's
 * RAM; Keel keeps using it until HC_IOREQ_DETACH or the end of either VM) holds one slot per vCPU
 * of the served VM. Keel reads every field the device model writes once, and checks it.
 *
 * A claimed access: Keel fills slot[vcpu] (type, addr, size, dir, data for writes, seq) and sets
 * state to PENDING last; the vCPU waits. The device model answers by writing data (reads) and
 * then state = DONE; if vcpu_blocked is set it calls HC_IOREQ_NOTIFY(id, vcpu). Keel takes the
 * answer (state back to FREE) and completes the instruction. Writes wait for completion too
 * (ordered with the next access), except doorbells: a write that matches a claim with
 * KEEL_CLAIM_DOORBELL only sets its bit in `doorbells` (coalesced) and the vCPU goes on.
 * String and REP I/O arrive one element per request, as plain PIO or MMIO requests. A CF8/CFC
 * access to a claimed PCI function arrives as one KEEL_IOREQ_PCI_CFG request (addr = bus << 16 |
 * device << 11 | function << 8 | register, register 0-255, size 1/2/4 within a dword).
 *
 * Upcalls: a device model that sleeps sets dm_sleeping = 1, then looks at the slots and the
 * doorbells once more, then sleeps; Keel, after it publishes a request or a doorbell, raises
 * KEEL_UPCALL_IOREQ only if dm_sleeping is set (and clears it). A device model that polls keeps
 * it 0 and costs no upcall.
 *
 * HC_IOREQ_DETACH, or the management VM's end: every outstanding and later claimed access
 * completes at once, reads all-ones, and the VM ends with a reason that names the cause.
 */
#define KEEL_IOREQ_MAGIC   0x51524f49u /* "IORQ" */
#define KEEL_IOREQ_VERSION 1
enum keel_ioreq_state { KEEL_IOREQ_FREE = 0, KEEL_IOREQ_PENDING = 1, KEEL_IOREQ_DONE = 2 };
enum keel_ioreq_type { KEEL_IOREQ_PIO = 0, KEEL_IOREQ_MMIO = 1, KEEL_IOREQ_PCI_CFG = 2 };
enum keel_ioreq_dir { KEEL_IOREQ_WRITE = 0, KEEL_IOREQ_READ = 1 };
struct keel_ioreq {
	uint32_t state; /* enum keel_ioreq_state */
	uint32_t type;	/* enum keel_ioreq_type */
	uint64_t addr;
	uint64_t data;
	uint32_t size;	       /* 1, 2, 4 or 8 */
	uint32_t dir;	       /* enum keel_ioreq_dir */
	uint32_t claim;	       /* the claim number that matched */
	uint32_t vcpu_blocked; /* Keel: the vCPU sleeps; after DONE, HC_IOREQ_NOTIFY */
	uint64_t seq;	       /* counts this vCPU's requests */
	uint8_t reserved[16];
};
_Static_assert(sizeof(struct keel_ioreq) == 64, "struct keel_ioreq is 64 bytes");
struct keel_ioreq_page {
	uint32_t magic;	      /* KEEL_IOREQ_MAGIC, written by Keel at attach */
	uint32_t version;     /* KEEL_IOREQ_VERSION */
	uint32_t vm_id;	      /* the VM served */
	uint32_t nr_vcpus;    /* slots used */
	uint32_t dm_sleeping; /* the device model: 1 before it sleeps */
	uint32_t reserved0;
	uint64_t doorbells; /* bit n: doorbell claim n was written; Keel ORs, the device model swaps 0 */
	uint8_t reserved[32];
	struct keel_ioreq slot[KEEL_VM_MAX_VCPUS];
};
_Static_assert(sizeof(struct keel_ioreq_page) <= 4096, "struct keel_ioreq_page fits a page");

/* HC_IOREQ_CLAIM: a port range, an MMIO range (page aligned, outside the VM's RAM and Keel's
 * own devices) or a PCI function (bus 0; its whole configuration space). Claims of one VM do not
 * overlap each other or Keel's devices. KEEL_CLAIM_DOORBELL: writes of `size` bytes to exactly
 * `base` (and, with KEEL_CLAIM_DATAMATCH, of value `data`) are doorbells; doorbell claims may lie
 * inside a wider claim of the same VM and take precedence. Up to 64 claims per VM; a doorbell
 * claim's number is its bit in `doorbells`. */
#define KEEL_CLAIM_DOORBELL  1u
#define KEEL_CLAIM_DATAMATCH 2u
#define KEEL_CLAIMS_MAX	     64
struct keel_claim {
	uint32_t type;	/* enum keel_ioreq_type */
	uint32_t flags; /* KEEL_CLAIM_* */
	uint64_t base;	/* port, gpa, or for PCI_CFG device << 3 | function */
	uint64_t size;	/* ports or bytes (1 for PCI_CFG); doorbells: the write size */
	uint64_t data;	/* KEEL_CLAIM_DATAMATCH */
};

/* HC_IRQ_BATCH: interrupts into a VM, in order, up to KEEL_IRQ_BATCH_MAX per call. A running
 * target vCPU is kicked; a halted one wakes. */
#define KEEL_IRQ_BATCH_MAX 64
enum keel_irq_kind {
	KEEL_IRQ_MSI = 0,	/* addr, data: as a device's MSI write */
	KEEL_IRQ_GSI_LEVEL = 1, /* gsi: I/O APIC input (0-23) set to level (0 or 1) */
	KEEL_IRQ_GSI_PULSE = 2	/* gsi: raised then lowered (an edge) */
};
struct keel_irq {
	uint32_t kind;
	uint32_t gsi;
	uint32_t level;
	uint32_t data;
	uint64_t addr;
};

/* Debug-exit port, compatible with QEMU's isa-debug-exit: writing v ends the VM with status v. */
#define KEEL_DEBUG_EXIT_PORT 0xf4

#endif
