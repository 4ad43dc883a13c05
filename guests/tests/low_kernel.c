// SPDX-License-Identifier: MIT
/*
 * A multiboot kernel linked at 32 KiB, below the 1 MiB most loaders expect (issue 13 item 6).
 * The loader must put its multiboot information and command line where the image is not (as
 * GRUB does): the command line it passes survives the image's BSS being cleared, and lies
 * outside the image. Keel used to refuse it ("entry point outside the VM's RAM"). Needs a command
 * line naming it (QEMU's -initrd passes the module's path; GRUB ISOs built by iso/mkiso.sh pass
 * none), so it runs on the QEMU SVM lane (test_svm.py).
 */
#include "guest.h"

GUEST_TEST("low_kernel");

extern char __image_start[], __image_end[];

static bool contains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++) {
		size_t i = 0;

		while (i < n && s[i] == word[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

void test_main(void)
{
	uintptr_t lo = (uintptr_t)__image_start, hi = (uintptr_t)__image_end, cl = (uintptr_t)boot.cmdline;

	CHECK(lo == 0x8000, "image at %p, linked for 0x8000", (void *)__image_start);
	CHECK(boot.magic == MB1_BOOT_MAGIC || boot.magic == MB2_BOOT_MAGIC, "EAX at entry was 0x%x", boot.magic);
	/* The information block itself (QEMU's -kernel puts it right after the file's bytes, in the
	 * BSS, which the runtime clears before reading it). */
	CHECK(boot.info < lo || boot.info >= hi, "multiboot information at 0x%x, inside the image %p-%p", boot.info,
	      (void *)__image_start, (void *)__image_end);
	CHECK(cl + strlen(boot.cmdline) < lo || cl >= hi, "command line at %p, inside the image %p-%p", boot.cmdline,
	      (void *)__image_start, (void *)__image_end);
	CHECK(contains(boot.cmdline, "low_kernel"), "command line \"%s\" does not name the guest", boot.cmdline);
	printf("image %p-%p, command line at %p\n", (void *)__image_start, (void *)__image_end, boot.cmdline);
}
