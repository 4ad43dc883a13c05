/* SPDX-License-Identifier: MIT */
/* keel.ko's checks of the VM lifecycle ioctls (guests/mgmt/keel/keel_abi_vm.c, the module's own
 * source): each bad field refused, the good request accepted; the image's pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "keel_abi.h"

static void test_create(void **state)
{
	struct keel_ioc_vm_create ok = { .req = { .name = "vm", .mem_bytes = 4 << 20, .vcpus = 1 } }, r;

	assert_int_equal(keel_check_vm_create(&ok), 0);
	r = ok, r.id = 1;
	assert_int_equal(keel_check_vm_create(&r), -EINVAL);
	r = ok, r.pad = 1;
	assert_int_equal(keel_check_vm_create(&r), -EINVAL);
	r = ok, r.req.flags = 1;
	assert_int_equal(keel_check_vm_create(&r), -EINVAL);
	r = ok, r.req.name[0] = '\0';
	assert_int_equal(keel_check_vm_create(&r), -EINVAL);
	r = ok, memset(r.req.name, 'a', sizeof(r.req.name));
	assert_int_equal(keel_check_vm_create(&r), -EINVAL);
}

static void test_image_load_and_the_rest(void **state)
{
	struct keel_ioc_vm_image img = { .id = 1, .image = 0, .size = 10, .data = 0x1000 }, i;
	struct keel_ioc_vm_load ld = { .id = 1, .load = { .kind = KEEL_BOOT_LINUX, .images = 2 } }, l;
	struct keel_ioc_events ev = { .max = KEEL_EVENTS_MAX, .events = 0x1000 }, e;
	struct keel_ioc_console con = { .id = 1, .len = HC_CONSOLE_MAX, .buf = 0x1000 }, c;
	struct keel_ioc_vm_id id = { .id = 1 };
	struct keel_ioc_vm_info info = { .id = 1 };

	assert_int_equal(keel_check_vm_image(&img), 0);
	i = img, i.id = 0;
	assert_int_equal(keel_check_vm_image(&i), -EINVAL);
	i = img, i.image = KEEL_IMAGE_MAX;
	assert_int_equal(keel_check_vm_image(&i), -EINVAL);
	i = img, i.size = 0;
	assert_int_equal(keel_check_vm_image(&i), -EINVAL);
	i = img, i.size = KEEL_IMAGE_SIZE_MAX + 1;
	assert_int_equal(keel_check_vm_image(&i), -EINVAL);
	i = img, i.data = 0;
	assert_int_equal(keel_check_vm_image(&i), -EINVAL);

	assert_int_equal(keel_check_vm_load(&ld), 0);
	l = ld, l.pad = 1;
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);
	l = ld, l.id = 0;
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);
	l = ld, l.load.kind = 7;
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);
	l = ld, l.load.images = 0;
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);
	l = ld, l.load.images = KEEL_IMAGE_MAX + 1;
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);
	l = ld, memset(l.load.cmdline[2], 'x', KEEL_CMDLINE_MAX);
	assert_int_equal(keel_check_vm_load(&l), -EINVAL);

	assert_int_equal(keel_check_vm_id(&id), 0);
	id.pad = 1;
	assert_int_equal(keel_check_vm_id(&id), -EINVAL);
	id = (struct keel_ioc_vm_id){ 0 };
	assert_int_equal(keel_check_vm_id(&id), -EINVAL);
	assert_int_equal(keel_check_vm_info(&info), 0);
	info.id = 0;
	assert_int_equal(keel_check_vm_info(&info), -EINVAL);

	assert_int_equal(keel_check_events(&ev), 0);
	e = ev, e.max = KEEL_EVENTS_MAX + 1;
	assert_int_equal(keel_check_events(&e), -EINVAL);
	e = ev, e.count = 1;
	assert_int_equal(keel_check_events(&e), -EINVAL);
	e = ev, e.events = 0;
	assert_int_equal(keel_check_events(&e), -EINVAL);
	e.max = 0;
	assert_int_equal(keel_check_events(&e), 0);

	assert_int_equal(keel_check_console(&con), 0);
	c = con, c.len = HC_CONSOLE_MAX + 1;
	assert_int_equal(keel_check_console(&c), -EINVAL);
	c = con, c.buf = 0;
	assert_int_equal(keel_check_console(&c), -EINVAL);
	c = con, c.done = 1;
	assert_int_equal(keel_check_console(&c), -EINVAL);
	c = con, c.id = 0;
	assert_int_equal(keel_check_console(&c), -EINVAL);
}

static void test_pieces(void **state)
{
	uint64_t off, sum = 0, size = 3 * KEEL_IMAGE_PIECE + 5;
	uint32_t n = 0, len;

	while ((len = keel_image_piece(size, n, &off))) {
		assert_int_equal(off, sum);
		assert_true(len <= KEEL_IMAGE_PIECE);
		sum += len;
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(sum, size);
	assert_int_equal(keel_image_piece(KEEL_IMAGE_PIECE, 0, &off), KEEL_IMAGE_PIECE);
	assert_int_equal(keel_image_piece(KEEL_IMAGE_PIECE, 1, &off), 0);
	assert_int_equal(keel_image_piece(1, 0, &off), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_image_load_and_the_rest),
		cmocka_unit_test(test_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
