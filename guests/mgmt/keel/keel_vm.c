// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * keel.ko: VM lifecycle, events and consoles (keel_internal.h, keel_ioctl.h's VM block). Each
 * ioctl checks its request (keel_abi_vm.c), then makes one hypercall, or several for a boot
 * image. Keel reads and writes the management VM's memory by guest-physical address, so what it
 * reads or fills is a kmalloc'ed (physically contiguous) kernel buffer, never user memory:
 * a boot image goes through one KEEL_IMAGE_PIECE buffer, a piece at a time.
 *
 * Events: Keel raises the KEEL_UPCALL_EVENT vector when it queues one; the handler only marks
 * them as waiting and wakes pollers (POLLPRI). KEEL_IOC_EVENTS clears the mark before it takes them from
 * Keel and sets it again if it took as many as it asked for, so an upcall during a take is never
 * lost and poll() may at worst say "readable" once with nothing left.
 */
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "keel_internal.h"

static DECLARE_WAIT_QUEUE_HEAD(events_wait);
static atomic_t events_waiting = ATOMIC_INIT(0);
/* One boot image at a time goes through Keel's staging: its pieces must arrive in order. */
static DEFINE_MUTEX(image_lock);

void keel_vm_event_upcall(void)
{
	atomic_set(&events_waiting, 1);
	wake_up_interruptible(&events_wait);
}

__poll_t keel_vm_poll(struct keel_file *kf, struct file *f, poll_table *wait)
{
	/* EPOLLPRI, not EPOLLIN (requests for a device model): a device model sleeping in poll() for
	 * requests must not be woken, and must not spin, for events it never takes. */
	poll_wait(f, &events_wait, wait);
	return atomic_read(&events_waiting) ? EPOLLPRI : 0;
}

static long ioc_create(void __user *arg)
{
	struct keel_ioc_vm_create req;
	struct keel_vm_create *buf;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_vm_create(&req);
	if (ret)
		return ret;
	buf = kmemdup(&req.req, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = keel_hypercall3(HC_VM_CREATE, virt_to_phys(buf), 0, 0);
	kfree(buf);
	if (ret < 0)
		return ret;
	req.id = (u32)ret;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

/* The image from user space, a piece at a time through one kernel buffer. */
static long ioc_image(void __user *arg)
{
	struct keel_ioc_vm_image req;
	struct keel_vm_image *desc;
	u8 *piece;
	long ret;
	u64 n = 0, off;
	u32 len;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_vm_image(&req);
	if (ret)
		return ret;
	piece = kmalloc(KEEL_IMAGE_PIECE, GFP_KERNEL);
	desc = kzalloc(sizeof(*desc), GFP_KERNEL);
	if (!piece || !desc) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&image_lock);
	while ((len = keel_image_piece(req.size, n++, &off))) {
		if (copy_from_user(piece, u64_to_user_ptr(req.data + off), len)) {
			ret = -EFAULT;
			break;
		}
		*desc = (struct keel_vm_image){
			.image = req.image, .len = len, .total = req.size, .offset = off, .src_gpa = virt_to_phys(piece)
		};
		ret = keel_hypercall3(HC_VM_IMAGE, req.id, virt_to_phys(desc), 0);
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	mutex_unlock(&image_lock);
out:
	kfree(desc);
	kfree(piece);
	return ret;
}

static long ioc_load(void __user *arg)
{
	struct keel_ioc_vm_load *req = kmalloc(sizeof(*req), GFP_KERNEL);
	long ret;

	if (!req)
		return -ENOMEM;
	ret = copy_from_user(req, arg, sizeof(*req)) ? -EFAULT : keel_check_vm_load(req);
	if (!ret) {
		mutex_lock(&image_lock);
		ret = keel_hypercall3(HC_VM_LOAD, req->id, virt_to_phys(&req->load), 0);
		mutex_unlock(&image_lock);
	}
	kfree(req);
	return ret;
}

static long ioc_id(void __user *arg, unsigned long nr)
{
	struct keel_ioc_vm_id req;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_vm_id(&req);
	if (ret)
		return ret;
	/* Every user mapping of its RAM goes first (later accesses fault), then Keel's window,
	 * then the VM and its pages. */
	if (nr == HC_VM_DESTROY)
		keel_win_revoke_vm(req.id);
	return keel_hypercall3(nr, req.id, 0, 0);
}

static long ioc_info(void __user *arg)
{
	struct keel_ioc_vm_info *req = kmalloc(sizeof(*req), GFP_KERNEL);
	long ret;

	if (!req)
		return -ENOMEM;
	ret = copy_from_user(req, arg, sizeof(*req)) ? -EFAULT : keel_check_vm_info(req);
	if (!ret)
		ret = keel_hypercall3(HC_VM_INFO, req->id, virt_to_phys(&req->detail), 0);
	if (!ret && copy_to_user(arg, req, sizeof(*req)))
		ret = -EFAULT;
	kfree(req);
	return ret;
}

static long ioc_events(void __user *arg)
{
	struct keel_ioc_events req;
	struct keel_event *buf = NULL;
	long n;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = keel_check_events(&req);
	if (n)
		return n;
	if (req.max) {
		buf = kcalloc(req.max, sizeof(*buf), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	atomic_set(&events_waiting, 0);
	n = keel_hypercall3(HC_EVENTS, buf ? virt_to_phys(buf) : 0, req.max, 0);
	if (n < 0 || n >= req.max) /* an error, or perhaps more left: look again */
		keel_vm_event_upcall();
	if (n < 0)
		goto out;
	req.count = (u32)n;
	if ((n && copy_to_user(u64_to_user_ptr(req.events), buf, n * sizeof(*buf))) ||
	    copy_to_user(arg, &req, sizeof(req)))
		n = -EFAULT; /* taken from Keel and lost: the caller's buffer was bad */
	else
		n = 0;
out:
	kfree(buf);
	return n;
}

static long ioc_console(void __user *arg, unsigned long nr)
{
	struct keel_ioc_console req;
	u8 *buf;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = keel_check_console(&req);
	if (ret)
		return ret;
	buf = kmalloc(HC_CONSOLE_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (nr == HC_CONSOLE_INPUT && copy_from_user(buf, u64_to_user_ptr(req.buf), req.len)) {
		ret = -EFAULT;
		goto out;
	}
	ret = keel_hypercall3(nr, req.id, virt_to_phys(buf), req.len);
	if (ret < 0)
		goto out;
	req.done = (u32)ret;
	ret = 0;
	if (nr == HC_CONSOLE_READ && req.done && copy_to_user(u64_to_user_ptr(req.buf), buf, req.done))
		ret = -EFAULT;
	else if (copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
out:
	kfree(buf);
	return ret;
}

static long ioc_mem(void __user *arg)
{
	struct keel_mem_info *m = kzalloc(sizeof(*m), GFP_KERNEL);
	long ret;

	if (!m)
		return -ENOMEM;
	ret = keel_hypercall3(HC_MEM_INFO, virt_to_phys(m), 0, 0);
	if (!ret && copy_to_user(arg, m, sizeof(*m)))
		ret = -EFAULT;
	kfree(m);
	return ret;
}

long keel_vm_ioctl(struct keel_file *kf, unsigned int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;

	switch (cmd) {
	case KEEL_IOC_VM_CREATE:
		return ioc_create(p);
	case KEEL_IOC_VM_IMAGE:
		return ioc_image(p);
	case KEEL_IOC_VM_LOAD:
		return ioc_load(p);
	case KEEL_IOC_VM_START:
		return ioc_id(p, HC_VM_START);
	case KEEL_IOC_VM_PAUSE:
		return ioc_id(p, HC_VM_PAUSE);
	case KEEL_IOC_VM_RESUME:
		return ioc_id(p, HC_VM_RESUME);
	case KEEL_IOC_VM_DESTROY:
		return ioc_id(p, HC_VM_DESTROY);
	case KEEL_IOC_VM_INFO:
		return ioc_info(p);
	case KEEL_IOC_EVENTS:
		return ioc_events(p);
	case KEEL_IOC_CONSOLE_READ:
		return ioc_console(p, HC_CONSOLE_READ);
	case KEEL_IOC_CONSOLE_INPUT:
		return ioc_console(p, HC_CONSOLE_INPUT);
	case KEEL_IOC_MEM_INFO:
		return ioc_mem(p);
	}
	return -ENOTTY;
}
