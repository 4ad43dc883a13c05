// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * keel.ko: the memory window (keel_internal.h, docs/mgmt.md). A VM's RAM appears, whole, in the
 * control function's BAR2: keel.ko picks a free run of 1 GiB slots there and asks Keel to map
 * the VM's RAM at it (HC_WINDOW_MAP); user space mmap()s it from /dev/keel at the offset the
 * ioctl returns, and each page is inserted on first touch (VM_IO | VM_PFNMAP, no copy, no
 * struct page). The slot's range is memremap()ed write-back first, which records its memory
 * type for the PAT, so the user mappings are write-back too: it is RAM, shared with the VM.
 *
 * Revoking a window, in this order: it is marked revoked under win_lock (a fault after that
 * gets SIGBUS: the fault handler checks under the same lock before it inserts), every user
 * mapping of it is zapped (unmap_mapping_range over the file offsets it has), and only then is
 * Keel asked to unmap it (HC_WINDOW_UNMAP), which flushes the management vCPUs' TLBs before it
 * returns. A mapping remembers its window by a number that is never reused, so a stale mapping
 * can never reach a later window placed at the same slot (another VM's RAM).
 */
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "keel_internal.h"

#define KEEL_WINDOW_BAR 2

struct keel_window {
	struct list_head node;
	struct keel_file *owner;
	u64 seq; /* what its mappings remember (vm_private_data) */
	u32 vm_id;
	int slot;		       /* first 1 GiB slot of BAR2 */
	u64 size;		       /* the VM's RAM */
	void *remap;		       /* the write-back memremap of its range */
	struct address_space *mapping; /* of the file it was mmap()ed through, once it was */
};

static DEFINE_MUTEX(win_lock); /* the list, the slots, and faults against revocation */
static LIST_HEAD(windows);
static u64 used_slots;
static u64 next_seq = 1;

static u64 win_mmap_offset(const struct keel_window *w)
{
	return KEEL_MMAP_WINDOW + ((u64)w->slot << 30);
}

static struct keel_window *find_vm(u32 vm_id)
{
	struct keel_window *w;

	lockdep_assert_held(&win_lock);
	list_for_each_entry(w, &windows, node) if (w->vm_id == vm_id) return w;
	return NULL;
}

/* The RAM size of VM vm_id, from Keel's VM list. */
static long vm_ram_size(u32 vm_id, u64 *size)
{
	struct keel_vm_info *list = kcalloc(KEEL_VM_LIST_MAX, sizeof(*list), GFP_KERNEL);
	long n, ret = -ENOENT;

	if (!list)
		return -ENOMEM;
	n = keel_hypercall3(HC_VM_LIST, virt_to_phys(list), KEEL_VM_LIST_MAX, 0);
	if (n < 0)
		ret = n;
	for (long i = 0; i < n && i < KEEL_VM_LIST_MAX; i++) {
		if (list[i].id == vm_id) {
			*size = list[i].mem_bytes;
			ret = 0;
		}
	}
	kfree(list);
	return ret;
}

/* Under win_lock: the window leaves the list; its mappings are zapped; then Keel unmaps it. */
static void revoke_locked(struct keel_window *w)
{
	long ret;

	lockdep_assert_held(&win_lock);
	list_del(&w->node); /* faults from now on find no window: SIGBUS */
	if (w->mapping)
		unmap_mapping_range(w->mapping, win_mmap_offset(w), ALIGN(w->size, PAGE_SIZE), 1);
	ret = keel_hypercall3(HC_WINDOW_UNMAP, w->vm_id, 0, 0);
	/* -ENOENT: Keel took it away already, when the VM ended (it unmaps before it frees). */
	if (ret && ret != -ENOENT)
		pr_err("keel: window of VM %u: HC_WINDOW_UNMAP failed (%ld)\n", w->vm_id, ret);
	memunmap(w->remap);
	used_slots &= ~keel_win_slot_mask(w->slot, w->size);
	kfree(w);
}

static long ioc_win_map(struct keel_file *kf, void __user *arg)
{
	struct pci_dev *pdev = keel_ctl_pdev();
	struct keel_win_map req;
	struct keel_window *w;
	resource_size_t bar, bar_len;
	long ret;
	u64 size;
	int slot;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_win_map(&req);
	if (ret)
		return ret;
	if (!pdev || !(pci_resource_flags(pdev, KEEL_WINDOW_BAR) & IORESOURCE_MEM))
		return -ENODEV;
	bar = pci_resource_start(pdev, KEEL_WINDOW_BAR);
	bar_len = pci_resource_len(pdev, KEEL_WINDOW_BAR);
	ret = vm_ram_size(req.vm_id, &size);
	if (ret)
		return ret;
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	mutex_lock(&win_lock);
	ret = -EEXIST;
	if (find_vm(req.vm_id))
		goto fail;
	slot = keel_win_pick_slot(used_slots, (u32)min_t(u64, bar_len >> 30, 64), size);
	ret = slot;
	if (slot < 0)
		goto fail;
	ret = -ENOMEM;
	w->remap = memremap(bar + ((u64)slot << 30), size, MEMREMAP_WB);
	if (!w->remap)
		goto fail;
	ret = keel_hypercall3(HC_WINDOW_MAP, req.vm_id, bar + ((u64)slot << 30), 0);
	if (ret) {
		memunmap(w->remap);
		goto fail;
	}
	*w = (struct keel_window){
		.owner = kf, .seq = next_seq++, .vm_id = req.vm_id, .slot = slot, .size = size, .remap = w->remap
	};
	used_slots |= keel_win_slot_mask(slot, size);
	list_add(&w->node, &windows);
	req.mmap_offset = win_mmap_offset(w);
	req.size = size;
	mutex_unlock(&win_lock);
	/* Mapped already: a failed copy leaves it to the unmap ioctl or release(). */
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
fail:
	mutex_unlock(&win_lock);
	kfree(w);
	return ret;
}

static long ioc_win_unmap(struct keel_file *kf, void __user *arg)
{
	struct keel_win_unmap req;
	struct keel_window *w;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_win_unmap(&req);
	if (ret)
		return ret;
	mutex_lock(&win_lock);
	w = find_vm(req.vm_id);
	ret = -ENOENT;
	if (w && w->owner == kf) {
		revoke_locked(w);
		ret = 0;
	}
	mutex_unlock(&win_lock);
	return ret;
}

long keel_win_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case KEEL_IOC_WIN_MAP:
		return ioc_win_map(kf, (void __user *)arg);
	case KEEL_IOC_WIN_UNMAP:
		return ioc_win_unmap(kf, (void __user *)arg);
	}
	return -ENOTTY;
}

/* A first touch: the page of the window, if the window the mapping was made for is still there. */
static vm_fault_t keel_win_fault(struct vm_fault *vmf)
{
	u64 seq = (u64)(uintptr_t)vmf->vma->vm_private_data, off;
	struct pci_dev *pdev = keel_ctl_pdev();
	struct keel_window *w;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&win_lock);
	list_for_each_entry(w, &windows, node)
	{
		if (w->seq != seq)
			continue;
		off = ((u64)vmf->pgoff << PAGE_SHIFT) - win_mmap_offset(w);
		if (pdev && off < w->size)
			ret = vmf_insert_pfn(vmf->vma, vmf->address,
					     (pci_resource_start(pdev, KEEL_WINDOW_BAR) + ((u64)w->slot << 30) + off) >>
						 PAGE_SHIFT);
		break;
	}
	mutex_unlock(&win_lock);
	return ret;
}

static const struct vm_operations_struct keel_win_vm_ops = {
	.fault = keel_win_fault,
};

int keel_win_mmap(struct keel_file *kf, struct vm_area_struct *vma)
{
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT, len = vma->vm_end - vma->vm_start;
	struct keel_window *w, *found = NULL;
	int ret = -EINVAL;

	/* A private mapping would copy pages on write: the window is shared memory or nothing. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&win_lock);
	list_for_each_entry(w, &windows, node) if (w->owner == kf && off >= win_mmap_offset(w) &&
						   off - win_mmap_offset(w) < w->size) found = w;
	if (found && !keel_check_win_mmap(off - win_mmap_offset(found), len, found->size) &&
	    (!found->mapping || found->mapping == vma->vm_file->f_mapping)) {
		found->mapping = vma->vm_file->f_mapping;
		vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
		vma->vm_ops = &keel_win_vm_ops;
		vma->vm_private_data = (void *)(uintptr_t)found->seq;
		ret = 0;
	}
	mutex_unlock(&win_lock);
	return ret;
}

void keel_win_release(struct keel_file *kf)
{
	struct keel_window *w, *n;

	mutex_lock(&win_lock);
	list_for_each_entry_safe(w, n, &windows, node) if (w->owner == kf) revoke_locked(w);
	mutex_unlock(&win_lock);
}

void keel_win_revoke_vm(uint32_t vm_id)
{
	struct keel_window *w;

	mutex_lock(&win_lock);
	w = find_vm(vm_id);
	if (w)
		revoke_locked(w);
	mutex_unlock(&win_lock);
}
