// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The management VM's boot modules (mods= in its vm= declaration on Keel's command line), as
 * read-only files: /sys/module/keel/boot_modules/NAME, one per module, NAME as Keel gives it
 * (HC_MOD_INFO; a later module with a name taken gets "~N" after it). A read is Keel copying the
 * bytes into a bounce buffer here (HC_MOD_READ, at most KEEL_MODULE_READ_MAX at a time): kernels,
 * initramfs and disk images for the VMs this VM creates reach it without being in its initramfs.
 * docs/mgmt.md, "Boot modules for the management VM".
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "keel_internal.h"

#define KEEL_MODULES_MAX 32

struct keel_mod {
	struct bin_attribute attr;
	u32 index;
	char name[KEEL_MODULE_NAME_MAX + 8];
};

static struct kobject *mods_kobj;
static struct keel_mod *mods[KEEL_MODULES_MAX];
static int nr_mods;
static DEFINE_MUTEX(bounce_lock);
/* Under bounce_lock: KEEL_MODULE_READ_MAX bytes, physically contiguous, and the request (not on
 * the stack: a vmalloc'ed stack has no virt_to_phys). */
static void *bounce;
static struct keel_module_read *req;

static ssize_t mod_read(struct file *f, struct kobject *kobj, struct bin_attribute *attr, char *buf, loff_t off,
			size_t count)
{
	struct keel_mod *m = container_of(attr, struct keel_mod, attr);
	size_t done = 0;
	long n = 0;

	/* sysfs has clipped off and count to the attribute's size already. */
	mutex_lock(&bounce_lock);
	while (done < count) {
		*req = (struct keel_module_read){ .index = m->index,
						  .len = min_t(size_t, count - done, KEEL_MODULE_READ_MAX),
						  .offset = off + done,
						  .buf = virt_to_phys(bounce) };
		n = keel_hypercall3(HC_MOD_READ, virt_to_phys(req), 0, 0);
		if (n <= 0)
			break;
		memcpy(buf + done, bounce, n);
		done += n;
	}
	mutex_unlock(&bounce_lock);
	if (n < 0 && !done)
		return n == -KEEL_ENOENT ? -ENOENT : -EIO;
	return done;
}

static bool name_taken(const char *name)
{
	for (int i = 0; i < nr_mods; i++)
		if (!strcmp(mods[i]->name, name))
			return true;
	return false;
}

void keel_modules_remove(void)
{
	for (int i = 0; i < nr_mods; i++) {
		sysfs_remove_bin_file(mods_kobj, &mods[i]->attr);
		kfree(mods[i]);
	}
	nr_mods = 0;
	if (mods_kobj)
		kobject_put(mods_kobj);
	mods_kobj = NULL;
	kfree(bounce);
	kfree(req);
	bounce = NULL;
	req = NULL;
}

int keel_modules_init(void)
{
	struct keel_module_info *info;
	int err = 0;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	bounce = kmalloc(KEEL_MODULE_READ_MAX, GFP_KERNEL);
	req = kmalloc(sizeof(*req), GFP_KERNEL);
	mods_kobj = kobject_create_and_add("boot_modules", &THIS_MODULE->mkobj.kobj);
	if (!info || !bounce || !req || !mods_kobj) {
		err = -ENOMEM;
		goto out;
	}
	for (u32 i = 0; i < KEEL_MODULES_MAX; i++) {
		struct keel_mod *m;
		long ret = keel_hypercall3(HC_MOD_INFO, i, virt_to_phys(info), 0);

		/* No more; or not the management VM (its keel.ko loads all the same: -EPERM then
		 * comes from the calls that need the flag, and it has no modules). */
		if (ret == -KEEL_ENOENT || ret == -KEEL_EPERM)
			break;
		if (ret) {
			err = -EIO;
			goto out;
		}
		m = kzalloc(sizeof(*m), GFP_KERNEL);
		if (!m) {
			err = -ENOMEM;
			goto out;
		}
		info->name[KEEL_MODULE_NAME_MAX - 1] = '\0';
		strscpy(m->name, info->name, sizeof(m->name));
		for (int n = 2; name_taken(m->name); n++)
			snprintf(m->name, sizeof(m->name), "%s~%d", info->name, n);
		m->index = i;
		sysfs_bin_attr_init(&m->attr);
		m->attr.attr.name = m->name;
		m->attr.attr.mode = 0444;
		m->attr.size = info->size;
		m->attr.read = mod_read;
		err = sysfs_create_bin_file(mods_kobj, &m->attr);
		if (err) {
			kfree(m);
			goto out;
		}
		mods[nr_mods++] = m;
		pr_info("keel: boot module %u: %s, %llu bytes\n", i, m->name, (unsigned long long)info->size);
	}
out:
	kfree(info);
	if (err)
		keel_modules_remove();
	return err;
}
