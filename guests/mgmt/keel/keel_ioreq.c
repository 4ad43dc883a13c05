// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * keel.ko: I/O requests and interrupts into VMs (keel_internal.h, docs/mgmt.md). Each open
 * /dev/keel may serve up to KEEL_IO_SERVERS_MAX VMs: for each, a zeroed kernel page is handed to
 * Keel (HC_IOREQ_ATTACH) and mapped shared into the device model at the mmap offset ATTACH
 * returns. poll() sleeps with dm_sleeping set in every page of the file (set, then a last look at
 * the slots and doorbells: Keel publishes, then reads dm_sleeping), and the KEEL_UPCALL_IOREQ
 * interrupt wakes it. When the file is released (the device model's process ended, however it
 * ended) every VM it served is detached: Keel completes their requests and ends them.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "keel_internal.h"

#define DETACH_REASON_LEN 64 /* Keel reads that many bytes of the reason */

struct keel_io_server {
	bool used;
	u32 vm_id;
	struct page *page;
	struct keel_ioreq_page *p;
};

struct keel_io_file {
	struct keel_io_server srv[KEEL_IO_SERVERS_MAX];
};

static DECLARE_WAIT_QUEUE_HEAD(keel_io_wq);

void keel_io_upcall(void)
{
	wake_up_interruptible_all(&keel_io_wq);
}

/* Under kf->lock. */
static struct keel_io_server *find(struct keel_file *kf, u32 vm_id)
{
	for (int i = 0; kf->io && i < KEEL_IO_SERVERS_MAX; i++)
		if (kf->io->srv[i].used && kf->io->srv[i].vm_id == vm_id)
			return &kf->io->srv[i];
	return NULL;
}

/* Tells Keel the server is gone (its VM ends), then drops keel.ko's reference to the page (a
 * mapping that remains keeps its own until it goes). Under kf->lock. */
static long detach(struct keel_io_server *s, const char *why)
{
	char *reason = kzalloc(DETACH_REASON_LEN, GFP_KERNEL);
	long ret;

	if (reason)
		strscpy(reason, why, DETACH_REASON_LEN);
	ret = keel_hypercall3(HC_IOREQ_DETACH, s->vm_id, reason ? virt_to_phys(reason) : 0, 0);
	kfree(reason);
	put_page(s->page);
	s->used = false;
	return ret;
}

static long ioc_attach(struct keel_file *kf, void __user *arg)
{
	struct keel_io_attach req;
	struct keel_io_server *s = NULL;
	struct page *page;
	long ret;
	int i;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_io_attach(&req);
	if (ret)
		return ret;
	if (!kf->io) {
		kf->io = kzalloc(sizeof(*kf->io), GFP_KERNEL);
		if (!kf->io)
			return -ENOMEM;
	}
	if (find(kf, req.vm_id))
		return -EBUSY;
	for (i = 0; i < KEEL_IO_SERVERS_MAX && !s; i++)
		if (!kf->io->srv[i].used)
			s = &kf->io->srv[i];
	if (!s)
		return -ENOSPC;
	/* The offset goes out first: a bad user pointer then changes nothing (a detach would end
	 * the VM). */
	req.mmap_offset = (u64)(s - kf->io->srv) * PAGE_SIZE;
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	ret = keel_hypercall3(HC_IOREQ_ATTACH, req.vm_id, page_to_phys(page), 0);
	if (ret < 0) {
		__free_page(page);
		return ret;
	}
	*s = (struct keel_io_server){ .used = true, .vm_id = req.vm_id, .page = page, .p = page_address(page) };
	return 0;
}

static long ioc_claim(struct keel_file *kf, void __user *arg)
{
	struct keel_io_claim req;
	struct keel_claim *c;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_io_claim(&req);
	if (ret)
		return ret;
	if (!find(kf, req.vm_id))
		return -ENOENT;
	/* Keel reads it by guest-physical address: not on the (virtually mapped) stack. */
	c = kmemdup(&req.claim, sizeof(req.claim), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ret = keel_hypercall3(HC_IOREQ_CLAIM, req.vm_id, virt_to_phys(c), 0);
	kfree(c);
	if (ret < 0)
		return ret;
	req.number = (u32)ret;
	if (copy_to_user(arg, &req, sizeof(req))) {
		keel_hypercall3(HC_IOREQ_UNCLAIM, req.vm_id, req.number, 0);
		return -EFAULT;
	}
	return 0;
}

static long ioc_ref(struct keel_file *kf, unsigned int cmd, void __user *arg)
{
	struct keel_io_server *s;
	struct keel_io_ref req;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_io_ref(cmd, &req);
	if (ret)
		return ret;
	s = find(kf, req.vm_id);
	if (!s)
		return -ENOENT;
	switch (cmd) {
	case KEEL_IOC_IO_UNCLAIM:
		return keel_hypercall3(HC_IOREQ_UNCLAIM, req.vm_id, req.arg, 0);
	case KEEL_IOC_IO_NOTIFY:
		return keel_hypercall3(HC_IOREQ_NOTIFY, req.vm_id, req.arg, 0);
	default:
		return detach(s, "detached by its device model");
	}
}

static long ioc_irq(struct keel_file *kf, void __user *arg)
{
	struct keel_io_irqs req;
	struct keel_irq *irqs;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_io_irqs(&req);
	if (ret)
		return ret;
	if (!find(kf, req.vm_id))
		return -ENOENT;
	irqs = memdup_user(u64_to_user_ptr(req.entries), (size_t)req.count * sizeof(*irqs));
	if (IS_ERR(irqs))
		return PTR_ERR(irqs);
	ret = keel_hypercall3(HC_IRQ_BATCH, req.vm_id, virt_to_phys(irqs), req.count);
	kfree(irqs);
	return ret;
}

long keel_io_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;
	long ret;

	switch (cmd) {
	case KEEL_IOC_IO_ATTACH:
	case KEEL_IOC_IO_CLAIM:
	case KEEL_IOC_IO_UNCLAIM:
	case KEEL_IOC_IO_NOTIFY:
	case KEEL_IOC_IO_IRQ:
	case KEEL_IOC_IO_DETACH:
		break;
	default:
		return -ENOTTY;
	}
	/* NOTIFY is the hot one: it needs no lock of the file (Keel checks the VM is served). */
	if (cmd == KEEL_IOC_IO_NOTIFY) {
		struct keel_io_ref req;

		if (copy_from_user(&req, p, sizeof(req)))
			return -EFAULT;
		ret = keel_check_io_ref(cmd, &req);
		return ret ?: keel_hypercall3(HC_IOREQ_NOTIFY, req.vm_id, req.arg, 0);
	}
	mutex_lock(&kf->lock);
	switch (cmd) {
	case KEEL_IOC_IO_ATTACH:
		ret = ioc_attach(kf, p);
		break;
	case KEEL_IOC_IO_CLAIM:
		ret = ioc_claim(kf, p);
		break;
	case KEEL_IOC_IO_IRQ:
		ret = ioc_irq(kf, p);
		break;
	default:
		ret = ioc_ref(kf, cmd, p);
		break;
	}
	mutex_unlock(&kf->lock);
	return ret;
}

/* Whether a page has work: a PENDING slot or a doorbell. */
static bool has_work(const struct keel_ioreq_page *p)
{
	u32 n = min_t(u32, READ_ONCE(p->nr_vcpus), KEEL_VM_MAX_VCPUS);

	if (READ_ONCE(p->doorbells))
		return true;
	for (u32 i = 0; i < n; i++)
		if (smp_load_acquire(&p->slot[i].state) == KEEL_IOREQ_PENDING)
			return true;
	return false;
}

__poll_t keel_io_poll(struct keel_file *kf, struct file *f, poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(f, &keel_io_wq, wait);
	mutex_lock(&kf->lock);
	for (int i = 0; kf->io && i < KEEL_IO_SERVERS_MAX; i++) {
		struct keel_io_server *s = &kf->io->srv[i];

		if (!s->used)
			continue;
		/* Asleep first, then the last look (Keel: publish, then read dm_sleeping). */
		WRITE_ONCE(s->p->dm_sleeping, 1);
		smp_mb();
		if (has_work(s->p)) {
			WRITE_ONCE(s->p->dm_sleeping, 0);
			mask |= EPOLLIN | EPOLLRDNORM;
		}
	}
	mutex_unlock(&kf->lock);
	return mask;
}

int keel_io_mmap(struct keel_file *kf, struct vm_area_struct *vma)
{
	int idx = keel_io_mmap_index((u64)vma->vm_pgoff << PAGE_SHIFT, vma->vm_end - vma->vm_start, PAGE_SIZE);
	int ret = -EINVAL;

	if (idx < 0 || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&kf->lock);
	if (kf->io && kf->io->srv[idx].used) {
		vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
		ret = vm_insert_page(vma, vma->vm_start, kf->io->srv[idx].page);
	}
	mutex_unlock(&kf->lock);
	return ret;
}

void keel_io_release(struct keel_file *kf)
{
	if (!kf->io)
		return;
	mutex_lock(&kf->lock);
	for (int i = 0; i < KEEL_IO_SERVERS_MAX; i++) {
		struct keel_io_server *s = &kf->io->srv[i];
		long ret;

		if (!s->used)
			continue;
		ret = detach(s, "its process ended (/dev/keel closed)");
		if (ret < 0 && ret != -ENOENT)
			pr_warn("keel: detaching from VM %u: %ld\n", s->vm_id, ret);
	}
	mutex_unlock(&kf->lock);
	kfree(kf->io);
	kf->io = NULL;
}
