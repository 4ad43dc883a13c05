/* SPDX-License-Identifier: MIT */
/*
 * libkeel: the management VM's C interface to Keel, over /dev/keel (keel.ko). With
 * vmm/public/keel_hypercall.h (the data it returns) it is the public interface the tools build
 * on; versioned as LIBKEEL_VERSION, documented in docs/mgmt.md. Every function returns 0 (or a
 * count) on success and a negative errno on failure, and sets nothing global.
 */
#ifndef LIBKEEL_H
#define LIBKEEL_H

#include <stdint.h>

#include "keel_hypercall.h"

#define LIBKEEL_VERSION 1
#define KEEL_DEVICE	"/dev/keel"

struct keel;

/* Opens /dev/keel (path NULL) or another node; -ENOENT when keel.ko is not loaded. */
int keel_open(const char *path, struct keel **k);
void keel_close(struct keel *k);
/* The /dev/keel fd, for a program that waits on it with its own fds in one poll() (POLLIN: I/O
 * requests, then keel_io_serve(..., 0); POLLPRI: events). Owned by k: not to be closed. */
int keel_fd(struct keel *k);
/* The hypervisor's hypercall ABI version and the module's ioctl version. */
int keel_version(struct keel *k, uint32_t *abi, uint32_t *ioctl);
/* Up to max VMs into out; returns how many VMs there are (may be more than max). */
int keel_vm_list(struct keel *k, struct keel_vm_info *out, uint32_t max);
/* "created", "running", "paused", "dead" or "?". */
const char *keel_vm_state_name(uint32_t state);

/* VM lifecycle, events and consoles (libkeel_vm.c). VMs are named by Keel's id. */

/* What a new VM gets: name, memory in bytes, vCPUs; weight 0 is the default (256), cap 0 none
 * (else percent of one CPU, up to 100 x vCPUs), affinity[i] 0 any CPU. */
struct keel_vm_params {
	const char *name;
	uint64_t mem_bytes;
	uint32_t vcpus, weight, cap_pct;
	uint64_t affinity[KEEL_VM_MAX_VCPUS];
};
/* Creates a VM (not loaded); its id in *id. -EEXIST the name is taken, -ENOMEM too large for
 * Keel's free memory, -ENOSPC too many VMs, -EINVAL a bad parameter. */
int keel_vm_create(struct keel *k, const struct keel_vm_params *p, uint32_t *id);
/* Hands boot image n (0: the kernel; 1..: modules or the initramfs) of `size` bytes to Keel. */
int keel_vm_image(struct keel *k, uint32_t id, uint32_t n, const void *data, uint64_t size);
/* The same from a file. */
int keel_vm_image_file(struct keel *k, uint32_t id, uint32_t n, const char *path);
/* Runs Keel's loader on images 0..nr-1 (linux: a bzImage and an optional initramfs, else a
 * multiboot kernel and its modules), cmdlines[i] for image i (NULL: none). */
int keel_vm_load(struct keel *k, uint32_t id, int linux_boot, uint32_t nr, const char *const *cmdlines);
int keel_vm_start(struct keel *k, uint32_t id);
int keel_vm_pause(struct keel *k, uint32_t id);
int keel_vm_resume(struct keel *k, uint32_t id);
/* Revokes every window onto the VM, ends it if it runs, frees its memory. */
int keel_vm_destroy(struct keel *k, uint32_t id);
int keel_vm_info(struct keel *k, uint32_t id, struct keel_vm_detail *out);
/* Finds a VM by name or decimal id; -ENOENT. */
int keel_vm_lookup(struct keel *k, const char *name_or_id, uint32_t *id);
/* Takes up to max events (oldest first); returns how many. */
int keel_events(struct keel *k, struct keel_event *out, uint32_t max);
/* Waits until events may be waiting (POLLPRI on /dev/keel; POLLIN is for I/O requests);
 * timeout_ms < 0: for ever. 1 or 0. */
int keel_events_wait(struct keel *k, int timeout_ms);
/* "exited", "poweroff", "reset", "crashed", "destroyed" or "?". */
const char *keel_event_name(uint32_t type);
/* Takes up to len bytes of the VM's console output; returns how many. */
int keel_console_read(struct keel *k, uint32_t id, void *buf, uint32_t len);
/* Queues len bytes (at most HC_CONSOLE_MAX) to the VM's COM1; returns how many. */
int keel_console_input(struct keel *k, uint32_t id, const void *buf, uint32_t len);
int keel_mem_info(struct keel *k, struct keel_mem_info *out);

/* I/O requests and interrupts into VMs (libkeel_io.c). */
/* A device model serving one VM: the request page, shared with Keel (struct keel_ioreq_page). */
struct keel_io {
	struct keel *k;
	uint32_t vm_id;
	struct keel_ioreq_page *page;
};
/* Serves VM vm_id from now on (HC_IOREQ_ATTACH): io->page is mapped. */
int keel_io_attach(struct keel *k, uint32_t vm_id, struct keel_io *io);
/* Ends it (the VM ends: "device model gone"); the page is unmapped. */
int keel_io_detach(struct keel_io *io);
/* A claim (struct keel_claim); returns its number (a doorbell's bit in page->doorbells). */
int keel_io_claim(struct keel_io *io, const struct keel_claim *c);
int keel_io_unclaim(struct keel_io *io, uint32_t number);
/* Wakes vCPU `vcpu`, whose slot the device model has just set DONE (only needed when the slot
 * says vcpu_blocked; keel_io_complete does both). */
int keel_io_notify(struct keel_io *io, uint32_t vcpu);
/* Interrupts into the VM, in order (1 .. KEEL_IRQ_BATCH_MAX): returns how many were delivered. */
int keel_io_irq(struct keel_io *io, const struct keel_irq *irqs, uint32_t n);
/* The answer to slot `vcpu` (data for reads): state DONE, then the notify if the vCPU sleeps. */
int keel_io_complete(struct keel_io *io, uint32_t vcpu, uint64_t data);
/*
 * A small serve loop. Takes the doorbells (calls doorbell(opaque, bits) when any is set) and
 * every PENDING slot (request(opaque, vcpu, slot) returns the data for a read; the write's data
 * is slot->data), completing each. timeout_ms < 0: sleep in poll() until there is work; 0: look
 * once (busy polling: no upcall, no system call unless a vCPU sleeps); > 0: poll at most that
 * long. Returns the number of requests and doorbell sets handled, or a negative errno.
 */
typedef uint64_t (*keel_io_request_fn)(void *opaque, uint32_t vcpu, const struct keel_ioreq *req);
typedef void (*keel_io_doorbell_fn)(void *opaque, uint64_t bits);
int keel_io_serve(struct keel_io *io, keel_io_request_fn request, keel_io_doorbell_fn doorbell, void *opaque,
		  int timeout_ms);

/* The memory window (libkeel_win.c). keel_win_map maps VM vm_id's RAM, all of it (RAM offset o
 * at (*mem)[o]; the hole below 4 GiB is left out), into this process, shared with the VM: no
 * copy. keel_win_unmap revokes it (every mapping of it in any process: a later access gets
 * SIGBUS) and unmaps it here; so does closing the struct keel once the memory is unmapped. */
int keel_win_map(struct keel *k, uint32_t vm_id, void **mem, uint64_t *size);
int keel_win_unmap(struct keel *k, uint32_t vm_id, void *mem, uint64_t size);

#endif
