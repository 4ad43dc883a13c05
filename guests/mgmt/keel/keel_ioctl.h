/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * /dev/keel's ioctls: the interface between keel.ko (the management VM's module) and user space
 * (libkeel). Versioned with KEEL_IOCTL_VERSION; see docs/mgmt.md. Included by the module, by
 * libkeel and by the host unit tests, so only fixed-width types.
 */
#ifndef KEEL_IOCTL_H
#define KEEL_IOCTL_H

#include <stdint.h>
#ifdef __KERNEL__
#include <linux/ioctl.h>
#else
#include <sys/ioctl.h>
#endif

#include "keel_hypercall.h"

#define KEEL_IOCTL_VERSION 1

struct keel_version {
	uint32_t abi;	/* the hypervisor's KEEL_ABI_VERSION (HC_VERSION) */
	uint32_t ioctl; /* the module's KEEL_IOCTL_VERSION */
};

/* In: max entries at `entries` (a user pointer), at most KEEL_VM_LIST_MAX, and no padding set.
 * Out: count, the number of VMs (may exceed max: then max entries were written). */
struct keel_vm_list {
	uint32_t max;
	uint32_t count;
	uint64_t entries; /* struct keel_vm_info[max] */
};

#define KEEL_IOC_MAGIC	 'K'
#define KEEL_IOC_VERSION _IOR(KEEL_IOC_MAGIC, 0, struct keel_version)
#define KEEL_IOC_VM_LIST _IOWR(KEEL_IOC_MAGIC, 1, struct keel_vm_list)

/*
 * I/O requests and interrupts into VMs (keel_ioreq.c, libkeel_io.c; nr 0x30-0x4f). A device model
 * attaches to a VM: keel.ko allocates the request page (struct keel_ioreq_page) and says at which
 * mmap offset of /dev/keel it is (map one page there, shared). Every field not described as out
 * must be 0 on the way in.
 */
struct keel_io_attach {
	uint32_t vm_id;
	uint32_t reserved;
	uint64_t mmap_offset; /* out: bytes, below KEEL_MMAP_WINDOW */
};
struct keel_io_claim {
	uint32_t vm_id;
	uint32_t number; /* out: the claim number (a doorbell's bit in `doorbells`) */
	struct keel_claim claim;
};
struct keel_io_ref {
	uint32_t vm_id;
	uint32_t arg; /* UNCLAIM: the claim number; NOTIFY: the vCPU; DETACH: 0 */
};
struct keel_io_irqs {
	uint32_t vm_id;
	uint32_t count;	  /* 1 .. KEEL_IRQ_BATCH_MAX */
	uint64_t entries; /* user pointer to struct keel_irq[count] */
};
_Static_assert(sizeof(struct keel_io_attach) == 16, "struct keel_io_attach is 16 bytes");
_Static_assert(sizeof(struct keel_io_claim) == 40, "struct keel_io_claim is 40 bytes");
_Static_assert(sizeof(struct keel_io_ref) == 8, "struct keel_io_ref is 8 bytes");
_Static_assert(sizeof(struct keel_io_irqs) == 16, "struct keel_io_irqs is 16 bytes");
_Static_assert(sizeof(struct keel_irq) == 24, "struct keel_irq is 24 bytes");
#define KEEL_IO_SERVERS_MAX 8 /* attached VMs per open /dev/keel */
#define KEEL_IOC_IO_ATTACH  _IOWR(KEEL_IOC_MAGIC, 0x30, struct keel_io_attach)
#define KEEL_IOC_IO_CLAIM   _IOWR(KEEL_IOC_MAGIC, 0x31, struct keel_io_claim)
#define KEEL_IOC_IO_UNCLAIM _IOW(KEEL_IOC_MAGIC, 0x32, struct keel_io_ref)
#define KEEL_IOC_IO_NOTIFY  _IOW(KEEL_IOC_MAGIC, 0x33, struct keel_io_ref)
#define KEEL_IOC_IO_IRQ	    _IOW(KEEL_IOC_MAGIC, 0x34, struct keel_io_irqs)
#define KEEL_IOC_IO_DETACH  _IOW(KEEL_IOC_MAGIC, 0x35, struct keel_io_ref)

/*
 * VM lifecycle, events, consoles and memory (keel_vm.c, libkeel_vm.c; ioctl nr 0x10-0x2f).
 * Each maps to one hypercall of keel_hypercall.h; every pad and reserved field is 0 on the way
 * in. Ids are Keel's VM ids (HC_VM_LIST).
 */
/* In: req. Out: id, the new VM's. */
struct keel_ioc_vm_create {
	struct keel_vm_create req;
	uint32_t id;
	uint32_t pad;
};
/* In: a whole boot image at `data` (a user pointer), `size` bytes (1 .. 256 MiB); keel.ko hands
 * it to Keel in KEEL_IMAGE_PIECE pieces through a kernel buffer. */
struct keel_ioc_vm_image {
	uint32_t id;
	uint32_t image; /* 0 .. KEEL_IMAGE_MAX - 1 */
	uint64_t size;
	uint64_t data;
};
struct keel_ioc_vm_load {
	uint32_t id;
	uint32_t pad;
	struct keel_vm_load load;
};
/* START, PAUSE, RESUME, DESTROY. */
struct keel_ioc_vm_id {
	uint32_t id;
	uint32_t pad;
};
/* In: id. Out: detail. */
struct keel_ioc_vm_info {
	uint32_t id;
	uint32_t pad;
	struct keel_vm_detail detail;
};
/* In: max (at most KEEL_EVENTS_MAX) struct keel_event at `events`, count 0. Out: count taken. */
struct keel_ioc_events {
	uint32_t max;
	uint32_t count;
	uint64_t events;
};
/* CONSOLE_READ takes up to len bytes of the VM's output into buf; CONSOLE_INPUT queues len
 * bytes from buf to its COM1. len at most HC_CONSOLE_MAX. Out: done, the bytes. */
struct keel_ioc_console {
	uint32_t id;
	uint32_t len;
	uint64_t buf;
	uint32_t done;
	uint32_t pad;
};

#define KEEL_IOC_VM_CREATE     _IOWR(KEEL_IOC_MAGIC, 0x10, struct keel_ioc_vm_create)
#define KEEL_IOC_VM_IMAGE      _IOW(KEEL_IOC_MAGIC, 0x11, struct keel_ioc_vm_image)
#define KEEL_IOC_VM_LOAD       _IOW(KEEL_IOC_MAGIC, 0x12, struct keel_ioc_vm_load)
#define KEEL_IOC_VM_START      _IOW(KEEL_IOC_MAGIC, 0x13, struct keel_ioc_vm_id)
#define KEEL_IOC_VM_PAUSE      _IOW(KEEL_IOC_MAGIC, 0x14, struct keel_ioc_vm_id)
#define KEEL_IOC_VM_RESUME     _IOW(KEEL_IOC_MAGIC, 0x15, struct keel_ioc_vm_id)
#define KEEL_IOC_VM_DESTROY    _IOW(KEEL_IOC_MAGIC, 0x16, struct keel_ioc_vm_id)
#define KEEL_IOC_VM_INFO       _IOWR(KEEL_IOC_MAGIC, 0x17, struct keel_ioc_vm_info)
#define KEEL_IOC_EVENTS	       _IOWR(KEEL_IOC_MAGIC, 0x18, struct keel_ioc_events)
#define KEEL_IOC_CONSOLE_READ  _IOWR(KEEL_IOC_MAGIC, 0x19, struct keel_ioc_console)
#define KEEL_IOC_CONSOLE_INPUT _IOWR(KEEL_IOC_MAGIC, 0x1a, struct keel_ioc_console)
#define KEEL_IOC_MEM_INFO      _IOR(KEEL_IOC_MAGIC, 0x1b, struct keel_mem_info)

/*
 * The memory window (keel_window.c), nr 0x50-0x5f. KEEL_IOC_WIN_MAP maps VM vm_id's RAM (all
 * of it: RAM offsets 0..size, the hole below 4 GiB left out) into the control function's BAR2
 * and says where: mmap() /dev/keel with MAP_SHARED at mmap_offset, up to size bytes. One window
 * per VM, owned by the file that mapped it. KEEL_IOC_WIN_UNMAP revokes it: every user mapping
 * of it is zapped (a later access gets SIGBUS) before Keel unmaps it. Closing the file does the
 * same for its windows; destroying the VM too.
 */
struct keel_win_map {
	uint32_t vm_id;	      /* in */
	uint32_t flags;	      /* in: 0 */
	uint64_t mmap_offset; /* out: the window's offset for mmap(); in: 0 */
	uint64_t size;	      /* out: the VM's RAM in bytes; in: 0 */
};
_Static_assert(sizeof(struct keel_win_map) == 24, "struct keel_win_map is 24 bytes");
struct keel_win_unmap {
	uint32_t vm_id;
	uint32_t reserved; /* 0 */
};
#define KEEL_IOC_WIN_MAP   _IOWR(KEEL_IOC_MAGIC, 0x50, struct keel_win_map)
#define KEEL_IOC_WIN_UNMAP _IOW(KEEL_IOC_MAGIC, 0x51, struct keel_win_unmap)

#endif
