/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Checks of what user space hands /dev/keel, in plain C compiled both into keel.ko and into the
 * host unit tests and fuzz target (tests/unit/test_keel_abi.c), so the code tested is the code
 * that runs. Each returns 0 or a negative errno (EINVAL).
 */
#ifndef KEEL_ABI_H
#define KEEL_ABI_H

#include "keel_ioctl.h"

/* A KEEL_IOC_VM_LIST request: max within KEEL_VM_LIST_MAX, a buffer when max > 0, count 0 on
 * the way in. */
int keel_check_vm_list(const struct keel_vm_list *req);
/* The bytes of the entries a VM_LIST result copies out: min(count, max) entries. */
uint64_t keel_vm_list_bytes(const struct keel_vm_list *req, uint32_t count);

/* VM lifecycle (keel_abi_vm.c). */
/* The largest boot image keel.ko hands over (Keel's limit too). */
#define KEEL_IMAGE_SIZE_MAX (256ull << 20)
/* The user-supplied shape of each request: pads 0, ids not 0, sizes in range, pointers given,
 * strings NUL-terminated. Keel checks every value again (it trusts nothing from the management
 * VM either); these keep nonsense from reaching it and copies from being sized by user space. */
int keel_check_vm_create(const struct keel_ioc_vm_create *req);
int keel_check_vm_image(const struct keel_ioc_vm_image *req);
int keel_check_vm_load(const struct keel_ioc_vm_load *req);
int keel_check_vm_id(const struct keel_ioc_vm_id *req);
int keel_check_vm_info(const struct keel_ioc_vm_info *req);
int keel_check_events(const struct keel_ioc_events *req);
int keel_check_console(const struct keel_ioc_console *req);
/* Piece n of an image of `size` bytes: its offset and length (0 past the end). */
uint32_t keel_image_piece(uint64_t size, uint64_t n, uint64_t *offset);

/* The memory window (keel_abi_win.c). */
/* A KEEL_IOC_WIN_MAP request: no flags, out fields 0. */
int keel_check_win_map(const struct keel_win_map *req);
int keel_check_win_unmap(const struct keel_win_unmap *req);
/*
 * Where a window of `size` bytes goes in BAR2 (bar_gib GiBs, at most 64): the first run of
 * free 1 GiB slots (bit n of used: slot n taken) that holds it. Returns the first slot, or
 * -ENOSPC (also for size 0 or more than BAR2).
 */
int keel_win_pick_slot(uint64_t used, uint32_t bar_gib, uint64_t size);
/* The slots a window of `size` bytes takes, as a mask from slot `first`. */
uint64_t keel_win_slot_mask(int first, uint64_t size);
/* An mmap() of [off, off + len) (window offsets: from the window's mmap offset) over a window
 * of size bytes: page aligned, not empty, inside the window. */
int keel_check_win_mmap(uint64_t off, uint64_t len, uint64_t size);

/* I/O requests (keel_abi_io.c). Each checks an ioctl's argument as user space handed it. */
int keel_check_io_attach(const struct keel_io_attach *req);
int keel_check_io_claim(const struct keel_io_claim *req);
int keel_check_io_ref(unsigned int cmd, const struct keel_io_ref *req);
int keel_check_io_irqs(const struct keel_io_irqs *req);
/* The attached server an mmap offset names (its index), or -EINVAL. */
int keel_io_mmap_index(uint64_t offset, uint64_t len, uint64_t page_size);

#endif
