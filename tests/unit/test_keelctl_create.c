// SPDX-License-Identifier: MIT
/*
 * keelctl create, both forms (guests/mgmt/tools/keelctl_vm.c with keelcfg.c), over a libkeel that
 * records what it is asked: a config file and the same options make the same calls; keys refused
 * for now, config errors and usage errors make no call and the right exit status; kernel_type's
 * detection; a failed load destroys the VM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keelctl.h"
#include "keelctl_dm.h"

/* What the fake libkeel was asked. */
static struct {
	int creates, destroys, loads;
	struct keel_vm_params p;
	char name[KEEL_VM_NAME_MAX];
	char images[KEEL_IMAGE_MAX][256];
	uint32_t nr_images;
	int linux_boot;
	uint32_t nr;
	char cmdlines[KEEL_IMAGE_MAX][KEEL_CMDLINE_MAX];
} rec;
static int load_err; /* what keel_vm_load returns */
static int dm_err;   /* what keelctl_dm_start returns */
static struct {
	int starts;
	uint32_t id, nr_disks;
	char name[KEEL_VM_NAME_MAX], disk0[KEELCFG_PATH_MAX];
	int disk0_ro;
} dm;

/* keel-dm is not started here: test_keelctl_dm.c starts a stand-in. */
int keelctl_dm_start(const char *name, uint32_t id, const struct keelcfg *cfg, int *pid)
{
	dm.starts++;
	dm.id = id;
	dm.nr_disks = cfg->nr_disks;
	snprintf(dm.name, sizeof(dm.name), "%s", name);
	snprintf(dm.disk0, sizeof(dm.disk0), "%s", cfg->disks[0].path);
	dm.disk0_ro = cfg->disks[0].readonly;
	*pid = 1234;
	return dm_err;
}

/* keelctl_dm.c is not linked: its run directory and mkdir here. */
static char dir[] = "/tmp/keelctl-create-XXXXXX";
const char *keelctl_run_dir(void)
{
	return dir;
}
int keelctl_mkdir_p(const char *d)
{
	return 0;
}
int keel_fd(struct keel *k)
{
	return -1;
}

int keel_vm_create(struct keel *k, const struct keel_vm_params *p, uint32_t *id)
{
	rec.creates++;
	rec.p = *p;
	snprintf(rec.name, sizeof(rec.name), "%s", p->name);
	rec.p.name = rec.name;
	*id = 7;
	return 0;
}

int keel_vm_image_file(struct keel *k, uint32_t id, uint32_t n, const char *path)
{
	assert_int_equal(id, 7);
	assert_true(n < KEEL_IMAGE_MAX);
	snprintf(rec.images[n], sizeof(rec.images[n]), "%s", path);
	rec.nr_images++;
	return 0;
}

int keel_vm_load(struct keel *k, uint32_t id, int linux_boot, uint32_t nr, const char *const *cmdlines)
{
	rec.loads++;
	rec.linux_boot = linux_boot;
	rec.nr = nr;
	for (uint32_t i = 0; i < nr; i++)
		snprintf(rec.cmdlines[i], sizeof(rec.cmdlines[i]), "%s", cmdlines[i] ? cmdlines[i] : "(null)");
	return load_err;
}

int keel_vm_destroy(struct keel *k, uint32_t id)
{
	rec.destroys++;
	return 0;
}

/* The other commands are not exercised here. */
int keel_vm_start(struct keel *k, uint32_t id)
{
	return -1;
}
int keel_vm_pause(struct keel *k, uint32_t id)
{
	return -1;
}
int keel_vm_resume(struct keel *k, uint32_t id)
{
	return -1;
}
/* keelctl destroy: the VM stays in the list for info_left more calls of keel_vm_info (running). */
static int info_calls, info_left;
int keel_vm_info(struct keel *k, uint32_t id, struct keel_vm_detail *out)
{
	info_calls++;
	memset(out, 0, sizeof(*out));
	out->info.id = id;
	snprintf(out->info.name, sizeof(out->info.name), "lnx");
	out->info.state = KEEL_VM_RUNNING;
	return info_left-- > 0 ? 0 : -ENOENT;
}
int keel_vm_lookup(struct keel *k, const char *name_or_id, uint32_t *id)
{
	*id = 7;
	return strcmp(name_or_id, "lnx") ? -ENOENT : 0;
}
int keel_events(struct keel *k, struct keel_event *out, uint32_t max)
{
	return -1;
}
int keel_events_wait(struct keel *k, int timeout_ms)
{
	usleep((useconds_t)timeout_ms * 1000); /* the monitor's wait */
	return 0;
}
const char *keel_event_name(uint32_t type)
{
	return "?";
}
int keel_console_read(struct keel *k, uint32_t id, void *buf, uint32_t len)
{
	return -1;
}
int keel_console_input(struct keel *k, uint32_t id, const void *buf, uint32_t len)
{
	return -1;
}
int keel_mem_info(struct keel *k, struct keel_mem_info *out)
{
	return -1;
}
const char *keel_vm_state_name(uint32_t state)
{
	return "?";
}
void json_name(const char *s)
{
}

static const char *path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* keelctl create ARGS...: the exit status. */
static int run(const char *first, ...)
{
	char *argv[32] = { "keelctl", "create" };
	int argc = 2;
	va_list ap;

	memset(&rec, 0, sizeof(rec));
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	return keelctl_vm_command(NULL, argc, argv);
}

static int setup(void **state)
{
	static char bz[0x400], mb[0x400];

	assert_non_null(mkdtemp(dir));
	/* No bridge exists here: `vif = [ 'bridge=br0' ]` is refused whatever the host has. */
	setenv("KEEL_SYS_NET", dir, 1);
	memcpy(bz + 0x202, "HdrS", 4);
	write_file("bzImage", bz, sizeof(bz));
	write_file("mb.elf", mb, sizeof(mb));
	write_file("initrd", "x", 1);
	return 0;
}

static int teardown(void **state)
{
	const char *files[] = { "bzImage",  "mb.elf",	   "initrd",	  "vm.cfg",	 "same.cfg",
				"disk.img", "lnx.mon.pid", "lnx.mon.log", "nope.mon.pid" };

	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path(files[i]));
	rmdir(dir);
	return 0;
}

static int run_cfg(const char *text)
{
	write_file("vm.cfg", text, strlen(text));
	return run(path("vm.cfg"), NULL);
}

/* The same VM both ways: the same create, images and load. */
static void test_same_calls(void **state)
{
	char cfg[1024];
	__typeof__(rec) by_options;

	assert_int_equal(run("lnx", "--mem", "256M", "--vcpus", "2", "--weight", "512", "--cap", "150", "--cpus", "0/1",
			     "--linux", "--kernel", path("bzImage"), "--initrd", path("initrd"), "--cmdline",
			     "console=ttyS0", NULL),
			 0);
	by_options = rec;
	assert_int_equal(by_options.creates, 1);
	assert_int_equal(by_options.loads, 1);
	snprintf(cfg, sizeof(cfg),
		 "name = 'lnx'\nmemory = 256\nvcpus = 2\nweight = 512\ncap = 150\ncpus = '0/1'\n"
		 "kernel = '%s'\nramdisk = '%s'\nextra = 'console=ttyS0'\nkernel_type = 'linux'\n",
		 path("bzImage"), path("initrd"));
	write_file("same.cfg", cfg, strlen(cfg));
	assert_int_equal(run(path("same.cfg"), NULL), 0);
	assert_memory_equal(&rec.p.mem_bytes, &by_options.p.mem_bytes,
			    sizeof(rec.p) - offsetof(struct keel_vm_params, mem_bytes));
	assert_string_equal(rec.name, "lnx");
	assert_int_equal(rec.p.mem_bytes, 256ull << 20);
	assert_int_equal(rec.p.affinity[1], 2);
	assert_int_equal(rec.nr_images, 2);
	assert_string_equal(rec.images[0], by_options.images[0]);
	assert_string_equal(rec.images[1], by_options.images[1]);
	assert_int_equal(rec.linux_boot, 1);
	assert_int_equal(rec.nr, 2);
	assert_string_equal(rec.cmdlines[0], "console=ttyS0");
	assert_memory_equal(rec.cmdlines, by_options.cmdlines, sizeof(rec.cmdlines));
	assert_int_equal(rec.destroys, 0);
}

/* kernel_type left out: a bzImage loads as Linux, anything else as multiboot. */
static void test_detect(void **state)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "name = 'a'\nmemory = 8\nkernel = '%s'\n", path("bzImage"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(rec.linux_boot, 1);
	snprintf(cfg, sizeof(cfg), "name = 'a'\nmemory = 8\nkernel = '%s'\ncmdline = 'x'\n", path("mb.elf"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(rec.linux_boot, 0);
	assert_int_equal(rec.nr, 1);
	assert_string_equal(rec.cmdlines[0], "x");
	/* an initramfs for a kernel that is not a bzImage: refused before Keel is asked */
	snprintf(cfg, sizeof(cfg), "name = 'a'\nmemory = 8\nkernel = '%s'\nramdisk = '%s'\n", path("mb.elf"),
		 path("initrd"));
	assert_int_equal(run_cfg(cfg), KEELCTL_EXIT_SAID);
	assert_int_equal(rec.creates, 0);
	/* a kernel that is not there: a runtime failure, nothing created */
	assert_int_equal(run_cfg("name = 'a'\nmemory = 8\nkernel = '/nonexistent/k'\n"), 1);
	assert_int_equal(rec.creates, 0);
}

/* Keys parsed but not acted on yet, and config errors: status 2, Keel never asked. */
static void test_refused(void **state)
{
	static const char *const cfgs[] = {
		"disk = [ '/img,raw,xvda,rw' ]\n",
		"vif = [ 'bridge=br0' ]\n",
		"memory = 'x'\n",
		"bogus = 1\n",
	};
	char cfg[512];

	for (unsigned i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		snprintf(cfg, sizeof(cfg), "name = 'a'\nkernel = '%s'\nkernel_type = 'multiboot'\n%s%s", path("mb.elf"),
			 cfgs[i], strstr(cfgs[i], "memory") ? "" : "memory = 8\n");
		assert_int_equal(run_cfg(cfg), KEELCTL_EXIT_SAID);
		assert_int_equal(rec.creates, 0);
	}
	/* what is allowed of them: empty lists, "preserve" */
	snprintf(cfg, sizeof(cfg),
		 "name = 'a'\nmemory = 8\nkernel = '%s'\ndisk = []\nvif = []\non_crash = 'preserve'\n", path("mb.elf"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(rec.creates, 1);
}

/* The option form as before: usage errors are status 2 (usage text follows), a NAME that is no
 * file takes the option path, options after a FILE make it a NAME. */
static void test_options(void **state)
{
	assert_int_equal(run("web", NULL), 2);
	assert_int_equal(run("web", "--mem", "8", "--vcpus", "1", NULL), 2);
	assert_int_equal(run("web", "--mem", "8", "--vcpus", "1", "--kernel", path("mb.elf"), "--cpus", "x", NULL), 2);
	assert_int_equal(rec.creates, 0);
	write_file("vm.cfg", "name = 'a'\n", 11);
	assert_int_equal(run(path("vm.cfg"), "--mem", "8", "--vcpus", "1", "--kernel", path("mb.elf"), NULL), 0);
	assert_int_equal(rec.creates, 1);
	assert_int_equal(strncmp(rec.name, path("vm.cfg"), sizeof(rec.name) - 1), 0); /* the file's path is the NAME */
	assert_int_equal(run("web", "--mem", "8", "--vcpus", "2", "--kernel", path("mb.elf"), "--module",
			     path("initrd") /* any file */, NULL),
			 0);
	assert_int_equal(rec.nr, 2);
	assert_int_equal(rec.p.vcpus, 2);
}

/* Disks: checked before anything is made; then keel-dm for the loaded VM, or the VM undone. */
static void test_disks(void **state)
{
	static char img[4096];
	char cfg[512];

	write_file("disk.img", img, sizeof(img));
	memset(&dm, 0, sizeof(dm));
	snprintf(cfg, sizeof(cfg), "name = 'd'\nmemory = 8\nkernel = '%s'\ndisk = [ '%s,raw,xvda,ro' ]\n",
		 path("mb.elf"), path("disk.img"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(rec.creates, 1);
	assert_int_equal(rec.loads, 1);
	assert_int_equal(dm.starts, 1);
	assert_int_equal(dm.id, 7);
	assert_string_equal(dm.name, "d");
	assert_int_equal(dm.nr_disks, 1);
	assert_string_equal(dm.disk0, path("disk.img"));
	assert_int_equal(dm.disk0_ro, 1);
	/* keel-dm did not come up: nothing is left of the VM. */
	dm_err = -5;
	assert_int_equal(run_cfg(cfg), 1);
	dm_err = 0;
	assert_int_equal(rec.creates, 1);
	assert_int_equal(rec.destroys, 1);
	/* A disk that is not there: status 2, Keel never asked, no keel-dm. */
	memset(&dm, 0, sizeof(dm));
	snprintf(cfg, sizeof(cfg), "name = 'd'\nmemory = 8\nkernel = '%s'\ndisk = [ '%s' ]\n", path("mb.elf"),
		 path("no-such.img"));
	assert_int_equal(run_cfg(cfg), KEELCTL_EXIT_SAID);
	assert_int_equal(rec.creates, 0);
	assert_int_equal(dm.starts, 0);
	/* No disk: no keel-dm. */
	snprintf(cfg, sizeof(cfg), "name = 'd'\nmemory = 8\nkernel = '%s'\n", path("mb.elf"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(dm.starts, 0);
}

/* keelctl destroy returns once the VM has left Keel's list (its last vCPU freed it), so its name
 * can be used again at once. */
static void test_destroy_waits(void **state)
{
	char *argv[] = { "keelctl", "destroy", "lnx", NULL };
	char *none[] = { "keelctl", "destroy", "nope", NULL };

	memset(&rec, 0, sizeof(rec));
	info_calls = 0;
	info_left = 3;
	assert_int_equal(keelctl_vm_command(NULL, 3, argv), 0);
	assert_int_equal(rec.destroys, 1);
	assert_int_equal(info_calls, 4);
	/* An unknown VM: status 1, nothing destroyed. */
	assert_int_equal(keelctl_vm_command(NULL, 3, none), 1);
	assert_int_equal(rec.destroys, 1);
}

/* A lock held on DIR/NAME.mon.pid as a monitor holds it, by a child that waits for SIGTERM. */
static pid_t fake_monitor(const char *name)
{
	char file[64], byte;
	int p[2];
	pid_t pid;

	snprintf(file, sizeof(file), "%s.mon.pid", name);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path(file), O_RDWR | O_CREAT, 0644);

		if (fd < 0 || flock(fd, LOCK_EX) || dprintf(fd, "%d\n", (int)getpid()) < 0 || write(p[1], "", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &byte, 1), 1);
	close(p[0]);
	return pid;
}

static int lock_held(const char *name)
{
	char file[64];
	int fd, held;

	snprintf(file, sizeof(file), "%s.mon.pid", name);
	fd = open(path(file), O_RDONLY);
	assert_true(fd >= 0);
	held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return held;
}

/* on_* other than "preserve": create leaves a monitor (a forked process, here over this fake
 * libkeel) holding NAME.mon.pid; keelctl destroy stops it before it destroys the VM. A VM whose
 * monitor destroyed it before keelctl destroy could is no error. */
static void test_monitor(void **state)
{
	char *argv[] = { "keelctl", "destroy", "lnx", NULL };
	char *nope[] = { "keelctl", "destroy", "nope", NULL };
	char cfg[512];
	int status;
	pid_t pid;

	info_left = 1000000; /* the monitor's copy: the VM runs */
	snprintf(cfg, sizeof(cfg), "name = 'lnx'\nmemory = 8\nkernel = '%s'\non_reboot = 'restart'\n", path("mb.elf"));
	assert_int_equal(run_cfg(cfg), 0);
	assert_int_equal(rec.creates, 1);
	assert_true(lock_held("lnx"));
	memset(&rec, 0, sizeof(rec));
	info_calls = 0;
	info_left = 2;
	assert_int_equal(keelctl_vm_command(NULL, 3, argv), 0);
	assert_int_equal(rec.destroys, 1);
	assert_false(lock_held("lnx"));
	pid = waitpid(-1, &status, 0); /* the monitor, stopped: status 0 */
	assert_true(pid > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The default, "preserve" everywhere: no monitor. */
	assert_int_equal(run_cfg("name = 'quiet'\nmemory = 8\nkernel = '/dev/null'\nkernel_type = 'multiboot'\n"), 0);
	assert_int_equal(access(path("quiet.mon.pid"), F_OK), -1);

	/* keelctl destroy of a VM that is gone, but whose monitor ran: it took the VM with it. */
	pid = fake_monitor("nope");
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(keelctl_vm_command(NULL, 3, nope), 0);
	assert_int_equal(rec.destroys, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* no monitor any more: the unknown VM is an error again */
	assert_int_equal(keelctl_vm_command(NULL, 3, nope), 1);
}

static void test_load_fails(void **state)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "name = 'a'\nmemory = 8\nkernel = '%s'\n", path("mb.elf"));
	load_err = -22;
	assert_int_equal(run_cfg(cfg), 1);
	load_err = 0;
	assert_int_equal(rec.loads, 1);
	assert_int_equal(rec.destroys, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_calls),    cmocka_unit_test(test_detect),	 cmocka_unit_test(test_refused),
		cmocka_unit_test(test_options),	      cmocka_unit_test(test_load_fails), cmocka_unit_test(test_disks),
		cmocka_unit_test(test_destroy_waits), cmocka_unit_test(test_monitor),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
