/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * keel.ko's parts and what they share. keel_main.c: module, control function, /dev/keel and the
 * VM list; keel_vm.c: VM lifecycle, events and consoles; keel_ioreq.c: I/O requests and
 * interrupts into VMs; keel_window.c: the memory window. Each part's ioctl handler returns
 * -ENOTTY for a command that is not its own.
 */
#ifndef KEEL_INTERNAL_H
#define KEEL_INTERNAL_H

#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>

#include "keel_abi.h"

/* Keel's 64-bit convention: RAX = number, RDI, RSI, RDX = arguments; RAX = result. */
long keel_hypercall3(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2);

/* The control function's PCI device (BAR2: the memory window), once bound. */
struct pci_dev *keel_ctl_pdev(void);

struct keel_io_file;
struct keel_win_file;

/* One open /dev/keel. */
struct keel_file {
	struct mutex lock;
	struct keel_io_file *io;   /* keel_ioreq.c: the device model servers it attached */
	struct keel_win_file *win; /* keel_window.c: its windows */
};

/* keel_vm.c */
long keel_vm_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg);
__poll_t keel_vm_poll(struct keel_file *kf, struct file *f, poll_table *wait);
void keel_vm_event_upcall(void); /* from the KEEL_UPCALL_EVENT interrupt */

/* keel_ioreq.c */
long keel_io_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg);
__poll_t keel_io_poll(struct keel_file *kf, struct file *f, poll_table *wait);
int keel_io_mmap(struct keel_file *kf, struct vm_area_struct *vma);
void keel_io_release(struct keel_file *kf);
void keel_io_upcall(void); /* from the KEEL_UPCALL_IOREQ interrupt */

/* keel_window.c */
long keel_win_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg);
int keel_win_mmap(struct keel_file *kf, struct vm_area_struct *vma);
void keel_win_release(struct keel_file *kf);
/* Before a VM is destroyed: every user mapping of its window is revoked (later accesses get
 * SIGBUS) and Keel's mapping removed (HC_WINDOW_UNMAP). */
void keel_win_revoke_vm(uint32_t vm_id);

/* keel_modules.c: the management VM's boot modules under /sys/module/keel/boot_modules/. */
int keel_modules_init(void);
void keel_modules_remove(void);

/* mmap offsets of /dev/keel: below KEEL_MMAP_WINDOW, the I/O-request pages (keel_ioreq.c);
 * from it on, windows (keel_window.c). In bytes (pgoff << PAGE_SHIFT). */
#define KEEL_MMAP_WINDOW (1ull << 40)

#endif
