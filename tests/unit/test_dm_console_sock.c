// SPDX-License-Identifier: MIT
/*
 * keel-dm's console socket (guests/mgmt/dm/dm_console_sock.c) on the host, with a real UNIX
 * socket in /tmp: one client at a time (a second is told so and closed), the client's bytes to
 * the device's input in order even when its ring takes a few at a time, the guest's output to
 * the log and the client unchanged, a client that leaves, the socket's mode and removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm_console_sock.h"

static struct {
	unsigned char got[256];
	size_t len;
	size_t max;   /* taken per call (0: all) */
	int refusals; /* calls that take nothing first */
} dev;

static size_t input(void *opaque, const void *buf, size_t len)
{
	size_t n = dev.max && len > dev.max ? dev.max : len;

	assert_ptr_equal(opaque, &dev);
	if (dev.refusals) {
		dev.refusals--;
		return 0;
	}
	assert_true(dev.len + n <= sizeof(dev.got));
	memcpy(dev.got + dev.len, buf, n);
	dev.len += n;
	return n;
}

static char dir[] = "/tmp/dm-console-XXXXXX";
static char path[128];
static int keel[2], logp[2]; /* a /dev/keel that never wakes; the log */
static struct dm_console_sock s;

static int setup(void **state)
{
	memset(&dev, 0, sizeof(dev));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/g1.hvc.sock", dir);
	assert_int_equal(pipe(keel), 0);
	assert_int_equal(pipe(logp), 0);
	dm_console_sock_init(&s, logp[1], input, &dev);
	return 0;
}

static int teardown(void **state)
{
	dm_console_sock_close(&s);
	close(keel[0]);
	close(keel[1]);
	close(logp[0]);
	close(logp[1]);
	rmdir(dir);
	strcpy(dir, "/tmp/dm-console-XXXXXX");
	return 0;
}

static int client(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One turn of keel-dm's loop. */
static void turn(void)
{
	assert_true(dm_console_sock_wait(&s, keel[0], 100) >= 0);
}

static void test_one_client(void **state)
{
	static const char out[] = "login: \0\033[0m\r\n";
	struct stat st;
	char buf[128];
	int c, c2;

	assert_int_equal(dm_console_sock_listen(&s, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no client: output to the log only */
	dm_console_sock_output(&s, "early", 5);
	c = client();
	turn();
	assert_true(s.client_fd >= 0);
	assert_int_equal(s.clients, 1);
	/* a second client: told and closed; the first stays */
	c2 = client();
	turn();
	assert_int_equal(s.refused, 1);
	assert_int_equal(read(c2, buf, sizeof(buf)), (ssize_t)strlen(DM_CONSOLE_BUSY_MSG));
	assert_int_equal(read(c2, buf, sizeof(buf)), 0);
	close(c2);
	/* output: the log and the client, unchanged */
	dm_console_sock_output(&s, out, sizeof(out) - 1);
	assert_int_equal(read(c, buf, sizeof(buf)), (ssize_t)sizeof(out) - 1);
	assert_memory_equal(buf, out, sizeof(out) - 1);
	assert_int_equal(read(logp[0], buf, sizeof(buf)), 5 + (ssize_t)sizeof(out) - 1);
	assert_memory_equal(buf, "early", 5);
	assert_memory_equal(buf + 5, out, sizeof(out) - 1);
	/* input: the client's bytes as they are */
	assert_int_equal(write(c, "root\r\0\x1b", 7), 7);
	turn();
	assert_int_equal(dev.len, 7);
	assert_memory_equal(dev.got, "root\r\0\x1b", 7);
	/* the client leaves; another may come */
	close(c);
	turn();
	assert_int_equal(s.client_fd, -1);
	dm_console_sock_output(&s, "x", 1);
	assert_int_equal(read(logp[0], buf, sizeof(buf)), 1);
	c = client();
	turn();
	assert_true(s.client_fd >= 0);
	assert_int_equal(s.clients, 2);
	close(c);
	dm_console_sock_close(&s);
	assert_int_equal(access(path, F_OK), -1); /* removed */
}

/* The device's input ring takes 3 bytes a call and none at first: nothing lost, order kept. */
static void test_slow_input(void **state)
{
	static const char typed[] = "0123456789abcdefghij";
	int c, turns = 0;

	dev.max = 3;
	dev.refusals = 2;
	assert_int_equal(dm_console_sock_listen(&s, path), 0);
	c = client();
	turn();
	assert_int_equal(write(c, typed, sizeof(typed) - 1), (ssize_t)sizeof(typed) - 1);
	while (dev.len < sizeof(typed) - 1 && turns++ < 50)
		turn();
	assert_int_equal(dev.len, sizeof(typed) - 1);
	assert_memory_equal(dev.got, typed, sizeof(typed) - 1);
	assert_int_equal(s.pending_len, 0);
	close(c);
}

/* A socket a killed keel-dm left behind is replaced; a path too long is refused. */
static void test_stale_and_long(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char longp[200];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(dm_console_sock_listen(&s, path), 0);
	close(client());
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	dm_console_sock_close(&s);
	assert_int_equal(dm_console_sock_listen(&s, longp), -ENAMETOOLONG);
	assert_int_equal(s.listen_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_long, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
