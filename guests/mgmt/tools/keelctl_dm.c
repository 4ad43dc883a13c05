// SPDX-License-Identifier: MIT
/*
 * keelctl's side of keel-dm (docs/mgmt.md, "Disks"): a VM whose config names disks gets a device
 * model, one keel-dm process of its own, started by `keelctl create` once the VM is loaded and
 * before it can run (its PCI functions must answer the guest's first configuration cycles).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keelctl_dm.h"

int keelctl_dm_timeout_s = KEELCTL_DM_TIMEOUT_S;

/* keel-dm's arguments for this VM into argv (at most max - 1 of them, then NULL); buf holds
 * the strings. The disk's serial is "NAME-VDEV", so a guest can tell its disks apart
 * (/dev/disk/by-id). */
int keelctl_dm_argv(const char *name, uint32_t id, const struct keelcfg *cfg, const char *dir, int ready_fd,
		    char **argv, size_t max, char *buf, size_t buflen)
{
	size_t argc = 0, used = 0;

#define ARG(...)                                                             \
	do {                                                                 \
		int w_ = snprintf(buf + used, buflen - used, __VA_ARGS__);   \
		if (w_ < 0 || (size_t)w_ >= buflen - used || argc + 2 > max) \
			return -1;                                           \
		argv[argc++] = buf + used;                                   \
		used += (size_t)w_ + 1;                                      \
	} while (0)
	ARG("%s", getenv("KEEL_DM") ? getenv("KEEL_DM") : KEELCTL_DM_PATH);
	ARG("--vm");
	ARG("%u", id);
	for (uint32_t i = 0; i < cfg->nr_disks && i < KEELCFG_LIST_MAX; i++) {
		const struct keelcfg_disk *d = &cfg->disks[i];

		ARG("--disk");
		ARG("%s%s,serial=%s-%s", d->path, d->readonly ? ",ro" : "", name, d->vdev);
	}
	for (uint32_t i = 0; i < cfg->nr_vifs && i < KEELCFG_LIST_MAX; i++) {
		const struct keelcfg_vif *v = &cfg->vifs[i];
		const uint8_t *m = v->mac;

		/* keel-dm's defaults otherwise: a MAC from the VM's name, TAP kd<id>.<n>, no bridge. */
		ARG("--net");
		if (v->has_mac && v->bridge[0])
			ARG("mac=%02x:%02x:%02x:%02x:%02x:%02x,bridge=%s", m[0], m[1], m[2], m[3], m[4], m[5],
			    v->bridge);
		else if (v->has_mac)
			ARG("mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		else if (v->bridge[0])
			ARG("bridge=%s", v->bridge);
	}
	ARG("--rng");
	ARG("--console");
	ARG("--console-log");
	ARG("%s/%s.hvc", dir, name);
	ARG("--console-socket");
	ARG("%s/%s" KEELCTL_HVC_SOCK_SUFFIX, dir, name);
	ARG("--ready-fd");
	ARG("%d", ready_fd);
#undef ARG
	argv[argc] = NULL;
	return (int)argc;
}

const char *keelctl_run_dir(void)
{
	return getenv("KEEL_RUN_DIR") ? getenv("KEEL_RUN_DIR") : KEELCTL_RUN_DIR;
}

int keelctl_mkdir_p(const char *dir)
{
	char path[KEELCFG_PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST)
				return -1;
			if (!c)
				return 0;
			*p = c;
		}
	}
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* The last line of the log, for the error message. */
static void last_line(const char *log, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen(log, "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(out, len, "%.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

int keelctl_dm_start(const char *name, uint32_t id, const struct keelcfg *cfg, int *pid_out)
{
	char log[KEELCFG_PATH_MAX], buf[4096], why[256];
	unsigned char ready = 1;
	char *argv[8 + 2 * KEELCFG_LIST_MAX + 8];
	struct timespec deadline;
	int pipefd[2], status;
	int got = 0;
	pid_t pid;

	const char *dir = keelctl_run_dir();

	if (keelctl_mkdir_p(dir)) {
		int err = -errno;

		fprintf(stderr, "keelctl: create %s: cannot make %s: %s\n", name, dir, strerror(errno));
		return err;
	}
	snprintf(log, sizeof(log), "%s/%s.dm.log", dir, name);
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	/* keel-dm reports on fd 3 of its own: the pipe's write end, moved there in the child. */
	if (keelctl_dm_argv(name, id, cfg, dir, 3, argv, sizeof(argv) / sizeof(argv[0]), buf, sizeof(buf)) < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -E2BIG;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		/* A session of its own: it outlives keelctl and the shell that ran it. */
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setsid();
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		/* dup2 onto itself keeps O_CLOEXEC: only a copy loses it. */
		if (pipefd[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(pipefd[1], 3) < 0)
			_exit(127);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		execv(argv[0], argv);
		fprintf(stderr, "keelctl: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += keelctl_dm_timeout_s;
	/* One byte, 0, once it serves the VM; another byte, end of file (it exited) or the deadline:
	 * it failed. */
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int left = ms_left(&deadline), n;

		n = left ? poll(&p, 1, left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && read(pipefd[0], &ready, 1) == 1)
			got = 1;
		break;
	}
	close(pipefd[0]);
	if (got && ready == 0) {
		if (pid_out)
			*pid_out = pid;
		return 0;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	last_line(log, why, sizeof(why));
	fprintf(stderr, "keelctl: create %s: keel-dm did not start%s%s (log: %s)\n", name, why[0] ? ": " : "", why,
		log);
	return -EIO;
}
