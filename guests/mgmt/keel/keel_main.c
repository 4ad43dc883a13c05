// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * keel.ko: the management VM's link to Keel. It checks that it runs under Keel (CPUID leaf
 * 0x40000000 says "KeelKeelKeel"), makes Keel's hypercalls (VMMCALL on AMD and Hygon, VMCALL on
 * Intel; vmm/public/keel_hypercall.h) and gives user space /dev/keel (keel_ioctl.h, libkeel).
 * Keel refuses the management hypercalls to every VM but the management VM, and to user space
 * everywhere: this module is the management VM kernel's gate to them. Built out of tree against
 * the exact headers of Debian's stock kernel (guests/mgmt/mkmgmt.sh); docs/mgmt.md.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/processor.h>

#include "keel_abi.h"

static bool use_vmmcall;

/* Keel's 64-bit convention: RAX = number, RDI, RSI, RDX = arguments; RAX = result; every other
 * register preserved. */
static long keel_hypercall(unsigned long nr, unsigned long a0, unsigned long a1)
{
	long ret;

	if (use_vmmcall)
		asm volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	return ret;
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
	switch (cmd) {
	case KEEL_IOC_VERSION:
		return ioc_version((void __user *)arg);
	case KEEL_IOC_VM_LIST:
		return ioc_vm_list((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations keel_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = keel_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice keel_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "keel",
	.fops = &keel_fops,
	.mode = 0600,
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
	err = misc_register(&keel_dev);
	if (err)
		return err;
	pr_info("keel: Keel hypercall ABI %ld (%s), /dev/keel ready\n", abi, use_vmmcall ? "VMMCALL" : "VMCALL");
	return 0;
}

static void __exit keel_exit(void)
{
	misc_deregister(&keel_dev);
}

module_init(keel_init);
module_exit(keel_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("Keel hypervisor: the management VM's interface");
