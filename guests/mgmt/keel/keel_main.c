// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * keel.ko: the management VM's link to Keel. It checks that it runs under Keel (CPUID leaf
 * 0x40000000 says "KeelKeelKeel"), makes Keel's hypercalls (VMMCALL on AMD and Hygon, VMCALL on
 * Intel; vmm/public/keel_hypercall.h), binds to Keel's control function on the VM's PCI bus
 * (4b45:0001, vmm/dev/keelctl.h: registers and MSI-X vectors for upcalls in BAR0, the memory
 * window in BAR2) and gives user space /dev/keel (keel_ioctl.h, libkeel) once bound. Keel refuses
 * the management hypercalls to every VM but the management VM, and to user space everywhere:
 * this module is the management VM kernel's gate to them. Built out of tree against the exact
 * headers of Debian's stock kernel (guests/mgmt/mkmgmt.sh); docs/mgmt.md.
 */
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/processor.h>

#include "keel_internal.h"

/* The control function (vmm/dev/keelctl.h). */
#define KEELCTL_VENDOR	     0x4b45
#define KEELCTL_DEVICE	     0x0001
#define KEELCTL_REG_MAGIC    0x00
#define KEELCTL_REG_VERSION  0x04
#define KEELCTL_REG_DOORBELL 0x08
#define KEELCTL_REG_VECTORS  0x0c
#define KEELCTL_MAGIC	     0x4c45454bu /* "KEEL" */
#define KEEL_UPCALLS	     2		 /* MSI-X vectors used */

static bool use_vmmcall;

static struct keel_ctl {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct completion upcall;
	atomic_t upcalls[KEEL_UPCALLS];
} ctl;

/* Keel's 64-bit convention: RAX = number, RDI, RSI, RDX = arguments; RAX = result; every other
 * register preserved. */
long keel_hypercall3(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
	long ret;

	if (use_vmmcall)
		asm volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	return ret;
}

static long keel_hypercall(unsigned long nr, unsigned long a0, unsigned long a1)
{
	return keel_hypercall3(nr, a0, a1, 0);
}

struct pci_dev *keel_ctl_pdev(void)
{
	return ctl.pdev;
}

static bool under_keel(void)
{
	unsigned int eax, sig[3];

	cpuid(KEEL_CPUID_BASE, &eax, &sig[0], &sig[1], &sig[2]);
	return !memcmp(sig, KEEL_CPUID_SIGNATURE, sizeof(sig));
}

static long ioc_version(void __user *arg)
{
	struct keel_version ver = { .ioctl = KEEL_IOCTL_VERSION };
	long abi = keel_hypercall(HC_VERSION, 0, 0);

	if (abi < 0)
		return abi;
	ver.abi = (u32)abi;
	return copy_to_user(arg, &ver, sizeof(ver)) ? -EFAULT : 0;
}

static long ioc_vm_list(void __user *arg)
{
	struct keel_vm_list req;
	struct keel_vm_info *buf = NULL;
	long n;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = keel_check_vm_list(&req);
	if (err)
		return err;
	if (req.max) {
		/* One physically contiguous buffer: Keel writes it by guest-physical address. */
		buf = kcalloc(req.max, sizeof(*buf), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	n = keel_hypercall(HC_VM_LIST, buf ? virt_to_phys(buf) : 0, req.max);
	if (n < 0) {
		err = (int)n;
		goto out;
	}
	req.count = (u32)n;
	err = -EFAULT;
	if (buf && copy_to_user(u64_to_user_ptr(req.entries), buf, keel_vm_list_bytes(&req, req.count)))
		goto out;
	if (copy_to_user(arg, &req, sizeof(req)))
		goto out;
	err = 0;
out:
	kfree(buf);
	return err;
}

static long keel_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct keel_file *kf = f->private_data;
	long ret;

	switch (cmd) {
	case KEEL_IOC_VERSION:
		return ioc_version((void __user *)arg);
	case KEEL_IOC_VM_LIST:
		return ioc_vm_list((void __user *)arg);
	}
	ret = keel_vm_ioctl(kf, cmd, arg);
	if (ret == -ENOTTY)
		ret = keel_io_ioctl(kf, cmd, arg);
	if (ret == -ENOTTY)
		ret = keel_win_ioctl(kf, cmd, arg);
	return ret;
}

static int keel_open(struct inode *inode, struct file *f)
{
	struct keel_file *kf = kzalloc(sizeof(*kf), GFP_KERNEL);

	if (!kf)
		return -ENOMEM;
	mutex_init(&kf->lock);
	f->private_data = kf;
	return 0;
}

/* The file's device model servers go first (their VMs' outstanding requests complete), then
 * its windows. */
static int keel_release(struct inode *inode, struct file *f)
{
	struct keel_file *kf = f->private_data;

	keel_io_release(kf);
	keel_win_release(kf);
	kfree(kf);
	return 0;
}

static int keel_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct keel_file *kf = f->private_data;

	if ((u64)vma->vm_pgoff << PAGE_SHIFT >= KEEL_MMAP_WINDOW)
		return keel_win_mmap(kf, vma);
	return keel_io_mmap(kf, vma);
}

static __poll_t keel_poll(struct file *f, poll_table *wait)
{
	struct keel_file *kf = f->private_data;

	return keel_vm_poll(kf, f, wait) | keel_io_poll(kf, f, wait);
}

static irqreturn_t keel_upcall(int irq, void *data)
{
	unsigned int n = (unsigned int)(uintptr_t)data;

	atomic_inc(&ctl.upcalls[n]);
	complete(&ctl.upcall);
	if (n == KEEL_UPCALL_IOREQ)
		keel_io_upcall();
	else if (n == KEEL_UPCALL_EVENT)
		keel_vm_event_upcall();
	return IRQ_HANDLED;
}

static const struct file_operations keel_fops = {
	.owner = THIS_MODULE,
	.open = keel_open,
	.release = keel_release,
	.mmap = keel_mmap,
	.poll = keel_poll,
	.unlocked_ioctl = keel_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice keel_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "keel",
	.fops = &keel_fops,
	.mode = 0600,
};

/*
 * The control function: BAR0's registers, MSI-X for the upcalls. Before /dev/keel appears, each
 * upcall vector is rung once through the doorbell and must reach its handler: an interrupt path
 * that does not work is found here, not by a request that never completes.
 */
static int keel_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int err, nvec, irqs = 0;
	u32 magic;

	if (ctl.pdev)
		return -EBUSY; /* Keel gives a VM one control function */
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = pcim_iomap_regions(pdev, BIT(0), "keel");
	if (err)
		return err;
	ctl.regs = pcim_iomap_table(pdev)[0];
	magic = ioread32(ctl.regs + KEELCTL_REG_MAGIC);
	if (magic != KEELCTL_MAGIC) {
		dev_err(&pdev->dev, "not Keel's control function (magic %#x)\n", magic);
		return -ENODEV;
	}
	if (ioread32(ctl.regs + KEELCTL_REG_VECTORS) < KEEL_UPCALLS) {
		dev_err(&pdev->dev, "fewer than %d MSI-X vectors\n", KEEL_UPCALLS);
		return -ENODEV;
	}
	nvec = pci_alloc_irq_vectors(pdev, KEEL_UPCALLS, KEEL_UPCALLS, PCI_IRQ_MSIX);
	if (nvec < 0)
		return nvec;
	init_completion(&ctl.upcall);
	for (int i = 0; i < KEEL_UPCALLS; i++) {
		atomic_set(&ctl.upcalls[i], 0);
		err = request_irq(pci_irq_vector(pdev, i), keel_upcall, 0, "keel", (void *)(uintptr_t)i);
		if (err)
			goto fail;
		irqs++;
	}
	for (int i = 0; i < KEEL_UPCALLS; i++) {
		reinit_completion(&ctl.upcall);
		iowrite32(i, ctl.regs + KEELCTL_REG_DOORBELL);
		if (!wait_for_completion_timeout(&ctl.upcall, msecs_to_jiffies(2000)) ||
		    !atomic_read(&ctl.upcalls[i])) {
			u16 mc = 0;

			pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, &mc);
			dev_err(&pdev->dev,
				"MSI-X vector %d rung but its interrupt never came (entry %08x:%08x data %08x "
				"control %08x, PBA %08x, message control %04x, irq %d)\n",
				i, ioread32(ctl.regs + 0x1000 + 16 * i + 4), ioread32(ctl.regs + 0x1000 + 16 * i),
				ioread32(ctl.regs + 0x1000 + 16 * i + 8), ioread32(ctl.regs + 0x1000 + 16 * i + 12),
				ioread32(ctl.regs + 0x2000), mc, pci_irq_vector(pdev, i));
			err = -EIO;
			goto fail;
		}
	}
	ctl.pdev = pdev;
	err = misc_register(&keel_dev);
	if (err) {
		ctl.pdev = NULL;
		goto fail;
	}
	dev_info(&pdev->dev, "Keel control function v%u: %d MSI-X upcall vectors work, /dev/keel ready\n",
		 ioread32(ctl.regs + KEELCTL_REG_VERSION), KEEL_UPCALLS);
	return 0;
fail:
	while (irqs--)
		free_irq(pci_irq_vector(pdev, irqs), (void *)(uintptr_t)irqs);
	pci_free_irq_vectors(pdev);
	return err;
}

static void keel_remove(struct pci_dev *pdev)
{
	misc_deregister(&keel_dev);
	for (int i = 0; i < KEEL_UPCALLS; i++)
		free_irq(pci_irq_vector(pdev, i), (void *)(uintptr_t)i);
	pci_free_irq_vectors(pdev);
	ctl.pdev = NULL;
}

static const struct pci_device_id keel_ids[] = { { PCI_DEVICE(KEELCTL_VENDOR, KEELCTL_DEVICE) }, {} };
MODULE_DEVICE_TABLE(pci, keel_ids);

static struct pci_driver keel_driver = {
	.name = "keel",
	.id_table = keel_ids,
	.probe = keel_probe,
	.remove = keel_remove,
};

static int __init keel_init(void)
{
	long abi;
	int err;

	if (!under_keel()) {
		pr_info("keel: not running under Keel (no KeelKeelKeel CPUID signature)\n");
		return -ENODEV;
	}
	use_vmmcall = boot_cpu_data.x86_vendor == X86_VENDOR_AMD || boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
	abi = keel_hypercall(HC_VERSION, 0, 0);
	if (abi != KEEL_ABI_VERSION) {
		pr_err("keel: Keel's hypercall ABI is %ld, this module speaks %d\n", abi, KEEL_ABI_VERSION);
		return -EPROTO;
	}
	pr_info("keel: Keel hypercall ABI %ld (%s)\n", abi, use_vmmcall ? "VMMCALL" : "VMCALL");
	err = keel_modules_init();
	if (err) {
		pr_err("keel: the boot modules: %d\n", err);
		return err;
	}
	err = pci_register_driver(&keel_driver);
	if (err)
		keel_modules_remove();
	return err;
}

static void __exit keel_exit(void)
{
	pci_unregister_driver(&keel_driver);
	keel_modules_remove();
}

module_init(keel_init);
module_exit(keel_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("Keel hypervisor: the management VM's interface");
